#!/usr/bin/env node
// Generates lib/load/onnx-proto.generated.ts from lib/load/onnx.proto (npm run gen:onnx): one
// TypeScript interface and one read<Message>(pbf, end) / write<Message>(obj, pbf) per message, static
// code over pbf's PbfReader and PbfWriter, so reading ONNX compiles nothing at run time (no eval, no
// new Function: it runs under a Content-Security-Policy without 'unsafe-eval' and in workerd).
//
// Why not pbf's own compileRaw: it emits untyped JavaScript with the .proto's snake_case names,
// leaves an absent message or bytes field undefined (and relies on that to merge messages), and
// trusts every length it reads. The reader wants typed camelCase objects with protobuf's defaults
// (0, '', an empty Uint8Array, [], null for an absent message) and a hostile file refused, so this
// script emits the same kind of code with those differences:
// - a field is read only with the wire type its type allows (else it is skipped, as protobuf does);
//   a repeated number accepts both the packed and the unpacked encoding, whatever the .proto says;
// - a length-delimited field must end inside its message, and a message must end exactly at its
//   length (field number 0, or a string, bytes or packed field running past it, is an error);
// - a message field read twice keeps the last one (as protobufjs did); a oneof member read clears
//   the other members.
//
//   node scripts/gen-onnx-decoder.mjs            writes lib/load/onnx-proto.generated.ts
//   node scripts/gen-onnx-decoder.mjs --stdout   prints it (test/load-onnx.test.ts compares the two)
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve as readProto } from 'pbf/resolve';

const PROTO = fileURLToPath(new URL('../lib/load/onnx.proto', import.meta.url));
const OUT = fileURLToPath(new URL('../lib/load/onnx-proto.generated.ts', import.meta.url));

/** Wire types: varint, 64-bit, length-delimited, 32-bit. */
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/** Scalar types: the TypeScript type, default, wire type and the PbfReader / PbfWriter method suffix. */
const SCALARS = {
  double: { ts: 'number', init: '0', wire: I64, method: 'Double' },
  float: { ts: 'number', init: '0', wire: I32, method: 'Float' },
  int32: { ts: 'number', init: '0', wire: VARINT, method: 'Varint', signed: true },
  int64: { ts: 'number', init: '0', wire: VARINT, method: 'Varint', signed: true },
  uint32: { ts: 'number', init: '0', wire: VARINT, method: 'Varint' },
  uint64: { ts: 'number', init: '0', wire: VARINT, method: 'Varint' },
  sint32: { ts: 'number', init: '0', wire: VARINT, method: 'SVarint' },
  sint64: { ts: 'number', init: '0', wire: VARINT, method: 'SVarint' },
  bool: { ts: 'boolean', init: 'false', wire: VARINT, method: 'Boolean' },
  string: { ts: 'string', init: "''", wire: LEN, method: 'String' },
  bytes: { ts: 'Uint8Array', init: 'EMPTY', wire: LEN, method: 'Bytes' },
};
/** An enum field reads as its number (int32), unknown values included: the enums emit no code. */
const ENUM = { ts: 'number', init: '0', wire: VARINT, method: 'Varint', signed: true };

const camel = (name) => name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/** Every message and enum by its full name (nested ones as Parent.Child), with its TypeScript name. */
function collect(schema) {
  const types = new Map();
  const visit = (node, scope, tsScope) => {
    for (const e of node.enums ?? []) types.set(`${scope}${e.name}`, { kind: 'enum', tsName: `${tsScope}${e.name}`, proto: e });
    for (const m of node.messages ?? []) {
      types.set(`${scope}${m.name}`, { kind: 'message', tsName: `${tsScope}${m.name}`, proto: m, scope: `${scope}${m.name}.` });
      visit(m, `${scope}${m.name}.`, `${tsScope}${m.name}`);
    }
  };
  visit(schema, '', '');
  return types;
}

/** A field's type, looked up as protobuf scopes names: innermost scope first. */
function lookup(types, scope, name) {
  const parts = scope.split('.').filter(Boolean);
  for (let k = parts.length; k >= 0; k--) {
    const type = types.get([...parts.slice(0, k), name].join('.'));
    if (type) return type;
  }
  throw new Error(`onnx.proto: unknown type '${name}' (in ${scope || 'the top level'})`);
}

function fieldInfo(types, scope, field) {
  if (field.map) throw new Error(`onnx.proto: map field '${field.name}' is not supported`);
  if (field.options?.default !== undefined) throw new Error(`onnx.proto: field '${field.name}' has a [default], which is not supported`);
  const scalar = SCALARS[field.type];
  const type = scalar ? null : lookup(types, scope, field.type);
  const kind = scalar ? 'scalar' : type.kind === 'enum' ? 'scalar' : 'message';
  const s = scalar ?? (kind === 'scalar' ? ENUM : null);
  return {
    name: camel(field.name),
    declaration: `${field.oneof ? `oneof ${field.oneof}: ` : field.repeated ? 'repeated ' : 'optional '}${field.type} ${field.name} = ${field.tag}${field.options?.packed ? ` [packed = ${field.options.packed}]` : ''}`,
    tag: Number(field.tag),
    repeated: field.repeated,
    packed: field.options?.packed === 'true',
    oneof: field.oneof,
    kind,
    scalar: s,
    message: kind === 'message' ? type.tsName : null,
  };
}

