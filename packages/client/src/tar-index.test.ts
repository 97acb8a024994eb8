import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { indexTar } from './tar-index';

const dir = mkdtempSync(join(tmpdir(), 'berth-tar-index-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('indexTar', () => {
  it('lists regular files with their data offsets, long names included (GNU tar)', async () => {
    const src = join(dir, 'src');
    const long = `${'d'.repeat(120)}/file`;
    mkdirSync(join(src, 'd'.repeat(120)), { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'hello');
    writeFileSync(join(src, long), 'x'.repeat(1000));
    writeFileSync(join(src, 'empty'), '');
    const archive = join(dir, 'a.tar');
    execFileSync('tar', ['-cf', archive, '-C', src, 'a.txt', long, 'empty']);
    const files = await indexTar(archive);
    expect([...files.keys()].sort()).toEqual(['a.txt', 'empty', long].sort());
    expect(files.get('a.txt')!.size).toBe(5);
    expect(files.get(long)!.size).toBe(1000);
    const { readFileSync } = await import('node:fs');
    const bytes = readFileSync(archive);
    const a = files.get('a.txt')!;
    expect(bytes.subarray(a.offset, a.offset + a.size).toString()).toBe('hello');
  });

  it('refuses a gzip file and a file that is not a tar (InvalidArgument)', async () => {
    const gz = join(dir, 'x.tar.gz');
    execFileSync('sh', ['-c', `tar -cf - -C ${dir} a.tar | gzip > ${gz}`]);
    await expect(indexTar(gz)).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringContaining('compressed') });
    const junk = join(dir, 'junk');
    writeFileSync(junk, 'x'.repeat(2048));
    await expect(indexTar(junk)).rejects.toMatchObject({ kind: 'InvalidArgument' });
  });
});
