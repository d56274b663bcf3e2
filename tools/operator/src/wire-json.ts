// The operator tools' --json output of wire messages, in protobuf's JSON mapping (read's and
// submit's answers): one function, so two tools never print one message two ways.
import { createFileRegistry, type DescEnum, type DescField, type DescMessage, type FileRegistry, fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { FILE_DESCRIPTOR_SET_BASE64 } from '@paxos/proto';

/** A oneof as the generated code holds it: { $case: member, value }. */
const isOneof = (v: unknown): v is { $case: string; value: unknown } =>
  typeof v === 'object' && v !== null && typeof (v as { $case?: unknown }).$case === 'string' && 'value' in v && Object.keys(v).length === 2;

/** The wire contract's descriptors, read once when a tool first prints an enum's name. */
let registry: FileRegistry | undefined;
const descriptors = (): FileRegistry =>
  (registry ??= createFileRegistry(fromBinary(FileDescriptorSetSchema, Buffer.from(FILE_DESCRIPTOR_SET_BASE64, 'base64'))));

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** An enum's number as its value's name ("VOTE_OUTCOME_PROMISED"); a number the contract does not name stays a number, as protobuf JSON writes it. */
const enumName = (e: DescEnum, n: unknown): unknown => (typeof n === 'number' ? (e.values.find((x) => x.number === n)?.name ?? n) : n);

/** The message `v` (as the generated code holds it, of type `desc`) with every enum field, at any depth, as its value's name. */
function withEnumNames(v: unknown, desc: DescMessage): unknown {
  if (!isPlainObject(v)) return v;
  const field = (f: DescField, x: unknown): unknown => {
    switch (f.fieldKind) {
      case 'enum':
        return enumName(f.enum, x);
      case 'message':
        return withEnumNames(x, f.message);
      case 'list':
        if (!Array.isArray(x)) return x;
        return f.listKind === 'enum' ? x.map((e) => enumName(f.enum, e)) : f.listKind === 'message' ? x.map((e) => withEnumNames(e, f.message)) : x;
      case 'map':
        if (!isPlainObject(x)) return x;
        return f.mapKind === 'enum' ? Object.fromEntries(Object.entries(x).map(([k, e]) => [k, enumName(f.enum, e)])) : f.mapKind === 'message' ? Object.fromEntries(Object.entries(x).map(([k, e]) => [k, withEnumNames(e, f.message)])) : x;
      default:
        return x;
    }
  };
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => {
      const f = desc.field[k];
      if (f) return [k, field(f, x)];
      // A oneof, as the generated code holds it: { $case: member, value }.
      if (!desc.oneofs.some((o) => o.localName === k) || !isOneof(x)) return [k, x];
      const member = desc.field[x.$case];
      return [k, member ? { $case: x.$case, value: field(member, x.value) } : x];
    }),
  );
}

/**
 * --json output in protobuf's JSON mapping: 64-bit integers as decimal strings, bytes as base64
 * (JSON.stringify would write a value's bytes as {"type":"Buffer","data":[...]}, a number per byte),
 * a oneof as its set member's name (a slot's value {"batch": ...}, not the generated code's
 * {"kind": {"$case": "batch", "value": ...}}), and, given the message's full name
 * ("paxos.v1.ProposeResponse"), each enum as its value's name ("VOTE_PHASE_ACCEPT", not 2).
 * read's and submit's --json answers go through it (check's --json is its own report, not a message).
 */
export function wireJson(message: unknown, typeName?: string): string {
  let v = message;
  if (typeName !== undefined) {
    const desc = descriptors().getMessage(typeName);
    if (!desc) throw new Error(`assertion: ${typeName} is not a message of the wire contract`);
    v = withEnumNames(message, desc);
  }
  return JSON.stringify(
    v,
    function (this: Record<string, unknown>, key: string, x: unknown) {
      const raw = this[key];
      if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
      if (typeof x === 'bigint') return x.toString();
      if (typeof x === 'object' && x !== null && !Array.isArray(x) && Object.values(x).some(isOneof)) {
        return Object.fromEntries(Object.entries(x).map(([k, field]) => (isOneof(field) ? [field.$case, field.value] : [k, field])));
      }
      return x;
    },
    2,
  );
}
