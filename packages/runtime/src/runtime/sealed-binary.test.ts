import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sealedExecutable } from './sealed-binary';

const dir = mkdtempSync(join(tmpdir(), 'berth-sealed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sealedExecutable', () => {
  it('runs a binary from one sealed copy per file, made again when the file changes', () => {
    const bin = join(dir, 'tool');
    copyFileSync('/bin/echo', bin);
    const first = sealedExecutable(bin);
    expect(first).toMatch(new RegExp(`^/proc/${process.pid}/fd/\\d+$`));
    expect(readlinkSync(first)).toBe('/memfd:tool (deleted)');
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

  it('gives the path itself for a script, and for a file it cannot stat or copy', () => {
    const script = join(dir, 'script');
    writeFileSync(script, '#!/bin/sh\necho script\n', { mode: 0o755 });
    expect(sealedExecutable(script)).toBe(script);
    expect(sealedExecutable(join(dir, 'missing'))).toBe(join(dir, 'missing'));
    expect(sealedExecutable(dir)).toBe(dir);
  });
});
