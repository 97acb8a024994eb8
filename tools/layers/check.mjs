#!/usr/bin/env node
// Checks the workspace's package graph against DESIGN.md's layering (layers.json):
// - a library depends only on the @berth packages the table allows (directly or below them);
// - no library depends on a private package (test images, bench, examples) except as a devDependency;
// - the graph of dependencies + devDependencies has no cycle;
// - every `@berth/x` import in a package's src is declared in its package.json, and no
//   relative import leaves the package (siblings are imported by name, never `../../x/src`).
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const scope = '@berth/';

/** Lists the workspace packages under `root` as { name, dir, private, deps, devDeps }. */
export function listPackages(root) {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const dirs = [];
  for (const pattern of manifest.workspaces ?? []) {
    if (pattern.endsWith('/*')) {
      const parent = join(root, pattern.slice(0, -2));
      if (!existsSync(parent)) continue;
      for (const entry of readdirSync(parent).sort()) dirs.push(join(parent, entry));
    } else dirs.push(join(root, pattern));
  }
  return dirs
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      const internal = (deps) => Object.keys(deps ?? {}).filter((d) => d.startsWith(scope));
      return {
        name: pkg.name,
        dir,
        private: pkg.private === true,
        deps: internal(pkg.dependencies).concat(internal(pkg.peerDependencies)),
        devDeps: internal(pkg.devDependencies),
      };
    });
}

/** Everything `name` may depend on: its allowed packages and, recursively, theirs. */
function allowedClosure(allowed, name, seen = new Set()) {
  for (const dep of allowed[name] ?? []) {
    if (!seen.has(dep)) {
      seen.add(dep);
      allowedClosure(allowed, dep, seen);
    }
  }
  return seen;
}

function findCycle(packages) {
  const edges = new Map(packages.map((p) => [p.name, [...p.deps, ...p.devDeps]]));
  const state = new Map();
  const stack = [];
  const visit = (name) => {
    if (state.get(name) === 'done') return null;
    if (state.get(name) === 'active') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'active');
    stack.push(name);
    for (const dep of edges.get(name) ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(name, 'done');
    return null;
  };
  for (const p of packages) {
    const cycle = visit(p.name);
    if (cycle) return cycle;
  }
  return null;
}

function sourceFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(d)) {
      if (entry === 'node_modules' || entry === 'dist') continue;
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|tsx|mts|cts|js|mjs|cjs)$/.test(entry) && !entry.endsWith('.d.ts')) out.push(path);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

const importPattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;

/** Returns the layering violations of the workspace at `root`, one message each; empty when clean. */
export function checkLayers(root, table = JSON.parse(readFileSync(join(root, 'tools/layers/layers.json'), 'utf8'))) {
  const problems = [];
  const packages = listPackages(root);
  const byName = new Map(packages.map((p) => [p.name, p]));
  const allowed = table.allowed;

  for (const p of packages) {
    if (!p.name?.startsWith(scope)) {
      problems.push(`${relative(root, p.dir)}: package name must start with ${scope}`);
      continue;
    }
    const short = p.name.slice(scope.length);
    if (!p.private && !(short in allowed)) {
      problems.push(`${p.name}: not in the layering table (tools/layers/layers.json); add it where DESIGN.md puts it`);
    }
    const may = p.private ? null : allowedClosure(allowed, short);
    for (const dep of p.deps) {
      const target = byName.get(dep);
      if (!target) {
        problems.push(`${p.name}: depends on ${dep}, which is not a workspace package`);
        continue;
      }
      if (p.private) continue;
      if (target.private) problems.push(`${p.name}: depends on private package ${dep} (only a devDependency may)`);
      else if (!may.has(dep.slice(scope.length))) {
        problems.push(`${p.name}: must not depend on ${dep} (DESIGN.md's layering allows ${[...may].map((d) => scope + d).join(', ') || 'nothing'})`);
      }
    }
    for (const dep of p.devDeps) {
      const target = byName.get(dep);
      if (!target) problems.push(`${p.name}: devDependency ${dep} is not a workspace package`);
      else if (!p.private && !target.private && !may.has(dep.slice(scope.length))) {
        problems.push(`${p.name}: must not depend on ${dep}, not even for tests (DESIGN.md's layering)`);
      }
    }

    const declared = new Set([...p.deps, ...p.devDeps, p.name]);
    for (const file of sourceFiles(join(p.dir, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(importPattern)) {
        const spec = match[1];
        const where = relative(root, file);
        if (spec.startsWith(scope)) {
          const name = spec.split('/').slice(0, 2).join('/');
          if (!declared.has(name)) problems.push(`${where}: imports ${name}, which ${p.name}'s package.json does not declare`);
        } else if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          if (target !== p.dir && !target.startsWith(p.dir + sep)) {
            problems.push(`${where}: relative import "${spec}" leaves the package; import the sibling by its package name`);
          }
        }
      }
    }
  }

  const cycle = findCycle(packages);
  if (cycle) problems.push(`dependency cycle: ${cycle.join(' -> ')}`);
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const problems = checkLayers(root);
  if (problems.length > 0) {
    console.error(`layering check failed (${problems.length}):\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`layering check: ${listPackages(root).length} packages follow DESIGN.md's dependency direction`);
}
