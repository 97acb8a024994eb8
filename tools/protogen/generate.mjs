#!/usr/bin/env node
// Generates TypeScript from .proto files: one module per proto package (interfaces, enum
// consts, static codecs, service definitions) and an index re-exporting each module as a
// namespace. A codec is plain generated code (see message.mjs): no descriptor, reflection or
// runtime code generation at run time.
//
// Run from a package dir (its `generate` script); reads `protogen.json` there:
//   { "protoRoot": "../../proto", "files": ["a/b.proto", ...], "out": "gen",
//     "modules": { "<proto package>": "<namespace name in gen/index.ts>", ... } }
// Every proto package the files load (imports included) needs an entry in `modules`.
//
// The generated modules import the runtime from `../src/runtime` (RUNTIME_IMPORT, or the config's
// optional "runtime"): `service` and its types by name, the codec machinery as `$`. The package
// that holds the output provides that runtime.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import protobuf from 'protobufjs';
import { renderCodec } from './message.mjs';

const RUNTIME_IMPORT = '../src/runtime';
const CONFIG_FILE = 'protogen.json';

const SCALARS = {
  double: 'number',
  float: 'number',
  int32: 'number',
  uint32: 'number',
  sint32: 'number',
  fixed32: 'number',
  sfixed32: 'number',
  // 64-bit integers are decoded as Number (exact up to 2^53).
  int64: 'number',
  uint64: 'number',
  sint64: 'number',
  fixed64: 'number',
  sfixed64: 'number',
  bool: 'boolean',
  string: 'string',
  bytes: 'Uint8Array',
};

/** Reads the config of the package at `pkgDir`, loads its protos and writes the output. */
export function generate(pkgDir) {
  const config = readConfig(pkgDir);
  const protoRoot = resolve(pkgDir, config.protoRoot);
  const outDir = resolve(pkgDir, config.out);
  const root = loadRoot(protoRoot, config.files);
  const files = render(root, config, protoRoot);
  return writeOutput(outDir, files);
}

function readConfig(pkgDir) {
  const path = join(pkgDir, CONFIG_FILE);
  if (!existsSync(path)) throw new Error(`${path}: not found (run protogen from a package dir)`);
  const config = JSON.parse(readFileSync(path, 'utf8'));
  if (config.runtime !== undefined && (typeof config.runtime !== 'string' || config.runtime === '')) {
    throw new Error(`${path}: "runtime" must be a non-empty string`);
  }
  for (const key of ['protoRoot', 'out']) {
    if (typeof config[key] !== 'string' || config[key] === '') throw new Error(`${path}: "${key}" must be a non-empty string`);
  }
  if (!Array.isArray(config.files) || config.files.length === 0) {
    throw new Error(`${path}: "files" must list .proto files`);
  }
  if (typeof config.modules !== 'object' || config.modules === null) {
    throw new Error(`${path}: "modules" must map proto packages to names`);
  }
  const names = new Set();
  for (const [pkg, name] of Object.entries(config.modules)) {
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) throw new Error(`${path}: module name "${name}" of ${pkg} is not an identifier`);
    if (names.has(name)) throw new Error(`${path}: module name "${name}" used twice`);
    names.add(name);
  }
  return config;
}

/** Loads `files` (relative to `protoRoot`) with their imports; google/protobuf/* come from protobufjs. */
export function loadRoot(protoRoot, files) {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => resolve(protoRoot, target);
  // alternateCommentMode keeps plain `//` comments, which the protos use for documentation.
  root.loadSync(files, { alternateCommentMode: true });
  camelCaseFields(root);
  root.resolveAll();
  return root;
}

/**
 * protobufjs's parser camelCases field names, but its bundled google/protobuf definitions come
 * as JSON with the proto names (`type_url`). Rename those so every field follows one rule; the
 * wire format does not depend on names.
 */
function camelCaseFields(ns) {
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Type) {
      const fields = obj.fieldsArray;
      if (fields.some((f) => protobuf.util.camelCase(f.name) !== f.name)) {
        for (const f of fields) obj.remove(f);
        for (const f of fields) {
          const name = protobuf.util.camelCase(f.name);
          if (f.partOf) f.partOf.oneof = f.partOf.oneof.map((n) => (n === f.name ? name : n));
          f.name = name;
          obj.add(f);
        }
      }
    }
    if (obj instanceof protobuf.Namespace) camelCaseFields(obj);
  }
}

/** Every message, enum and service in `root`, with its proto package and its name in that module. */
function collect(root) {
  const decls = [];
  const walk = (ns) => {
    for (const obj of ns.nestedArray) {
      if (obj instanceof protobuf.Type || obj instanceof protobuf.Enum || obj instanceof protobuf.Service) {
        const { pkg, path } = packageOf(obj);
        decls.push({ obj, pkg, name: path.join('_'), fullName: obj.fullName.slice(1) });
      }
      if (obj instanceof protobuf.Namespace) walk(obj);
    }
  };
  walk(root);
  return decls;
}

