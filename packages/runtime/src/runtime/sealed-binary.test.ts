import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { sealedExecutable } from './sealed-binary';

const dir = mkdtempSync(join(tmpdir(), 'berth-sealed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sealedExecutable', () => {
  it('runs a binary from one sealed copy per file, made again when the file changes', () => {
    const bin = join(dir, 'tool');
    copyFileSync('/bin/echo', bin);
    const first = sealedExecutable(bin);
    // A symlink named like the binary (so processes run by it are named `tool`), to the copy.
    expect(basename(first)).toBe('tool');
    expect(readlinkSync(first)).toMatch(new RegExp(`^/proc/${process.pid}/fd/\\d+$`));
    expect(readlinkSync(readlinkSync(first))).toBe('/memfd:berth-sealed:tool (deleted)');
    expect(statSync(dirname(dirname(first))).mode & 0o777).toBe(0o700);
    expect(execFileSync(first, ['hi'], { encoding: 'utf8' })).toBe('hi\n');
    expect(sealedExecutable(bin)).toBe(first);

    // An upgrade: a different file at the same path. The old copy stays usable for a while.
    rmSync(bin);
    copyFileSync('/bin/true', bin);
    const second = sealedExecutable(bin);
    expect(second).not.toBe(first);
    expect(readFileSync(second).equals(readFileSync('/bin/true'))).toBe(true);
    expect(readFileSync(first).equals(readFileSync('/bin/echo'))).toBe(true);
  });

  it('removes its private dir of links when the process exits', () => {
    const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
    const script = `import { sealedExecutable } from ${JSON.stringify(dist)}; console.log(sealedExecutable('/bin/true'));`;
    const path = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim();
    expect(path).toMatch(/\/berth-exe-\d+-[^/]+\/\d+\/true$/);
    expect(existsSync(dirname(dirname(path)))).toBe(false);
  });

  it("removes a dead process's links, not a live one's", () => {
    const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
    const dead = mkdtempSync(join(tmpdir(), `berth-exe-${2 ** 22 + 1}-`)); // above pid_max's limit: never alive
    const live = mkdtempSync(join(tmpdir(), `berth-exe-${process.pid}-`));
    try {
      execFileSync(process.execPath, ['--input-type=module', '-e', `import { sealedExecutable } from ${JSON.stringify(dist)}; sealedExecutable('/bin/true');`]);
      expect(existsSync(dead)).toBe(false);
      expect(existsSync(live)).toBe(true);
    } finally {
      rmSync(dead, { recursive: true, force: true });
      rmSync(live, { recursive: true, force: true });
    }
  });

  it('gives the path itself for a file it cannot stat or copy', () => {
    expect(sealedExecutable(join(dir, 'missing'))).toBe(join(dir, 'missing'));
    expect(sealedExecutable(dir)).toBe(dir);
  });
});
