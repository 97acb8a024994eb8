// Renders the static codec of one message: `$.codec('<full name>', { write, read, create })`,
// plain TypeScript over the runtime's Writer, Reader, scalar types and create helpers (`$`).
//
//   write(w, m)    one `w.<kind>(...)` call per field, in field-number order (as protoc and
//                  protobufjs write them); each checks its value's shape and skips it when unset
//                  (or at its default, for implicit presence).
//   read(r, end)   a local per field, at its default; a switch on each tag; the object built in
//                  declaration order at the end.
//   create(m)      the object `read` would give for what `write` writes.
import protobuf from 'protobufjs';

/** The wire type of each scalar (unpacked); strings and bytes are length-delimited. */
const WIRE_TYPES = {
  double: 1,
  float: 5,
  int32: 0,
  uint32: 0,
  sint32: 0,
  fixed32: 5,
  sfixed32: 5,
  int64: 0,
  uint64: 0,
  sint64: 0,
  fixed64: 1,
  sfixed64: 1,
  bool: 0,
  string: 2,
  bytes: 2,
};
const LEN = 2;

/** The default a scalar field's local starts at in `read`. */
const ZEROS = { bool: 'false', string: "''", bytes: 'new Uint8Array(0)' };

/** Names a `read` local cannot take (JS reserved words and the function's own names). */
const RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for ' +
    'function if import in instanceof new null return super switch this throw true try typeof var void while with ' +
    'yield let static implements interface package private protected public await arguments eval undefined NaN ' +
    'Infinity r end tag o $'
  ).split(' '),
);

/**
 * The codec declaration of message `obj` (TS name `name`): `ref(fullName, asValue)` names a
 * referenced declaration (importing it), `fieldType(field)` gives a field's TS type.
 */
export function renderCodec(obj, name, fullName, { ref, fieldType }) {
  const fields = obj.fieldsArray.map((f) => describe(f, ref, fieldType));
  const taken = new Set(fields.flatMap((f) => (f.codec ? [f.codec] : [])));
  for (const f of fields) f.local = RESERVED.has(f.name) || taken.has(f.name) ? `${f.name}_` : f.name;
  const byNumber = [...fields].sort((a, b) => a.field.id - b.field.id);
  return (
    `export const ${name}: $.MessageCodec<${name}> = /* @__PURE__ */ $.codec<${name}>('${fullName}', {\n` +
    renderWrite(byNumber) +
    renderRead(fields, name) +
    renderCreate(fields, name) +
    '});\n'
  );
}

/** What the three functions need to know of a field. */
function describe(field, ref, fieldType) {
  const { name } = field;
  const resolved = field.resolvedType;
  const isEnum = resolved instanceof protobuf.Enum;
  const codec = resolved instanceof protobuf.Type ? ref(resolved.fullName, true) : undefined;
  const type = isEnum ? 'enum' : codec ? 'message' : field.type;
  if (!codec && !isEnum && !(type in WIRE_TYPES)) throw new Error(`${field.fullName}: unsupported type ${field.type}`);
  const f = {
    field,
    name,
    tsType: fieldType(field),
    codec,
    enumName: isEnum ? ref(resolved.fullName, false) : undefined,
    // `$.string`, `$.enumeration`, ...: the runtime's scalar type object.
    kind: isEnum ? '$.enumeration' : `$.${field.type}`,
    // `r.string()`, `r.int32() as Status`, ...: one value off the wire.
    readValue: isEnum ? `r.int32() as ${ref(resolved.fullName, false)}` : `r.${field.type}()`,
    wireType: isEnum ? 0 : WIRE_TYPES[field.type],
    // Oneof members (and proto3 `optional`, a synthetic oneof) are left out of a decoded
    // message when unset; every other field is there, at its default or `undefined`.
    presence: Boolean(field.partOf),
  };
  if (field.map) {
    if (!(field.keyType in WIRE_TYPES) || ['double', 'float', 'bytes'].includes(field.keyType)) {
      throw new Error(`${field.fullName}: unsupported map key ${field.keyType}`);
    }
    f.shape = codec ? 'messageMap' : 'map';
    f.keyKind = `$.${field.keyType}`;
  } else if (field.repeated) {
    f.shape = codec ? 'messages' : f.wireType !== LEN && field.packed ? 'packed' : 'repeated';
  } else if (codec) {
    f.shape = 'message';
  } else {
    // proto2 (and editions) scalars with presence outside a oneof would need their own rules.
    if (!field.partOf && field.hasPresence) throw new Error(`${field.fullName}: only proto3 fields are supported`);
    // Scalars with presence are written whenever set, even at their default.
    f.shape = field.partOf ? 'optional' : 'scalar';
  }
  return f;
}

const tagOf = (number, wireType) => number * 8 + wireType;

function renderWrite(fields) {
  if (fields.length === 0) return '  write() {},\n';
  const calls = fields.map((f) => {
    const { id } = f.field;
    const value = `m.${f.name}`;
    switch (f.shape) {
      case 'map':
        return `w.map(${f.keyKind}, ${f.kind}, ${id}, '${f.name}', ${value})`;
      case 'messageMap':
        return `w.messageMap(${f.keyKind}, ${f.codec}, ${id}, '${f.name}', ${value})`;
      case 'message':
      case 'messages':
        return `w.${f.shape}(${f.codec}, ${id}, '${f.name}', ${value})`;
      default:
        return `w.${f.shape}(${f.kind}, ${id}, '${f.name}', ${value})`;
    }
  });
  return `  write(w, m) {\n${calls.map((c) => `    ${c};\n`).join('')}  },\n`;
}

