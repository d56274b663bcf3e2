// Seeded fuzz of the wire conversions: structurally built requests with extreme fields, and random
// or mutated bytes through the generated decoders. Nothing from the network may throw anything but
// a WireError, and a value's kept bytes must decode alone to the value read.
// FUZZ_SEED=<n> replays one seed; FUZZ_ITERATIONS sets the count per seed.
import { SeededRandom, type SlotValue as CoreSlotValue } from '@paxos/consensus-core';
import { AcceptRequest, PrepareRequest, SlotValue as WireSlotValue, type Ballot as WireBallot, type Commit, type SlotValue } from '@paxos/proto';
import { acceptRequestFromWire, acceptedEntryFromWire, decodeAcceptRequest, encodedSlotValue, prepareFromWire, slotValueFromWire, slotValueToWire, WireError } from './index';

const toWireShape = (v: CoreSlotValue): SlotValue => slotValueToWire(v);

const SEEDS = process.env['FUZZ_SEED'] ? [Number(process.env['FUZZ_SEED'])] : [1, 2, 3, 20261206];
const ITERATIONS = Number(process.env['FUZZ_ITERATIONS'] ?? 1000);

const U64 = [0n, 1n, 2n, 63n, 64n, 4095n, 4096n, 4097n, (1n << 31n) - 1n, 1n << 32n, 1n << 53n, (1n << 53n) + 1n, 1n << 62n, (1n << 62n) + 1n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 2n, (1n << 64n) - 1n];
const U32 = [0, 1, 2, 16, 22, 23, 0x7fffffff, 0x80000000, 0xffffffff];

class Gen {
  constructor(readonly r: SeededRandom) {}
  pick<T>(xs: readonly T[]): T {
    return xs[this.r.int(0, xs.length)] as T;
  }
  u64(): bigint {
    return this.r.chance(0.7) ? this.pick(U64) : BigInt(this.r.int(0, 5000));
  }
  u32(): number {
    return this.r.chance(0.6) ? this.pick(U32) : this.r.int(0, 40);
  }
  str(): string {
    const kinds = ['', 'a', 'x'.repeat(300), '\uD800', 'a\uDFFFb', '\uFFFD', '😀', '\u0000', 'text/plain', 'x'.repeat(this.r.int(0, 500))];
    return this.pick(kinds);
  }
  bytes(): Buffer {
    const n = this.r.chance(0.02) ? 70_000 : this.pick([0, 1, 7, 100, 5000]);
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i += 97) b[i] = this.r.int(0, 256);
    return b;
  }
  ballot(): WireBallot | undefined {
    return this.r.chance(0.1) ? undefined : { round: this.u64(), proposerId: this.u32() };
  }
  value(): SlotValue | undefined {
    const c = this.r.int(0, 10);
    if (c === 0) return undefined;
    if (c === 1) return { kind: undefined };
    if (c <= 3) return { kind: { $case: 'noop', value: {} } };
    const n = this.r.chance(0.01) ? 300 : this.pick([0, 1, 2, 3, 20]);
    const commands = Array.from({ length: n }, () => ({
      clientRequestId: this.str(),
      ...(this.r.chance(0.9) ? { value: { contentType: this.str(), data: this.bytes() } } : {}),
      verifiedBy: Array.from({ length: this.r.chance(0.01) ? 2000 : this.pick([0, 1, 5]) }, () => this.u32()),
    }));
    return { kind: { $case: 'batch', value: { commands, ...(this.r.chance(0.3) ? { origin: this.u64() } : {}) } } };
  }
  commit(): Commit {
    const from = this.u64();
    const span = this.pick([0n, 1n, 2n, 3n, 4096n, 4097n, 1n << 40n]);
    const to = this.r.chance(0.2) ? this.u64() : BigInt.asUintN(64, from + span);
    const withValues = this.r.chance(0.3) && to > from && to - from <= 8n;
    return { ballot: this.ballot(), fromSlot: from, toSlot: to, values: withValues ? Array.from({ length: Number(to - from) }, () => this.value() ?? { kind: undefined }) : this.r.chance(0.1) ? [this.value() ?? { kind: undefined }] : [] };
  }
  acceptRequest(): AcceptRequest {
    const value = this.value();
    return {
      requestId: this.u64(),
      ...(this.r.chance(0.8) ? { accept: { ballot: this.ballot(), slot: this.u64(), ...(value ? { value } : {}) } } : {}),
      commits: Array.from({ length: this.r.chance(0.01) ? 5000 : this.pick([0, 0, 1, 2, 3]) }, () => this.commit()),
      quorumCommittedIndex: this.u64(),
    };
  }
  mutate(buf: Uint8Array): Uint8Array {
    const out = Buffer.from(buf);
    const kind = this.r.int(0, 4);
    if (kind === 0 && out.length > 0) out[this.r.int(0, out.length)] ^= 1 << this.r.int(0, 8);
    if (kind === 1) return out.subarray(0, this.r.int(0, out.length + 1));
    if (kind === 2 && out.length > 0) out[this.r.int(0, out.length)] = this.r.int(0, 256);
    if (kind === 3) {
      const junk = Buffer.alloc(this.r.int(1, 16));
      for (let i = 0; i < junk.length; i++) junk[i] = this.r.int(0, 256);
      const at = this.r.int(0, out.length + 1);
      return Buffer.concat([out.subarray(0, at), junk, out.subarray(at)]);
    }
    return out;
  }
}

