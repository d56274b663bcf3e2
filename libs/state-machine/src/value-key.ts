// The value key every node's sessions keep per client request id (SessionRecord.valueKey): 48
// bits of a hash of the command's content type and bytes, so that a proposer that continued from
// an acceptor's state snapshot (which holds no digests) still tells a retry from another value.
//
// Each of the 23 acceptors computes one per command it applies. node:crypto's createHash costs
// about 2 µs a call however short the value (the object it builds), against about 0.3 µs for the
// 53-bit multiply-xorshift hash below on a 200-byte value; Node has no fast non-cryptographic hash
// of its own (node:zlib's crc32 is linear: two of them with other seeds carry 32 bits, not 64).
// Above 1 KiB the hash is SHA-256, whose cost per byte is then the lower. A retry with another
// value matches by chance once in 2^48; a client crafting such a match only misleads itself.
import { createHash } from 'node:crypto';
import type { SessionValueKey } from '@paxos/consensus-core';

/** Values up to this many bytes are hashed by mix53; longer ones by SHA-256. */
const MIXED_BYTES_MAX = 1024;
const KEY_SPAN = 2 ** 48;

/** The value key of a command: a whole number in [0, 2^48), the same on every node. */
export function sessionValueKey(contentType: string, data: Uint8Array): number {
  if (data.length > MIXED_BYTES_MAX) {
    const type = Buffer.from(contentType, 'utf8');
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32BE(type.length, 0);
    return createHash('sha256').update(length).update(type).update(data).digest().readUIntBE(0, 6);
  }
  return mix53(contentType, data) % KEY_SPAN;
}

/** A 53-bit hash of the content type's UTF-16 units, a separator and the bytes (two 32-bit multiply-xorshift lanes). */
function mix53(contentType: string, data: Uint8Array): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < contentType.length; i++) {
    const c = contentType.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  // Past every UTF-16 unit: "a" + "b..." and "ab" + "..." differ.
  h1 = Math.imul(h1 ^ 0x10000, 2654435761);
  h2 = Math.imul(h2 ^ 0x10000, 1597334677);
  for (let i = 0; i < data.length; i++) {
    const b = data[i] as number;
    h1 = Math.imul(h1 ^ b, 2654435761);
    h2 = Math.imul(h2 ^ b, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * The sessions' value keys as every node of this build makes them. The name goes into state
 * snapshots beside the keys: a later build that changes the function changes the name, and keys
 * of another name are taken as unknown (a retry is then answered by its slot), never compared.
 */
export const SESSION_VALUE_KEY: SessionValueKey = { name: 'mix53-to-1KiB+sha256-48', of: sessionValueKey };
