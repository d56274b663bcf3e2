import type { SlotValue } from '@paxos/consensus-core';
import { AcceptRequest, type SlotValue as WireSlotValue } from '@paxos/proto';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

/** Field numbers of paxos.v1.AcceptRequest.accept and paxos.v1.Accept.value. */
const ACCEPT_REQUEST_ACCEPT_FIELD = 2;
const ACCEPT_VALUE_FIELD = 3;

/** Wire values decoded from a request, with the bytes they were decoded from. */
const receivedBytes = new WeakMap<WireSlotValue, Uint8Array>();
/** Core values whose protobuf encoding is already known. */
const knownEncodings = new WeakMap<SlotValue, Uint8Array>();

/**
 * The bytes of the single `value` field inside an encoded Accept, a view into `buf`; undefined
 * when it is absent or appears more than once (then the decoder merged parts: encode afresh).
 */
function soleField(buf: Uint8Array, field: number): Uint8Array | undefined {
  const r = new BinaryReader(buf);
  let found: Uint8Array | undefined;
  // Bounded: every iteration consumes at least the tag.
  while (r.pos < r.len) {
    const [no, type] = r.tag();
    if (no === field && type === WireType.LengthDelimited) {
      if (found) return undefined;
      found = r.bytes();
    } else r.skip(type, no);
  }
  return found;
}

/**
 * Decodes an AcceptRequest (the acceptor's deserializer) and remembers the bytes its value came
 * in, so storage writes those bytes instead of encoding the value again.
 */
export function decodeAcceptRequest(buf: Buffer): AcceptRequest {
  const req = AcceptRequest.decode(buf);
  if (req.accept?.value) {
    const accept = soleField(buf, ACCEPT_REQUEST_ACCEPT_FIELD);
    const value = accept ? soleField(accept, ACCEPT_VALUE_FIELD) : undefined;
    if (value) receivedBytes.set(req.accept.value, value);
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
