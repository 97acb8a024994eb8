import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkLayers } from './check.mjs';

const table = {
  allowed: { errdefs: [], spec: ['errdefs'], content: ['spec'], diff: ['spec', 'content'], cli: ['client'], client: ['spec'] },
};

let root;
afterEach(() => root && rmSync(root, { recursive: true, force: true }));

/** Lays out a fake workspace: { 'packages/spec': { pkg: {...}, files: { 'src/a.ts': '...' } } }. */
function workspace(packages) {
  root = mkdtempSync(join(tmpdir(), 'berth-layers-'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ workspaces: ['packages/*', 'bench'] }));
  for (const [dir, { pkg, files = {} }] of Object.entries(packages)) {
    mkdirSync(join(root, dir, 'src'), { recursive: true });
    writeFileSync(join(root, dir, 'package.json'), JSON.stringify(pkg));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(root, dir, file), text);
  }
  return root;
}

const lib = (name, deps = {}, extra = {}) => ({ pkg: { name: `@berth/${name}`, dependencies: deps, ...extra } });

describe('checkLayers', () => {
  it('accepts a tree that follows the table, including transitive use below an allowed package', () => {
    workspace({
      'packages/errdefs': lib('errdefs'),
      'packages/spec': lib('spec', { '@berth/errdefs': '*' }),
      'packages/content': {
        ...lib('content', { '@berth/spec': '*', '@berth/errdefs': '*' }),
        files: { 'src/a.ts': "import { x } from '@berth/spec';\nimport { y } from './b';\nexport const z = import('@berth/errdefs');" },
      },
      bench: { pkg: { name: '@berth/bench', private: true, dependencies: { '@berth/content': '*' } } },
    });
    expect(checkLayers(root, table)).toEqual([]);
  });

  it('rejects an upward dependency', () => {
    workspace({
      'packages/errdefs': lib('errdefs'),
      'packages/spec': lib('spec', { '@berth/errdefs': '*', '@berth/content': '*' }),
      'packages/content': lib('content', { '@berth/spec': '*' }),
    });
    const problems = checkLayers(root, table);
    expect(problems.some((p) => p.startsWith('@berth/spec: must not depend on @berth/content'))).toBe(true);
    expect(problems.some((p) => p.startsWith('dependency cycle'))).toBe(true);
  });

  it('rejects a sideways dependency between branches', () => {
    workspace({
      'packages/spec': lib('spec'),
      'packages/client': lib('client', { '@berth/spec': '*' }),
      'packages/content': lib('content', { '@berth/client': '*' }),
    });
    expect(checkLayers(root, table)).toEqual([expect.stringContaining('@berth/content: must not depend on @berth/client')]);
  });

  it('rejects a library that depends on a private package, but allows it as a devDependency', () => {
    const images = { pkg: { name: '@berth/testimages', private: true, dependencies: { '@berth/spec': '*' } } };
    workspace({ 'packages/spec': lib('spec'), 'packages/testimages': images, 'packages/content': lib('content', { '@berth/testimages': '*' }) });
    expect(checkLayers(root, table)).toEqual([expect.stringContaining('private package @berth/testimages')]);
    rmSync(root, { recursive: true });
    workspace({
      'packages/spec': lib('spec'),
      'packages/testimages': images,
      'packages/content': lib('content', {}, { devDependencies: { '@berth/testimages': '*' } }),
    });
    expect(checkLayers(root, table)).toEqual([]);
  });

  it('finds a cycle through devDependencies', () => {
    const images = { pkg: { name: '@berth/testimages', private: true, dependencies: { '@berth/spec': '*' } } };
    workspace({ 'packages/spec': lib('spec', {}, { devDependencies: { '@berth/testimages': '*' } }), 'packages/testimages': images });
    expect(checkLayers(root, table)).toEqual([expect.stringMatching(/^dependency cycle: @berth\/spec -> @berth\/testimages -> @berth\/spec/)]);
  });

  it('rejects undeclared imports and relative imports that leave the package', () => {
    workspace({
      'packages/errdefs': lib('errdefs'),
      'packages/spec': {
        ...lib('spec', { '@berth/errdefs': '*' }),
        files: { 'src/a.ts': "import { c } from '@berth/content/testsuite';\nimport { e } from '../../errdefs/src/index';" },
      },
      'packages/content': lib('content', { '@berth/spec': '*' }),
    });
    const problems = checkLayers(root, table);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('imports @berth/content, which @berth/spec');
    expect(problems[1]).toContain('leaves the package');
  });

  it('rejects a library missing from the table', () => {
    workspace({ 'packages/mystery': lib('mystery') });
    expect(checkLayers(root, table)).toEqual([expect.stringContaining('@berth/mystery: not in the layering table')]);
  });

  it('passes on this repository', () => {
    const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
    expect(checkLayers(repo)).toEqual([]);
  });
});