/** Runs `f`; anything but a WireError fails the spec with the seed and the input's shape. */
function onlyWireErrors(seed: number, i: number, shape: () => string, f: () => void): void {
  try {
    f();
  } catch (e) {
    if (e instanceof WireError) return;
    throw new Error(`seed ${seed} iteration ${i}: ${(e as Error).name}: ${(e as Error).message}\ninput: ${shape().slice(0, 2000)}`);
  }
}

const shapeOf = (x: unknown) => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `<${v.length} bytes>` : typeof v === 'string' && v.length > 40 ? `<${v.length} chars>` : v));

describe('wire conversions under hostile input (seeded)', () => {
  it.each(SEEDS)('structural requests with extreme fields: only WireError (seed %i)', (seed) => {
    const g = new Gen(new SeededRandom(seed));
    for (let i = 0; i < ITERATIONS / 20; i++) {
      const req = g.acceptRequest();
      onlyWireErrors(seed, i, () => shapeOf(req), () => void acceptRequestFromWire(req));
      // Through the bytes too: what the acceptor's deserializer gives.
      const bytes = Buffer.from(AcceptRequest.encode(req).finish());
      onlyWireErrors(seed, i, () => shapeOf(req), () => void acceptRequestFromWire(decodeAcceptRequest(bytes)));
      const prep: PrepareRequest = { requestId: g.u64(), ...(g.r.chance(0.9) ? { ballot: g.ballot() } : {}), fromSlot: g.u64() };
      onlyWireErrors(seed, i, () => shapeOf(prep), () => void prepareFromWire(PrepareRequest.decode(PrepareRequest.encode(prep).finish())));
      const entry = { slot: g.u64(), ballot: g.ballot(), value: g.value() };
      onlyWireErrors(seed, i, () => shapeOf(entry), () => void acceptedEntryFromWire(entry));
    }
  });

  it.each(SEEDS)('random and mutated bytes that decode: only WireError, and kept bytes decode alone to the value read (seed %i)', (seed) => {
    const g = new Gen(new SeededRandom(seed));
    for (let i = 0; i < ITERATIONS; i++) {
      let buf: Uint8Array;
      if (g.r.chance(0.2)) {
        buf = new Uint8Array(g.r.int(0, 64));
        for (let j = 0; j < buf.length; j++) buf[j] = g.r.int(0, 256);
      } else {
        const small = { requestId: g.u64(), accept: { ballot: { round: 1n, proposerId: 1 }, slot: 3n, value: g.r.chance(0.5) ? { kind: { $case: 'noop' as const, value: {} } } : { kind: { $case: 'batch' as const, value: { commands: [{ clientRequestId: 'id', value: { contentType: 't', data: Buffer.from([1, 2, 3]) }, verifiedBy: [1, 300] }], origin: 5n } } } }, commits: [{ ballot: { round: 2n, proposerId: 1 }, fromSlot: 0n, toSlot: 1n, values: [{ kind: { $case: 'noop' as const, value: {} } }] }], quorumCommittedIndex: 0n };
        buf = AcceptRequest.encode(small).finish();
        for (let m = g.r.int(1, 4); m > 0; m--) buf = g.mutate(buf);
      }
      const hex = () => Buffer.from(buf).toString('hex');
      let req: AcceptRequest;
      try {
        req = decodeAcceptRequest(Buffer.from(buf));
      } catch {
        continue; // not protobuf: grpc-kit's rejectUndecodable answers INVALID_ARGUMENT before any handler
      }
      onlyWireErrors(seed, i, hex, () => {
        const core = acceptRequestFromWire(req);
        const values = [...(core.request?.type === 'accept' ? [core.request.value] : []), ...core.notices.flatMap((n) => (n.type === 'commit' && n.value ? [n.value] : []))];
        for (const v of values) {
          const kept = encodedSlotValue(v);
          const again = slotValueFromWire(WireSlotValue.decode(kept));
          const a = shapeOf(WireSlotValue.toJSON(WireSlotValue.decode(WireSlotValue.encode(WireSlotValue.fromPartial(toWireShape(v))).finish())));
          const b = shapeOf(WireSlotValue.toJSON(WireSlotValue.fromPartial(toWireShape(again))));
          if (a !== b) throw new Error(`kept bytes decode to another value: read ${a}, kept ${b}`);
        }
      });
    }
  });
});