/** The proto package of a declaration (its nearest enclosing plain namespace) and its path below it. */
function packageOf(obj) {
  const path = [obj.name];
  let parent = obj.parent;
  while (parent instanceof protobuf.Type) {
    path.unshift(parent.name);
    parent = parent.parent;
  }
  return { pkg: parent.fullName.slice(1), path };
}

function render(root, config, protoRoot) {
  const repoDir = dirname(protoRoot);
  const decls = collect(root);
  const byFullName = new Map(decls.map((d) => [d.fullName, d]));
  const packages = new Map();
  for (const d of decls) {
    if (!(d.pkg in config.modules)) {
      throw new Error(`${CONFIG_FILE}: proto package "${d.pkg}" (of ${d.fullName}) has no entry in "modules"`);
    }
    if (!packages.has(d.pkg)) packages.set(d.pkg, []);
    packages.get(d.pkg).push(d);
  }
  for (const pkg of Object.keys(config.modules)) {
    if (!packages.has(pkg)) throw new Error(`${CONFIG_FILE}: "modules" names ${pkg}, which none of the files declares`);
  }

  const out = new Map();
  for (const [pkg, list] of packages) {
    out.set(`${pkg}.ts`, renderModule(pkg, list, byFullName, config, repoDir));
  }
  const sources = config.files.map((f) => relative(repoDir, resolve(protoRoot, f))).join(', ');
  const header = `// generated by tools/protogen from ${sources}; do not edit\n`;
  const index = Object.entries(config.modules)
    .map(([pkg, name]) => `export * as ${name} from './${pkg}';\n`)
    .join('');
  out.set('index.ts', `${header}\n${index}`);
  return out;
}

function renderModule(pkg, decls, byFullName, config, repoDir) {
  const modules = config.modules;
  const runtimeImport = config.runtime ?? RUNTIME_IMPORT;
  const localNames = new Set(decls.map((d) => d.name));
  const imports = new Map(); // module file -> Map(name -> { alias, value })
  const runtime = new Set();

  /** The TS name to use for a referenced declaration, importing it when it lives in another module. */
  const ref = (fullName, asValue) => {
    const d = byFullName.get(fullName.replace(/^\./, ''));
    if (!d) throw new Error(`${fullName}: not found`);
    if (d.pkg === pkg) return d.name;
    if (!imports.has(d.pkg)) imports.set(d.pkg, new Map());
    const fromModule = imports.get(d.pkg);
    let entry = fromModule.get(d.name);
    if (!entry) {
      const importedElsewhere = [...imports].some(([p, m]) => p !== d.pkg && [...m.values()].some((e) => e.alias === d.name));
      const taken = localNames.has(d.name) || importedElsewhere;
      entry = { alias: taken ? `${modules[d.pkg]}_${d.name}` : d.name, value: false };
      fromModule.set(d.name, entry);
    }
    entry.value ||= asValue;
    return entry.alias;
  };

  const fieldType = (field) => {
    const base = field.resolvedType ? ref(field.resolvedType.fullName, false) : SCALARS[field.type];
    if (base === undefined) throw new Error(`${field.fullName}: unsupported type ${field.type}`);
    if (field.map) {
      const key = SCALARS[field.keyType];
      if (key === undefined) throw new Error(`${field.fullName}: unsupported map key ${field.keyType}`);
      return `Record<string, ${base}>`;
    }
    return field.repeated ? `${base}[]` : base;
  };

  const body = [];
  for (const d of decls.filter((x) => x.obj instanceof protobuf.Enum)) body.push(renderEnum(d));
  const messages = decls.filter((x) => x.obj instanceof protobuf.Type);
  for (const d of messages) body.push(renderMessage(d, fieldType, ref));
  for (const d of decls.filter((x) => x.obj instanceof protobuf.Service)) {
    runtime.add('service').add('type MethodDefinition').add('type ServiceDefinition');
    body.push(renderService(d, ref));
  }

  const sources = [...new Set(decls.map((d) => d.obj.filename))].map((f) =>
    f ? relative(repoDir, f) : "protobufjs's bundled google/protobuf definitions",
  );
  const lines = [`// generated by tools/protogen from ${sources.join(', ')}; do not edit`];
  if (messages.length > 0) {
    lines.push(
      '// Each message is an interface plus a codec of the same name, built from three functions:',
      '// `write` puts the set fields on the wire in field-number order, `read` takes them off (tag =',
      '// field number << 3 | wire type; unknown fields are skipped) and `create` gives what `read`',
      "// would give for what `write` writes. `$` is the codec runtime.",
      `import * as $ from '${runtimeImport}';`,
    );
  }
  if (runtime.size > 0) lines.push(`import { ${[...runtime].sort(byImportName).join(', ')} } from '${runtimeImport}';`);
  for (const [fromPkg, names] of [...imports].sort(([a], [b]) => a.localeCompare(b))) {
    const specs = [...names]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, { alias, value }]) => `${value ? '' : 'type '}${name}${alias === name ? '' : ` as ${alias}`}`);
    const allTypes = specs.every((s) => s.startsWith('type '));
    const list = allTypes ? specs.map((s) => s.slice(5)) : specs;
    lines.push(`import ${allTypes ? 'type ' : ''}{ ${list.join(', ')} } from './${fromPkg}';`);
  }
  return `${lines.join('\n')}\n\n${body.join('\n')}`;
}

