/**
 * Hostile layers. Each case builds a malicious tar, applies it onto `<host>/root` where `<host>`
 * also holds a sentinel file and a sibling directory, and checks both the error kind and that
 * nothing outside the root changed (paths, types, modes, owners, contents, mtimes, link counts).
 * The rule under test is in root-path.ts: bad names are refused; symlinked parents are re-rooted.
 */
import { lstatSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isDataLoss, isInvalidArgument } from '@berth/errdefs';
import { digestOf } from '@berth/spec';
import { createApplier } from './apply';
import { buildTar, rawHeader, removeDir, snapshotTree, storeLayer, tempDir, useWorkDir, type TarSpec } from './test-support';

const fx = useWorkDir();

type Outcome = 'InvalidArgument' | 'DataLoss' | 'ok';

interface Case {
  name: string;
  entries?: TarSpec[];
  /** A whole blob instead of `entries` (gzip unless `compression` says none). */
  blob?: () => Promise<{ raw: Buffer; compression: 'gzip' | 'none'; diffId?: string }>;
  diffId?: string;
  want: Outcome;
  /** Extra checks inside the root after a successful apply. */
  check?: (root: string) => void;
}

const file = (name: string, body = 'x'): TarSpec => ({ header: { name, type: 'file' }, body });
const dir = (name: string): TarSpec => ({ header: { name, type: 'directory' } });
const symlink = (name: string, linkname: string): TarSpec => ({ header: { name, type: 'symlink', linkname } });
const hardlink = (name: string, linkname: string): TarSpec => ({ header: { name, type: 'link', linkname } });
const isFile = (p: string): boolean => lstatSync(p).isFile();

