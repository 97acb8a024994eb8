// Runs the process-level calls (subreaper, reapAll, waitPidfd) in a process of its own, so that
// the test runner's children are never reaped by them. Prints one JSON object on stdout.
'use strict';
const cp = require('node:child_process');
const fs = require('node:fs');
const sys = require(process.argv[2]);

/** Blocks the main thread: while it sleeps, libuv cannot race the waitid thread to a child. */
const block = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const errOf = (e) => ({ code: e.code, errno: e.errno, syscall: e.syscall, message: e.message });

async function main() {
  const out = {};

  out.subreaperBefore = sys.isChildSubreaper();
  sys.setChildSubreaper(true);
  out.subreaperAfter = sys.isChildSubreaper();

  // sh exits at once (spawnSync reaps it); its background sleep is orphaned and re-parented to us.
  const r = cp.spawnSync('sh', ['-c', 'sleep 0.2 </dev/null >/dev/null 2>&1 & echo $!; exit 0'], { encoding: 'utf8' });
  out.orphanPid = Number(r.stdout.trim());
  out.reaped = [];
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && !out.reaped.some((s) => s.pid === out.orphanPid)) {
    out.reaped.push(...sys.reapAll());
    await new Promise((res) => setTimeout(res, 20));
  }
  out.reapAllWhenNone = sys.reapAll();

  // exit 3, waited through a pidfd
  {
    const c = cp.spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' });
    c.unref();
    const fd = sys.pidfdOpen(c.pid);
    const p = sys.waitPidfd(fd);
    block(300);
    out.exit3 = { expectedPid: c.pid, status: await p };
    // the process is gone and reaped: signalling it now fails
    try {
      sys.pidfdSendSignal(fd, 15);
      out.signalAfterReap = 'no error';
    } catch (e) {
      out.signalAfterReap = errOf(e);
    }
    fs.closeSync(fd);
  }

  // killed by SIGKILL through pidfd_send_signal
  {
    const c = cp.spawn('sleep', ['10'], { stdio: 'ignore' });
    c.unref();
    const fd = sys.pidfdOpen(c.pid);
    const p = sys.waitPidfd(fd);
    sys.pidfdSendSignal(fd, 0); // alive: signal 0 only checks
    sys.pidfdSendSignal(fd, 9);
    block(300);
    out.killed = { expectedPid: c.pid, status: await p };
    fs.closeSync(fd);
  }

  // several waits at once, more than libuv's 4 pool threads, while fs work still completes
  {
    const kids = Array.from({ length: 6 }, (_, i) => {
      const c = cp.spawn('sh', ['-c', `sleep 0.3; exit ${10 + i}`], { stdio: 'ignore' });
      c.unref();
      return { pid: c.pid, fd: sys.pidfdOpen(c.pid) };
    });
    const waits = kids.map((k) => sys.waitPidfd(k.fd));
    const t0 = Date.now();
    await fs.promises.readFile(__filename); // needs a libuv pool thread
    out.poolFreeMs = Date.now() - t0;
    block(600);
    const st = await Promise.all(waits);
    out.many = st.map((s, i) => ({ ok: s.pid === kids[i].pid, exitCode: s.exitCode }));
    for (const k of kids) fs.closeSync(k.fd);
  }

  // waiting on a process that is not our child
  {
    const fd = sys.pidfdOpen(process.ppid);
    try {
      await sys.waitPidfd(fd);
      out.notChild = 'resolved';
    } catch (e) {
      out.notChild = errOf(e);
    }
    fs.closeSync(fd);
  }

  sys.setChildSubreaper(false);
  out.subreaperOff = sys.isChildSubreaper();
  return out;
}

main().then(
  (out) => {
    process.stdout.write(JSON.stringify(out));
    process.exit(0);
  },
  (e) => {
    process.stdout.write(JSON.stringify({ fatal: String(e && e.stack) }));
    process.exit(1);
  },
);