function readLine(f) {
  if (f.kind === 'message') {
    const read = `read${f.message}(pbf, fieldEnd(pbf, end))`;
    return { wire: `pbf.type === ${LEN}`, code: f.repeated ? `obj.${f.name}.push(${read});` : `obj.${f.name} = ${read};` };
  }
  const { method, signed, wire } = f.scalar;
  if (f.repeated && wire !== LEN) {
    // Packed (one length-delimited run) or not (one field per value): readPacked* reads either.
    return { wire: `(pbf.type === ${LEN} || pbf.type === ${wire})`, code: `pbf.readPacked${method}(obj.${f.name}${signed ? ', true' : ''});` };
  }
  const read = `pbf.read${method}(${signed ? 'true' : ''})`;
  return { wire: `pbf.type === ${wire}`, code: f.repeated ? `obj.${f.name}.push(${read});` : `obj.${f.name} = ${read};` };
}

function writeLine(f) {
  const v = `obj.${f.name}`;
  if (f.kind === 'message') {
    return f.repeated
      ? `for (const item of ${v} ?? []) pbf.writeMessage(${f.tag}, write${f.message}, item);`
      : `if (${v}) pbf.writeMessage(${f.tag}, write${f.message}, ${v});`;
  }
  const { method, wire } = f.scalar;
  if (f.repeated) {
    return f.packed && wire !== LEN
      ? `if (${v}?.length) pbf.writePacked${method}(${f.tag}, ${v});`
      : `for (const item of ${v} ?? []) pbf.write${method}Field(${f.tag}, item);`;
  }
  const present = f.scalar.init === 'EMPTY' ? `${v}?.length` : f.oneof ? `${v} != null` : `${v} != null && ${v} !== ${f.scalar.init}`;
  return `if (${present}) pbf.write${method}Field(${f.tag}, ${v});`;
}

function emitMessage(types, type) {
  const fields = (type.proto.fields ?? []).map((field) => fieldInfo(types, type.scope, field));
  const name = type.tsName;
  const tsType = (f) => {
    const one = f.kind === 'message' ? f.message : f.scalar.ts;
    return f.repeated ? `${one}[]` : f.kind === 'message' ? `${one} | null` : one;
  };
  const init = (f) => (f.repeated ? '[]' : f.kind === 'message' ? 'null' : f.scalar.init);
  let code = `\n/** onnx.${type.scope.slice(0, -1)} */\nexport interface ${name} {\n`;
  for (const f of fields) code += `  /** ${f.declaration} */\n  ${f.name}: ${tsType(f)};\n`;
  code += '}\n';

  code += `\nexport function read${name}(pbf: PbfReader, end: number): ${name} {\n`;
  code += `  const obj: ${name} = { ${fields.map((f) => `${f.name}: ${init(f)}`).join(', ')} };\n`;
  code += '  let field: number;\n  while ((field = pbf.nextField(end))) {\n';
  fields.forEach((f, k) => {
    const { wire, code: read } = readLine(f);
    const others = f.oneof ? fields.filter((o) => o !== f && o.oneof === f.oneof).map((o) => ` obj.${o.name} = ${init(o)};`).join('') : '';
    code += `    ${k ? 'else ' : ''}if (field === ${f.tag} && ${wire}) ${others ? `{ ${read}${others} }` : read}\n`;
  });
  code += '  }\n  checkEnd(pbf, end);\n  return obj;\n}\n';

  code += `\nexport function write${name}(obj: DeepPartial<${name}>, pbf: PbfWriter): void {\n`;
  for (const f of fields) code += `  ${writeLine(f)}\n`;
  code += '}\n';
  return code;
}

export function generate() {
  const schema = readProto(PROTO);
  const types = collect(schema);
  let code = `// Generated from lib/load/onnx.proto by scripts/gen-onnx-decoder.mjs (npm run gen:onnx): do not edit.
// Static readers and writers over pbf, one per message of onnx.proto's subset; see the script for
// how they read (typed camelCase fields, protobuf's defaults, lengths checked).
import type { DeepPartial } from 'pbf';
import { PbfReader, PbfWriter } from 'pbf';

/** The value of an absent bytes field (empty, so nothing can write into it). */
const EMPTY = new Uint8Array(0);

/** The end of the length-delimited field starting here, which must lie within its message's end. */
function fieldEnd(pbf: PbfReader, end: number): number {
  const start = pbf.pos;
  const length = pbf.readVarint();
  if (pbf.pos + length > end) throw new Error(\`a field of \${length} bytes at byte \${start} runs past the end of its message (byte \${end})\`);
  return pbf.pos + length;
}

/** A message ends exactly at its length: not past it (a field ran over), not before (field number 0). */
function checkEnd(pbf: PbfReader, end: number): void {
  if (pbf.pos > end) throw new Error(\`a field runs past the end of its message (byte \${end}) to byte \${pbf.pos}\`);
  if (pbf.pos < end) throw new Error(\`invalid field number 0 at byte \${pbf.pos}\`);
}

/** Reads a whole buffer as the message read reads. */
export function decode<T>(bytes: Uint8Array, read: (pbf: PbfReader, end: number) => T): T {
  const pbf = new PbfReader(bytes);
  return read(pbf, pbf.length);
}

/** Encodes a message with its write function. */
export function encode<T>(obj: DeepPartial<T>, write: (obj: DeepPartial<T>, pbf: PbfWriter) => void): Uint8Array {
  const pbf = new PbfWriter();
  write(obj, pbf);
  return pbf.finish();
}
`;
  for (const type of types.values()) if (type.kind === 'message') code += emitMessage(types, type);
  return code;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const code = generate();
  if (process.argv.includes('--stdout')) process.stdout.write(code);
  else writeFileSync(OUT, code);
}