const cases: Case[] = [
  { name: 'a file at ../escape', entries: [file('../escape')], want: 'InvalidArgument' },
  { name: 'an absolute path', entries: [file('/abs/path')], want: 'InvalidArgument' },
  { name: 'a/../../escape', entries: [dir('a/'), file('a/../../escape')], want: 'InvalidArgument' },
  { name: 'a directory at ..', entries: [dir('../')], want: 'InvalidArgument' },
  {
    name: 'symlink evil -> / then evil/sentinel.txt is re-rooted',
    entries: [symlink('evil', '/'), file('evil/sentinel.txt', 'pwned')],
    want: 'ok',
    check: (root) => expect(readFileSync(join(root, 'sentinel.txt'), 'utf8')).toBe('pwned'),
  },
  {
    name: 'symlink evil -> ../.. then evil/sentinel.txt is re-rooted',
    entries: [symlink('evil', '../..'), file('evil/sentinel.txt', 'pwned')],
    want: 'ok',
    check: (root) => expect(readFileSync(join(root, 'sentinel.txt'), 'utf8')).toBe('pwned'),
  },
  {
    name: 'symlink to a sibling dir outside, then a file through it, is re-rooted',
    entries: [symlink('evil', '../sibling'), file('evil/secret.txt', 'pwned')],
    want: 'ok',
    check: (root) => expect(readFileSync(join(root, 'sibling/secret.txt'), 'utf8')).toBe('pwned'),
  },
  {
    name: 'symlink to a directory later replaced by a file',
    entries: [symlink('d', '/'), symlink('d2', '../sibling'), file('d', 'file now'), file('d2', 'file too')],
    want: 'ok',
    check: (root) => expect([isFile(join(root, 'd')), isFile(join(root, 'd2'))]).toEqual([true, true]),
  },
  {
    name: 'a file over a symlink to an outside file replaces the symlink (final component not followed)',
    entries: [symlink('evil', '../sentinel.txt'), file('evil', 'pwned')],
    want: 'ok',
    check: (root) => expect(isFile(join(root, 'evil'))).toBe(true),
  },
  { name: 'hard link to ../../outside', entries: [hardlink('ln', '../../outside')], want: 'InvalidArgument' },
  { name: 'hard link to ../sentinel.txt', entries: [hardlink('ln', '../sentinel.txt')], want: 'InvalidArgument' },
  { name: 'hard link to /etc/hostname', entries: [hardlink('ln', '/etc/hostname')], want: 'InvalidArgument' },
  {
    name: 'hard link through a symlink that points outside resolves inside (and finds nothing)',
    entries: [symlink('evil', '..'), hardlink('ln', 'evil/sentinel.txt')],
    want: 'InvalidArgument',
  },
  { name: 'whiteout .wh...', entries: [file('.wh...', '')], want: 'InvalidArgument' },
  { name: 'whiteout .wh.. (the root itself)', entries: [file('.wh..', '')], want: 'InvalidArgument' },
  { name: 'whiteout ../.wh.sentinel.txt', entries: [file('../.wh.sentinel.txt', '')], want: 'InvalidArgument' },
  { name: 'whiteout /.wh.etc', entries: [file('/.wh.etc', '')], want: 'InvalidArgument' },
  {
    name: 'whiteout through a symlink to outside deletes inside only',
    entries: [file('sentinel.txt', 'inside'), symlink('evil', '../..'), file('evil/.wh.sentinel.txt', '')],
    want: 'ok',
    check: (root) => expect(lstatSync(join(root, 'sentinel.txt'), { throwIfNoEntry: false })).toBeUndefined(),
  },
  {
    name: 'opaque marker through a symlink to outside prunes inside only',
    entries: [symlink('evil', '..'), file('evil/.wh..wh..opq', '')],
    want: 'ok',
  },
  {
    name: 'a device node through a symlink to outside is created inside',
    entries: [symlink('evil', '../sibling'), { header: { name: 'evil/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 } }],
    want: 'ok',
    check: (root) => expect(lstatSync(join(root, 'sibling/null')).isCharacterDevice()).toBe(true),
  },
  { name: 'a symlink loop in a parent', entries: [symlink('a', 'b'), symlink('b', 'a'), file('a/x')], want: 'InvalidArgument' },
  { name: 'a parent that is a file', entries: [file('f'), file('f/x')], want: 'InvalidArgument' },
  { name: 'a NUL byte in a PAX path', entries: [{ header: { name: 'a\0b', type: 'file', pax: {} }, body: 'x' }], want: 'InvalidArgument' },
  { name: 'an empty name', entries: [file('')], want: 'InvalidArgument' },
  {
    name: 'a PAX header of 2 MiB (over the 1 MiB limit)',
    entries: [{ header: { name: 'big', type: 'file', pax: { 'SCHILY.xattr.user.big': 'x'.repeat(2 << 20) } }, body: 'x' }],
    want: 'InvalidArgument',
  },
  {
    name: 'a PAX header claiming 1 GiB',
    blob: async () => ({ raw: Buffer.concat([rawHeader('PaxHeader', 'x', 1 << 30), Buffer.alloc(4096, 0x41)]), compression: 'none' }),
    want: 'InvalidArgument',
  },
  {
    name: 'a truncated gzip stream',
    blob: async () => {
      const gz = gzipSync(await buildTar([file('a', 'y'.repeat(100_000))]));
      return { raw: gz.subarray(0, gz.length >> 1), compression: 'gzip' };
    },
    want: 'InvalidArgument',
  },
  {
    name: 'a tar truncated in the middle of an entry',
    blob: async () => {
      const tar = await buildTar([file('a', 'y'.repeat(100_000))]);
      return { raw: tar.subarray(0, 10_000), compression: 'none' };
    },
    want: 'InvalidArgument',
  },
  { name: 'garbage bytes as a tar', blob: async () => ({ raw: Buffer.alloc(10_000, 'garbage!'), compression: 'none' }), want: 'InvalidArgument' },
  { name: 'garbage bytes as gzip', blob: async () => ({ raw: Buffer.alloc(10_000, 'garbage!'), compression: 'gzip' }), want: 'InvalidArgument' },
  { name: 'a wrong diffID annotation', entries: [file('a')], diffId: digestOf('not this layer'), want: 'DataLoss' },
];

describe('apply: hostile layers change nothing outside the root', () => {
  it.each(cases)('$name', async (c) => {
    const host = await tempDir('berth-diff-host-');
    try {
      writeFileSync(join(host, 'sentinel.txt'), 'sentinel');
      mkdirSync(join(host, 'sibling'));
      writeFileSync(join(host, 'sibling/secret.txt'), 'secret');
      utimesSync(join(host, 'sibling'), 1_000_000, 1_000_000);
      utimesSync(host, 1_000_000, 1_000_000);
      const root = join(host, 'root');
      mkdirSync(root);
      utimesSync(host, 1_000_000, 1_000_000);
      const outside = (): Record<string, unknown> =>
        Object.fromEntries(Object.entries(snapshotTree(host)).filter(([p]) => p !== '/root' && !p.startsWith('/root/')));
      const before = outside();

      let desc;
      if (c.blob) {
        const { raw, compression, diffId } = await c.blob();
        desc = await storeLayer(fx.store, Buffer.alloc(0), { raw, compression, diffId: diffId ?? digestOf('unknown') });
        delete desc.annotations;
      } else {
        desc = await storeLayer(fx.store, await buildTar(c.entries!), { diffId: c.diffId });
      }
      const result = await createApplier({ content: fx.store })
        .apply(desc, [{ type: 'bind', source: root, options: ['rbind', 'rw'] }])
        .then(() => 'ok' as const, (err: unknown) => err);

      if (c.want === 'ok') {
        expect(result).toBe('ok');
        c.check?.(root);
      } else if (c.want === 'DataLoss') {
        expect(isDataLoss(result)).toBe(true);
      } else {
        expect(isInvalidArgument(result), String(result)).toBe(true);
      }
      expect(outside()).toEqual(before);
    } finally {
      await removeDir(host);
    }
  }, 10_000);
});

describe('apply: hostile layers in overlay upper mode', () => {
  it('a symlink in a lower layer pointing outside is followed inside the merged root', async () => {
    const host = await tempDir('berth-diff-host-');
    try {
      writeFileSync(join(host, 'sentinel.txt'), 'sentinel');
      for (const d of ['lower', 'upper', 'work']) mkdirSync(join(host, d));
      const { symlinkSync } = await import('node:fs');
      symlinkSync(host, join(host, 'lower/evil'));
      symlinkSync('../../..', join(host, 'lower/evil2'));
      const before = snapshotTree(host);
      const desc = await storeLayer(fx.store, await buildTar([file('evil/sentinel.txt', 'pwned'), file('evil2/lower/x', 'x')]));
      await createApplier({ content: fx.store }).apply(desc, [
        { type: 'overlay', source: 'overlay', options: [`lowerdir=${join(host, 'lower')}`, `upperdir=${join(host, 'upper')}`, `workdir=${join(host, 'work')}`] },
      ]);
      // Absolute target `host` re-rooted: <upper>/<host path>/sentinel.txt; `../../..` clamps at the root.
      expect(readFileSync(join(host, 'upper', host, 'sentinel.txt'), 'utf8')).toBe('pwned');
      expect(readFileSync(join(host, 'upper/lower/x'), 'utf8')).toBe('x');
      const after = snapshotTree(host);
      const outsideUpper = (t: Record<string, unknown>) => Object.fromEntries(Object.entries(t).filter(([p]) => !p.startsWith('/upper')));
      expect(outsideUpper(after)).toEqual(outsideUpper(before));
    } finally {
      await removeDir(host);
    }
  });
});
