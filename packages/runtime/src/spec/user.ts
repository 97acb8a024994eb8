import { readFile } from 'node:fs/promises';
import { invalidArgument } from '@berth/errdefs';
import type { User } from '@berth/spec';
import { resolveInRoot } from './rootfs-path';

/** One /etc/passwd entry. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** One /etc/group entry. */
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const isId = (s: string): boolean => /^\d+$/.test(s) && Number(s) <= 0xffffffff;

/** Parses /etc/passwd text; malformed lines and comments are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (line.startsWith('#') || f.length < 4 || !f[0] || !isId(f[2]!) || !isId(f[3]!)) continue;
    out.push({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' });
  }
  return out;
}

/** Parses /etc/group text; malformed lines and comments are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (line.startsWith('#') || f.length < 3 || !f[0] || !isId(f[2]!)) continue;
    out.push({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) });
  }
  return out;
}

async function readRootfsFile(rootfs: string, path: string): Promise<string | undefined> {
  try {
    return await readFile(await resolveInRoot(rootfs, path), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/**
 * Resolves a Docker-style user string against the rootfs's /etc/passwd and /etc/group (symlinks
 * followed inside the rootfs), to the numeric user of the container's process.
 *
 * - `""` is root (0:0).
 * - `name` or `uid`: the passwd entry gives uid and primary gid; a numeric uid absent from
 *   passwd is allowed and gets gid 0; a name absent is InvalidArgument.
 * - `user:group` (each part a name or a number): the group part replaces the primary gid; a
 *   group name absent from /etc/group is InvalidArgument.
 * - `additionalGids` is the primary gid followed by the gids of every group that lists the
 *   user's name as a member (deduplicated, file order), as containerd does.
 * - `username` is set when the passwd entry is known.
 */
export async function resolveUser(rootfs: string, user: string): Promise<User> {
  const [userPart = '', groupPart, ...rest] = user.split(':');
  if (rest.length > 0 || (groupPart !== undefined && groupPart === '') || (userPart === '' && groupPart !== undefined)) {
    throw invalidArgument(`user ${JSON.stringify(user)}: want user, user:group, uid or uid:gid`);
  }
  const passwdText = await readRootfsFile(rootfs, '/etc/passwd');
  const passwd = passwdText === undefined ? [] : parsePasswd(passwdText);
  let groups: GroupEntry[] | undefined;
  const loadGroups = async (): Promise<GroupEntry[]> => {
    if (!groups) {
      const text = await readRootfsFile(rootfs, '/etc/group');
      groups = text === undefined ? [] : parseGroup(text);
    }
    return groups;
  };

  let entry: PasswdEntry | undefined;
  let uid: number;
  let gid: number;
  if (userPart === '') {
    entry = passwd.find((p) => p.uid === 0);
    uid = 0;
    gid = 0;
  } else if (isId(userPart)) {
    uid = Number(userPart);
    entry = passwd.find((p) => p.uid === uid);
    gid = entry?.gid ?? 0;
  } else {
    entry = passwd.find((p) => p.name === userPart);
    if (!entry) throw invalidArgument(`user ${JSON.stringify(userPart)}: no such user in ${rootfs}/etc/passwd`);
    uid = entry.uid;
    gid = entry.gid;
  }
  if (groupPart !== undefined) {
    if (isId(groupPart)) gid = Number(groupPart);
    else {
      const group = (await loadGroups()).find((g) => g.name === groupPart);
      if (!group) throw invalidArgument(`group ${JSON.stringify(groupPart)}: no such group in ${rootfs}/etc/group`);
      gid = group.gid;
    }
  }
  const additional = [gid];
  if (entry) {
    for (const g of await loadGroups()) if (g.members.includes(entry.name) && !additional.includes(g.gid)) additional.push(g.gid);
  }
  const out: User = { uid, gid, additionalGids: additional };
  if (entry) out.username = entry.name;
  return out;
}