function byImportName(a, b) {
  return a.replace(/^type /, '').localeCompare(b.replace(/^type /, ''));
}

function renderEnum({ obj, name }) {
  const values = Object.entries(obj.values).map(
    ([key, value]) => `${doc(obj.comments[key], '  ')}  ${key}: ${value},\n`,
  );
  return (
    `${doc(obj.comment, '')}export const ${name} = {\n${values.join('')}} as const;\n` +
    `export type ${name} = (typeof ${name})[keyof typeof ${name}];\n`
  );
}

function renderMessage({ obj, name, fullName }, fieldType, ref) {
  const fields = obj.fieldsArray.map((f) => {
    // Singular message fields and oneof members are absent when unset; everything else has a default.
    const optional = (f.resolvedType instanceof protobuf.Type && !f.repeated && !f.map) || f.partOf ? '?' : '';
    return `${doc(f.comment, '  ')}  ${f.name}${optional}: ${fieldType(f)};\n`;
  });
  return (
    `${doc(obj.comment, '')}export interface ${name} {${fields.length ? `\n${fields.join('')}` : ''}}\n` +
    renderCodec(obj, name, fullName, { ref, fieldType })
  );
}

function renderService({ obj, name, fullName }, ref) {
  const methods = obj.methodsArray.map((m) => {
    const key = m.name.charAt(0).toLowerCase() + m.name.slice(1);
    const req = ref(m.resolvedRequestType.fullName, true);
    const res = ref(m.resolvedResponseType.fullName, true);
    return { m, key, req, res, reqStream: m.requestStream === true, resStream: m.responseStream === true };
  });
  // A unary rpc's type is spelled `MethodDefinition<Req, Res>` (the flags default to false).
  const types = methods.map(({ m, key, req, res, reqStream, resStream }) => {
    const flags = reqStream || resStream ? `, ${reqStream}, ${resStream}` : '';
    return `${doc(m.comment, '  ')}  ${key}: MethodDefinition<${req}, ${res}${flags}>;\n`;
  });
  const values = methods.map(
    ({ m, key, req, res, reqStream, resStream }) =>
      `  ${key}: { name: '${m.name}', requestType: ${req}, responseType: ${res}, ` +
      `requestStream: ${reqStream}, responseStream: ${resStream} },\n`,
  );
  return (
    `${doc(obj.comment, '')}export const ${name}: ServiceDefinition<{\n${types.join('')}}> = ` +
    `service('${fullName}', {\n${values.join('')}});\n`
  );
}

/** A doc comment for a proto comment (none when empty). */
function doc(comment, indent) {
  if (!comment) return '';
  const lines = comment.replace(/\*\//g, '*\\/').split('\n');
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((l) => `${indent} *${l ? ` ${l}` : ''}\n`).join('')}${indent} */\n`;
}

/** Writes `files` into `outDir`, leaving unchanged files alone and removing stale ones. */
function writeOutput(outDir, files) {
  mkdirSync(outDir, { recursive: true });
  let written = 0;
  for (const entry of readdirSync(outDir)) {
    if (!files.has(entry)) rmSync(join(outDir, entry), { recursive: true, force: true });
  }
  for (const [name, text] of files) {
    const path = join(outDir, name);
    if (existsSync(path) && readFileSync(path, 'utf8') === text) continue;
    writeFileSync(path, text);
    written++;
  }
  return { outDir, files: files.size, written };
}

if (import.meta.url === pathToFileURL(resolve(process.argv[1] ?? '')).href) {
  try {
    const { outDir, files, written } = generate(process.cwd());
    console.log(`protogen: ${files} files in ${relative(process.cwd(), outDir) || '.'} (${written} changed)`);
  } catch (err) {
    console.error(`protogen: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
