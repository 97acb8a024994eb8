import { readFileSync } from 'node:fs';

/**
 * What `ps -ef` shows of a host process, read from /proc (berth runs on berthd's host, as Docker's
 * `top` runs `ps` on the daemon's host): UID PID PPID C STIME TTY TIME CMD.
 */
export interface ProcRow {
  UID: string;
  PID: string;
  PPID: string;
  C: string;
  STIME: string;
  TTY: string;
  TIME: string;
  CMD: string;
}

/** The columns of `ps -ef`, in order. */
export const PS_COLUMNS: (keyof ProcRow)[] = ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'];

/** Clock ticks per second of /proc's times (USER_HZ: 100 on every Linux architecture Node runs on). */
const HZ = 100;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Reads one process; undefined when it has gone (it exited between ListPids and now). */
export function procRow(pid: number, now = new Date()): ProcRow | undefined {
  let stat: string;
  let status: string;
  let cmdline: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may itself hold spaces and parentheses.
  const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state) of proc(5): field n is f[n - 3].
  const ppid = f[1]!;
  const ttyNr = Number(f[4]);
  const cpuTicks = Number(f[11]) + Number(f[12]);
  const startTicks = Number(f[19]);
  const started = new Date((bootTime() + startTicks / HZ) * 1000);
  const elapsed = Math.max(0, (now.getTime() - started.getTime()) / 1000);
  const euid = /^Uid:\s+\d+\s+(\d+)/m.exec(status)?.[1] ?? '0';
  const args = cmdline.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
  return {
    UID: userName(Number(euid)),
    PID: String(pid),
    PPID: ppid,
    C: String(elapsed > 0 ? Math.min(99, Math.floor((cpuTicks / HZ / elapsed) * 100)) : 0),
    STIME: startTime(started, now),
    TTY: ttyName(ttyNr),
    TIME: cpuTime(Math.floor(cpuTicks / HZ)),
    CMD: args.length ? args.join(' ') : `[${comm}]`,
  };
}

let btime: number | undefined;
function bootTime(): number {
  btime ??= Number(/^btime (\d+)/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? 0);
  return btime;
}

let users: Map<number, string> | undefined;
/** The host's user name of `uid` (from /etc/passwd), else the number, as ps prints it. */
function userName(uid: number): string {
  if (!users) {
    users = new Map();
    try {
      for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const [name, , id] = line.split(':');
        if (name && id && !users.has(Number(id))) users.set(Number(id), name);
      }
    } catch {
      // no passwd: numbers
    }
  }
  return users.get(uid) ?? String(uid);
}

/** ps's STIME: HH:MM today, MonDD this year, else the year. */
function startTime(d: Date, now: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d.toDateString() === now.toDateString()) return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.getFullYear() === now.getFullYear()) return `${MONTHS[d.getMonth()]}${pad(d.getDate())}`;
  return String(d.getFullYear());
}

/** ps's TIME: [DD-]HH:MM:SS of CPU time. */
function cpuTime(s: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const days = Math.floor(s / 86400);
  const hms = `${pad(Math.floor((s % 86400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  return days ? `${days}-${hms}` : hms;
}

/** ps's TTY from stat's tty_nr: pts/N, ttyN, ttySN, else "?". */
function ttyName(nr: number): string {
  if (nr === 0) return '?';
  const major = (nr >> 8) & 0xfff;
  const minor = (nr & 0xff) | ((nr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${(major - 136) * 256 + minor}`;
  if (major === 4) return minor < 64 ? `tty${minor}` : `ttyS${minor - 64}`;
  return '?';
}
