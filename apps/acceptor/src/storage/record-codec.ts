// Binary encoding of the records in the log and the snapshot (the payload inside a frame).
//
// payload := MAGIC(u8 = 0xA7) TYPE(u8) body
//   CHANGE        flags(u8: 1 promised, 2 accepted, 4 chosen) [ballot] [entry] [entry]
//   SNAP_META     firstSegment(u64) promised(ballot) committedIndex(u64) accepted(u64) chosen(u64)
//   SNAP_ACCEPTED entry
//   SNAP_CHOSEN   entry
//   SNAP_END      accepted(u64) chosen(u64)
// ballot := round(u64) proposerId(u32); entry := slot(u64) ballot valueLength(u32) value
// value  := the protobuf encoding of paxos.v1.SlotValue. All integers little-endian.
import { SlotValue as ProtoSlotValue } from '@paxos/proto';
import { commandFromWire, encodedSlotValue, slotValueToWire } from '@paxos/wire';
import type { AcceptedEntry, Ballot, DurableChange, SlotValue } from './durable-types';
import { RecordDecodeError } from './errors';

export const RECORD_MAGIC = 0xa7;
export const enum RecordType {
  Change = 1,
  SnapMeta = 2,
  SnapAccepted = 3,
  SnapChosen = 4,
  SnapEnd = 5,
}
const MAX_TYPE = 5;
const FLAG_PROMISED = 1;
const FLAG_ACCEPTED = 2;
const FLAG_CHOSEN = 4;
const U64_MAX = (1n << 64n) - 1n;
const BALLOT_BYTES = 12;

/** The core's SlotValue as the wire's paxos.v1.SlotValue (the one mapping, in libs/wire). */
export const toProtoSlotValue = slotValueToWire;

/** The wire's paxos.v1.SlotValue as the core's SlotValue (a value without a kind is an error). */
export function fromProtoSlotValue(value: ProtoSlotValue): SlotValue {
  const kind = value.kind;
  if (kind === undefined) throw new RecordDecodeError('SlotValue has no kind (neither noop nor batch)');
  if (kind.$case === 'noop') return { kind: 'noop' };
  // Copy: the decoded bytes may alias a large file buffer that should not be kept alive.
  const commands = kind.value.commands.map((c) => commandFromWire(c, c.value ? new Uint8Array(c.value.data) : new Uint8Array(0)));
  // The origin is part of the value: an acceptor reports exactly what it accepted.
  const origin = kind.value.origin;
  return origin === undefined ? { kind: 'batch', commands } : { kind: 'batch', commands, origin };
}

function checkU64(what: string, v: bigint): void {
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) throw new RangeError(`${what} must be a bigint in [0, 2^64): ${String(v)}`);
}
function checkBallot(what: string, b: Ballot): void {
  checkU64(`${what}.round`, b.round);
  if (!Number.isInteger(b.proposerId) || b.proposerId < 0 || b.proposerId > 0xffffffff) {
    throw new RangeError(`${what}.proposerId must be a uint32: ${b.proposerId}`);
  }
}

class Out {
  private readonly buf: Buffer;
  private pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  u8(v: number): this {
    this.pos = this.buf.writeUInt8(v, this.pos);
    return this;
  }
  u32(v: number): this {
    this.pos = this.buf.writeUInt32LE(v, this.pos);
    return this;
  }
  u64(v: bigint): this {
    this.pos = this.buf.writeBigUInt64LE(v, this.pos);
    return this;
  }
  ballot(b: Ballot): this {
    return this.u64(b.round).u32(b.proposerId);
  }
  bytes(b: Uint8Array): this {
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  done(): Buffer {
    if (this.pos !== this.buf.length) throw new Error(`record encoder wrote ${this.pos} of ${this.buf.length} bytes`);
    return this.buf;
  }
}

class In {
  private pos = 2;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RecordDecodeError(`record ends early (needs ${n} bytes at ${this.pos} of ${this.buf.length})`);
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.pos++);
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  ballot(): Ballot {
    const round = this.u64();
    return { round, proposerId: this.u32() };
  }
  entry(): AcceptedEntry {
    const slot = this.u64();
    const ballot = this.ballot();
    const len = this.u32();
    this.need(len);
    const bytes = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    let proto: ProtoSlotValue;
    try {
      proto = ProtoSlotValue.decode(bytes);
    } catch (err) {
      throw new RecordDecodeError(`SlotValue does not decode: ${(err as Error).message}`);
    }
    return { slot, ballot, value: fromProtoSlotValue(proto) };
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new RecordDecodeError(`${this.buf.length - this.pos} unexpected bytes after the record`);
  }
}

function encodeValue(what: string, e: { slot: bigint; ballot: Ballot; value: SlotValue }): Uint8Array {
  checkU64(`${what}.slot`, e.slot);
  checkBallot(`${what}.ballot`, e.ballot);
  return encodedSlotValue(e.value);
}
const entrySize = (value: Uint8Array): number => 8 + BALLOT_BYTES + 4 + value.length;
function putEntry(out: Out, e: { slot: bigint; ballot: Ballot }, value: Uint8Array): void {
  out.u64(e.slot).ballot(e.ballot).u32(value.length).bytes(value);
}

