// Lossless JSON: integers of any size become bigint, other numbers keep their exact text.
import { createHash } from 'node:crypto';
import { isLosslessNumber, LosslessNumber, parse, stringify } from 'lossless-json';

const INTEGER = /^-?\d+$/;

/** Parses JSON text: integers -> bigint; non-integers -> LosslessNumber (their text kept exactly). */
export function parseLossless(text: string): unknown {
  return parse(text, null, (value: string) => (INTEGER.test(value) ? BigInt(value) : new LosslessNumber(value)));
}

/** Serializes with bigint written as plain JSON integers, LosslessNumber written as its text. */
export function stringifyLossless(value: unknown, space?: number): string {
  const out = stringify(value, null, space);
  if (out === undefined) throw new TypeError('value cannot be serialized as JSON');
  return out;
}

/** Sets a key as the object's own property: a key named "__proto__" stays a key, never the prototype. */
export function setOwn<T>(o: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object' && !isLosslessNumber(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) setOwn(out, key, sortKeys(v));
    }
    return out;
  }
  return value;
}

/**
 * The canonical serialization used for hashes: JSON with object keys sorted by UTF-16 code unit
 * order (recursively), no whitespace, integers as plain digits (bigint, any size), strings escaped
 * as JSON.stringify escapes them, other numbers as their exact source text. Array order is kept.
 */
export function canonicalJson(value: unknown): string {
  return stringifyLossless(sortKeys(value));
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export { isLosslessNumber, LosslessNumber };