function renderRead(fields, name) {
  if (fields.length === 0) {
    return '  read(r, end) {\n    while (r.pos < end) r.skip(r.tag());\n    return {};\n  },\n';
  }
  const locals = fields.map((f) => `    ${declareLocal(f)};\n`);
  const cases = fields.flatMap((f) => readCases(f).map(([tag, stmt]) => `        case ${tag}: ${stmt}; break;\n`));
  return (
    '  read(r, end) {\n' +
    locals.join('') +
    '    while (r.pos < end) {\n' +
    '      const tag = r.tag();\n' +
    '      switch (tag) {\n' +
    cases.join('') +
    '        default:\n' +
    '          r.skip(tag);\n' +
    '      }\n' +
    '    }\n' +
    buildObject(fields, name, (f) => f.local) +
    '  },\n'
  );
}

function declareLocal(f) {
  switch (f.shape) {
    case 'map':
    case 'messageMap':
      return `const ${f.local}: ${f.tsType} = {}`;
    case 'packed':
    case 'repeated':
    case 'messages':
      return `const ${f.local}: ${f.tsType} = []`;
    case 'message':
    case 'optional':
      return `let ${f.local}: ${f.tsType} | undefined`;
    default:
      if (f.enumName) return `let ${f.local} = 0 as ${f.enumName}`;
      if (f.field.type === 'bytes') return `let ${f.local}: Uint8Array = ${ZEROS.bytes}`;
      return `let ${f.local} = ${ZEROS[f.field.type] ?? '0'}`;
  }
}

/** The `[tag, statement]` cases of a field in `read`'s switch (two for a packable repeated field). */
function readCases(f) {
  const { id } = f.field;
  const local = f.local;
  switch (f.shape) {
    case 'map': {
      const map = f.enumName ? `${local} as Record<string, number>` : local;
      return [[tagOf(id, LEN), `r.entry(${map}, ${f.keyKind}, ${f.kind})`]];
    }
    case 'messageMap':
      return [[tagOf(id, LEN), `r.messageEntry(${local}, ${f.keyKind}, ${f.codec})`]];
    case 'message':
      return [[tagOf(id, LEN), `${local} = r.message(${f.codec})`]];
    case 'messages':
      return [[tagOf(id, LEN), `${local}.push(r.message(${f.codec}))`]];
    case 'packed':
    case 'repeated': {
      const one = [tagOf(id, f.wireType), `${local}.push(${f.readValue})`];
      if (f.wireType === LEN) return [one];
      // Parsers take both encodings of a packable field, whichever the writer chose.
      const list = f.enumName ? `${local} as number[]` : local;
      return [one, [tagOf(id, LEN), `r.packed(${list}, ${f.kind})`]];
    }
    default:
      return [[tagOf(id, f.wireType), `${local} = ${f.readValue}`]];
  }
}

function renderCreate(fields, name) {
  if (fields.length === 0) return '  create: () => ({}),\n';
  const value = (f) => {
    const v = `m.${f.name}`;
    const cast = f.enumName ? ` as ${f.tsType}` : '';
    switch (f.shape) {
      case 'map':
        return `$.map(${f.keyKind}, ${f.kind}, '${f.name}', ${v})${cast}`;
      case 'messageMap':
        return `$.messageMap(${f.keyKind}, ${f.codec}, '${f.name}', ${v})`;
      case 'message':
      case 'messages':
        return `$.${f.shape}(${f.codec}, '${f.name}', ${v})`;
      case 'packed':
        return `$.repeated(${f.kind}, '${f.name}', ${v})${cast}`;
      case 'optional':
        return `$.optional(${f.kind}, '${f.name}', ${v})${f.enumName ? ` as ${f.tsType} | undefined` : ''}`;
      default:
        return `$.${f.shape}(${f.kind}, '${f.name}', ${v})${cast}`;
    }
  };
  if (!fields.some((f) => f.presence)) {
    return `  create: (m) => ({\n${fields.map((f) => `    ${f.name}: ${value(f)},\n`).join('')}  }),\n`;
  }
  // Members with presence are left out of the object when unset: compute, then build in order.
  const locals = fields.map((f) => `    const ${f.local} = ${value(f)};\n`);
  return `  create(m) {\n${locals.join('')}${buildObject(fields, name, (f) => f.local)}  },\n`;
}

/**
 * The `return` of a decoded message from its locals, in declaration order: a literal, or, when
 * some fields have presence, an object those fields join only when set.
 */
function buildObject(fields, name, localOf) {
  const prop = (f) => (localOf(f) === f.name ? f.name : `${f.name}: ${localOf(f)}`);
  if (!fields.some((f) => f.presence)) {
    const line = `    return { ${fields.map(prop).join(', ')} };\n`;
    return line.length <= 110 ? line : `    return {\n${fields.map((f) => `      ${prop(f)},\n`).join('')}    };\n`;
  }
  const lines = [`    const o = {} as ${name};\n`];
  for (const f of fields) {
    const set = `o.${f.name} = ${localOf(f)};`;
    lines.push(f.presence ? `    if (${localOf(f)} !== undefined) ${set}\n` : `    ${set}\n`);
  }
  return `${lines.join('')}    return o;\n`;
}
