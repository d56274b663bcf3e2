import type { SlotValue } from '@paxos/consensus-core';
import { AcceptRequest, type SlotValue as WireSlotValue } from '@paxos/proto';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

/** Field numbers of paxos.v1.AcceptRequest.accept and .commits, Accept.value and Commit.values. */
const ACCEPT_REQUEST_ACCEPT_FIELD = 2;
const ACCEPT_REQUEST_COMMITS_FIELD = 5;
const ACCEPT_VALUE_FIELD = 3;
const COMMIT_VALUES_FIELD = 4;

/** Wire values decoded from a request, with the bytes they were decoded from. */
const receivedBytes = new WeakMap<WireSlotValue, Uint8Array>();
/** Core values whose protobuf encoding is already known. */
const knownEncodings = new WeakMap<SlotValue, Uint8Array>();

/** The bytes of every occurrence of a length-delimited field of an encoded message, in order: views into `buf`. */
function fieldOccurrences(buf: Uint8Array, field: number): Uint8Array[] {
  const r = new BinaryReader(buf);
  const found: Uint8Array[] = [];
  // Bounded: every iteration consumes at least the tag.
  while (r.pos < r.len) {
    const [no, type] = r.tag();
    if (no === field && type === WireType.LengthDelimited) found.push(r.bytes());
    else r.skip(type, no);
  }
  return found;
}

/**
 * The bytes of a singular message field, a view into `buf`; undefined when it is absent or
 * appears more than once (then the decoder merged parts: encode afresh).
 */
function soleField(buf: Uint8Array, field: number): Uint8Array | undefined {
  const found = fieldOccurrences(buf, field);
  return found.length === 1 ? found[0] : undefined;
}

/**
 * What the fields of a message within a value hold: paxos.v1.SlotValue, CommandBatch, Command, a
 * message whose fields are all skipped whole (Noop, Value), or a packed field of varints.
 */
const SLOT_VALUE = 0;
const COMMAND_BATCH = 1;
const COMMAND = 2;
const LEAF = 3;
const VARINTS = 4;
type Within = typeof SLOT_VALUE | typeof COMMAND_BATCH | typeof COMMAND | typeof LEAF | typeof VARINTS;

/** The message (or packed) fields of paxos.v1.SlotValue and of the messages in it, by field number. */
function nestedOf(kind: Within, field: number): Within | undefined {
  if (kind === SLOT_VALUE) return field === 1 ? LEAF : field === 2 ? COMMAND_BATCH : undefined;
  if (kind === COMMAND_BATCH) return field === 1 ? COMMAND : undefined;
  if (kind === COMMAND) return field === 2 ? LEAF : field === 3 ? VARINTS : undefined;
  return undefined;
}

/** The end of the varint at `pos` (at most `maxBytes` long) when it ends by `end`, else -1. */
function varintEnd(buf: Uint8Array, pos: number, end: number, maxBytes: number): number {
  const last = Math.min(end, pos + maxBytes);
  for (let p = pos; p < last; p++) if (((buf[p] as number) & 0x80) === 0) return p + 1;
  return -1;
}

/**
 * Whether every field of the encoded message in buf[pos, end), and of each message in it, lies
 * within that message's own bytes. Decoded inside a request, a field whose length runs past its
 * message takes the bytes after it (the request's next fields): the value read is not what its
 * bytes alone decode to, or they do not decode at all. Such bytes are never stored (a vote log or
 * history record no acceptor could read back); the value read is encoded afresh instead. Strict:
 * a tag, length or varint in an unusual form (a group, an end-group tag, a tag of field 0, an
 * overlong varint) is refused too, as encoding afresh is always right. A walk of the bytes that
 * allocates nothing: it runs on every value an acceptor receives.
 */
function fieldsWithin(buf: Uint8Array, pos: number, end: number, kind: Within): boolean {
  // Bounded: every iteration consumes at least one byte; messages nest three deep.
  while (pos < end) {
    if (kind === VARINTS) {
      pos = varintEnd(buf, pos, end, 10);
      if (pos < 0) return false;
      continue;
    }
    const tagEnd = varintEnd(buf, pos, end, 5);
    if (tagEnd < 0) return false;
    let tag = 0;
    for (let p = tagEnd - 1; p >= pos; p--) tag = tag * 128 + ((buf[p] as number) & 0x7f);
    pos = tagEnd;
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 0 || tag > 0xffffffff) return false;
    switch (wireType) {
      case 0:
        pos = varintEnd(buf, pos, end, 10);
        if (pos < 0) return false;
        break;
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        const lenEnd = varintEnd(buf, pos, end, 5);
        if (lenEnd < 0) return false;
        let len = 0;
        for (let p = lenEnd - 1; p >= pos; p--) len = len * 128 + ((buf[p] as number) & 0x7f);
        if (len > end - lenEnd) return false;
        const inner = nestedOf(kind, field);
        if (inner !== undefined && !fieldsWithin(buf, lenEnd, lenEnd + len, inner)) return false;
        pos = lenEnd + len;
        break;
      }
      default:
        return false; // a group, an end-group tag, or no wire type
    }
  }
  return pos === end;
}

/** Whether an encoded paxos.v1.SlotValue decodes alone to what it decodes to inside a request (fieldsWithin). */
function selfContained(buf: Uint8Array): boolean {
  return fieldsWithin(buf, 0, buf.length, SLOT_VALUE);
}

/**
 * Decodes an AcceptRequest (the acceptor's deserializer) and remembers the bytes its values came
 * in (the accept's, and those of the commit notices that carry values, which an acceptor outside
 * the accept fan-out keeps), so storage writes those bytes instead of encoding each value again
 * (when they decode alone to what was read: selfContained).
 */
export function decodeAcceptRequest(buf: Buffer): AcceptRequest {
  const req = AcceptRequest.decode(buf);
  if (req.accept?.value) {
    const accept = soleField(buf, ACCEPT_REQUEST_ACCEPT_FIELD);
    const value = accept ? soleField(accept, ACCEPT_VALUE_FIELD) : undefined;
    if (value && selfContained(value)) receivedBytes.set(req.accept.value, value);
  }
  if (req.commits.some((c) => c.values.length > 0)) {
    // Each occurrence of a repeated message field is its own element, in order: no merging.
    const commits = fieldOccurrences(buf, ACCEPT_REQUEST_COMMITS_FIELD);
    if (commits.length === req.commits.length) {
      req.commits.forEach((commit, i) => {
        if (commit.values.length === 0) return;
        const values = fieldOccurrences(commits[i] as Uint8Array, COMMIT_VALUES_FIELD);
        if (values.length !== commit.values.length) return;
        commit.values.forEach((v, j) => {
          const bytes = values[j] as Uint8Array;
          if (selfContained(bytes)) receivedBytes.set(v, bytes);
        });
      });
    }
  }
  return req;
}

/** Called when a wire value becomes a core value: carries the received bytes over. */
export function carryEncoding(from: WireSlotValue, to: SlotValue): void {
  const bytes = receivedBytes.get(from);
  if (bytes) knownEncodings.set(to, bytes);
}

/** The bytes a value arrived in, when it was decoded from a request. */
export function receivedEncoding(value: SlotValue): Uint8Array | undefined {
  return knownEncodings.get(value);
}
