// Mounts an overlay through the pre-6.8 path (one lowerdir= option in mount(2)), forced by
// BERTH_SYS_OVERLAY_LEGACY=1, which the addon reads once per process. Prints JSON.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const sys = require(process.argv[2]);
const root = process.argv[3];
const out = {};
const lowers = ['a,b', 'c:d', 'e\\f'].map((n, i) => {
  const d = path.join(root, n);
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, `f${i}`), String(i));
  return d;
});
for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(root, d));
const target = path.join(root, 'merged');
try {
  sys.mountOverlay({ lowerdirs: lowers, upperdir: path.join(root, 'upper'), workdir: path.join(root, 'work'), target });
  out.files = fs.readdirSync(target).sort();
  fs.writeFileSync(path.join(target, 'new'), 'x');
  out.upper = fs.readdirSync(path.join(root, 'upper'));
  out.mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(target));
} catch (e) {
  out.error = e.message;
} finally {
  try { sys.umount(target, 2); } catch {}
}
const many = [];
for (let i = 0; i < 40; i++) {
  const d = path.join(root, 'x'.repeat(150) + i);
  fs.mkdirSync(d);
  many.push(d);
}
try {
  sys.mountOverlay({ lowerdirs: many, target });
  out.tooLong = 'mounted';
  sys.umount(target, 2);
} catch (e) {
  out.tooLong = { code: e.code, syscall: e.syscall, path: e.path, detail: e.detail };
}
process.stdout.write(JSON.stringify(out));