export function encodeChange(change: DurableChange): Buffer {
  const { promised, accepted, chosen } = change;
  if (promised === undefined && accepted === undefined && chosen === undefined) {
    throw new Error('a DurableChange must carry promised, accepted or chosen');
  }
  if (promised) checkBallot('promised', promised);
  const acceptedValue = accepted ? encodeValue('accepted', accepted) : undefined;
  const chosenValue = chosen ? encodeValue('chosen', chosen) : undefined;
  const size =
    3 +
    (promised ? BALLOT_BYTES : 0) +
    (acceptedValue ? entrySize(acceptedValue) : 0) +
    (chosenValue ? entrySize(chosenValue) : 0);
  const out = new Out(size).u8(RECORD_MAGIC).u8(RecordType.Change);
  out.u8((promised ? FLAG_PROMISED : 0) | (accepted ? FLAG_ACCEPTED : 0) | (chosen ? FLAG_CHOSEN : 0));
  if (promised) out.ballot(promised);
  if (accepted && acceptedValue) putEntry(out, accepted, acceptedValue);
  if (chosen && chosenValue) putEntry(out, chosen, chosenValue);
  return out.done();
}

export interface SnapshotMeta {
  firstSegment: bigint;
  promised: Ballot;
  committedIndex: bigint;
  acceptedCount: bigint;
  chosenCount: bigint;
}

export function encodeSnapshotMeta(m: SnapshotMeta): Buffer {
  checkU64('firstSegment', m.firstSegment);
  checkBallot('promised', m.promised);
  checkU64('committedIndex', m.committedIndex);
  return new Out(2 + 8 + BALLOT_BYTES + 24)
    .u8(RECORD_MAGIC)
    .u8(RecordType.SnapMeta)
    .u64(m.firstSegment)
    .ballot(m.promised)
    .u64(m.committedIndex)
    .u64(m.acceptedCount)
    .u64(m.chosenCount)
    .done();
}

export function encodeSnapshotEntry(type: RecordType.SnapAccepted | RecordType.SnapChosen, e: AcceptedEntry): Buffer {
  const value = encodeValue(type === RecordType.SnapAccepted ? 'accepted' : 'chosen', e);
  const out = new Out(2 + entrySize(value)).u8(RECORD_MAGIC).u8(type);
  putEntry(out, e, value);
  return out.done();
}

export function encodeSnapshotEnd(acceptedCount: bigint, chosenCount: bigint): Buffer {
  return new Out(2 + 16).u8(RECORD_MAGIC).u8(RecordType.SnapEnd).u64(acceptedCount).u64(chosenCount).done();
}

export type DecodedRecord =
  | { type: RecordType.Change; change: DurableChange }
  | { type: RecordType.SnapMeta; meta: SnapshotMeta }
  | { type: RecordType.SnapAccepted | RecordType.SnapChosen; entry: AcceptedEntry }
  | { type: RecordType.SnapEnd; acceptedCount: bigint; chosenCount: bigint };

/** A cheap plausibility test of a payload's first bytes (used when telling a torn tail from corruption). */
export function looksLikeRecordStart(b0: number, b1: number): boolean {
  return b0 === RECORD_MAGIC && b1 >= 1 && b1 <= MAX_TYPE;
}

export function decodeRecord(payload: Buffer): DecodedRecord {
  if (payload.length < 2 || !looksLikeRecordStart(payload[0], payload[1])) {
    throw new RecordDecodeError(`record does not start with magic 0xa7 and a known type`);
  }
  const r = new In(payload);
  const type = payload[1] as RecordType;
  let rec: DecodedRecord;
  switch (type) {
    case RecordType.Change: {
      const flags = r.u8();
      if (flags === 0 || (flags & ~7) !== 0) throw new RecordDecodeError(`change record has invalid flags ${flags}`);
      const change: { promised?: Ballot; accepted?: AcceptedEntry; chosen?: AcceptedEntry } = {};
      if (flags & FLAG_PROMISED) change.promised = r.ballot();
      if (flags & FLAG_ACCEPTED) change.accepted = r.entry();
      if (flags & FLAG_CHOSEN) change.chosen = r.entry();
      rec = { type, change };
      break;
    }
    case RecordType.SnapMeta:
      rec = {
        type,
        meta: { firstSegment: r.u64(), promised: r.ballot(), committedIndex: r.u64(), acceptedCount: r.u64(), chosenCount: r.u64() },
      };
      break;
    case RecordType.SnapAccepted:
    case RecordType.SnapChosen:
      rec = { type, entry: r.entry() };
      break;
    case RecordType.SnapEnd:
      rec = { type, acceptedCount: r.u64(), chosenCount: r.u64() };
      break;
  }
  r.end();
  return rec;
}
