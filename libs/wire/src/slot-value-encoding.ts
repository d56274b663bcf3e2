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

/** The message fields of paxos.v1.SlotValue and of the messages in it (and a packed field, 'varints'), by field number. */
const NESTED: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  SlotValue: { 1: 'Noop', 2: 'CommandBatch' },
  CommandBatch: { 1: 'Command' },
  Command: { 2: 'Value', 3: 'varints' },
};

/**
 * Whether every field of the encoded message, and of each message in it, lies within that
 * message's own bytes. Decoded inside a request, a field whose length runs past its message
 * takes the bytes after it (the request's next fields): the value read is not what its bytes
 * alone decode to, or they do not decode at all. Such bytes are never stored (a vote log or
 * history record no acceptor could read back); the value read is encoded afresh instead.
 */
function selfContained(buf: Uint8Array, type = 'SlotValue'): boolean {
  const r = new BinaryReader(buf);
  try {
    // Bounded: every iteration consumes at least the tag; messages nest three deep.
    while (r.pos < r.len) {
      if (type === 'varints') {
        r.skip(WireType.Varint); // the last one must end within the field too
        continue;
      }
      const [no, wireType] = r.tag();
      const inner = NESTED[type]?.[no];
      if (inner !== undefined && wireType === WireType.LengthDelimited) {
        if (!selfContained(r.bytes(), inner)) return false;
      } else r.skip(wireType, no);
    }
    return true;
  } catch {
    return false;
  }
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
