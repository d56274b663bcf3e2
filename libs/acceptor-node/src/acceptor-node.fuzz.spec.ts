// Seeded fuzz of an acceptor node over memory storage: hostile Prepare and Accept requests (through
// the wire conversions), crashes with power loss, restarts. Checks: only typed errors (WireError,
// GrpcError) come back, every reply settles, the promise never goes down, and every promise and
// vote it answered with is still there after a restart from its storage.
// FUZZ_SEED=<n> replays one seed; FUZZ_STEPS sets the steps per seed.
import { AcceptorCore, type AcceptorReply, type Ballot, type AcceptorRequest, Quorum, SeededRandom, compareBallots, formatBallot } from '@paxos/consensus-core';
import { GrpcError } from '@paxos/grpc-kit';
import type { AcceptRequest, Ballot as WireBallot, PrepareRequest, SlotValue } from '@paxos/proto';
import { WireError, acceptRequestFromWire, prepareFromWire } from '@paxos/wire';
import { pino } from 'pino';
import { AcceptorNode } from './acceptor-node';
import { joinChosenHistory } from './join-history';
import { MemoryDisk, MemoryStorage } from './memory-storage';

const SEEDS = process.env['FUZZ_SEED'] ? [Number(process.env['FUZZ_SEED'])] : [1, 2, 3, 4, 5, 6];
const STEPS = Number(process.env['FUZZ_STEPS'] ?? 400);
const logger = pino({ level: 'silent' });

function start(disk: MemoryDisk, r: SeededRandom) {
  const storage = new MemoryStorage(disk, { syncDelayMs: () => r.int(0, 6), writeFault: () => (r.chance(0.02) ? 'EIO: fdatasync failed' : undefined), repairMs: 30 });
  const { snapshot, changes } = storage.recovered();
  const core = new AcceptorCore(snapshot ? { restored: snapshot } : {});
  for (const c of changes) core.apply(c);
  joinChosenHistory(core, storage.history, logger);
  const node = new AcceptorNode(core, storage, {
    nodeId: 0,
    quorum: Quorum.majority(3),
    proposerIds: new Set([1, 2]),
    checkpointEveryRecords: 8,
    logger,
    onStorageFailure: () => undefined,
    onStorageRecovered: () => undefined,
    random: () => r.next(),
  });
  return { node, storage, core };
}

const ROUNDS = [0n, 1n, 2n, 3n, 5n, 8n, 13n, (1n << 62n) - 1n, 1n << 62n, (1n << 62n) + 1n, (1n << 64n) - 1n];
const SLOTS = [0n, 1n, 2n, 3n, 4n, 5n, 63n, 64n, 65n, 1000n, (1n << 20n) - 1n, 1n << 20n, 1n << 62n, (1n << 62n) + 1n, (1n << 64n) - 1n];

class Gen {
  /** Honest rounds climb with the steps; an extreme one is rare, or every later request is only rejected. */
  base = 1;
  constructor(readonly r: SeededRandom) {}
  pick<T>(xs: readonly T[]): T {
    return xs[this.r.int(0, xs.length)] as T;
  }
  ballot(): WireBallot | undefined {
    if (this.r.chance(0.03)) return undefined;
    return { round: this.r.chance(0.97) ? BigInt(this.base + this.r.int(-2, 3)) : this.pick(ROUNDS), proposerId: this.pick([1, 1, 1, 2, 2, 0, 3, 0xffffffff]) };
  }
  slot(): bigint {
    return this.r.chance(0.85) ? BigInt(this.r.int(0, 12)) : this.pick(SLOTS);
  }
  value(): SlotValue | undefined {
    const c = this.r.int(0, 12);
    if (c === 0) return undefined;
    if (c === 1) return { kind: undefined };
    if (c === 2) return { kind: { $case: 'noop', value: {} } };
    const commands = Array.from({ length: this.pick([1, 1, 1, 2, 0]) }, () => ({
      clientRequestId: this.pick(['a', 'b', 'c', '', '\uD800', 'x'.repeat(3000)]),
      value: { contentType: this.pick(['t', '']), data: Buffer.alloc(this.pick([0, 1, 3, 1 << 20])) },
      verifiedBy: this.r.chance(0.05) ? Array.from({ length: 1025 }, (_, i) => i) : [],
    }));
    return { kind: { $case: 'batch', value: { commands } } };
  }
  prepare(): PrepareRequest {
    const b = this.ballot();
    return { requestId: 1n, ...(b ? { ballot: b } : {}), fromSlot: this.slot() };
  }
  accept(): AcceptRequest {
    const v = this.value();
    const commits = this.r.chance(0.3)
      ? Array.from({ length: this.r.int(1, 3) }, () => {
          const from = this.slot();
          const to = this.r.chance(0.1) ? this.slot() : from + BigInt(this.r.int(1, 4));
          const values = this.r.chance(0.5) && to > from && to - from < 8n ? Array.from({ length: Number(to - from) }, () => this.value() ?? { kind: { $case: 'noop' as const, value: {} } }) : [];
          return { ballot: this.ballot(), fromSlot: from, toSlot: to, values };
        })
      : [];
    const withAccept = commits.length === 0 || this.r.chance(0.6);
    const b = this.ballot();
    return { requestId: 1n, ...(withAccept ? { accept: { ...(b ? { ballot: b } : {}), slot: this.slot(), ...(v ? { value: v } : {}) } } : {}), commits, quorumCommittedIndex: 0n };
  }
}

const typed = (e: unknown) => e instanceof GrpcError || e instanceof WireError;

describe('AcceptorNode under hostile requests, crashes and restarts (seeded)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it.each(SEEDS)('keeps every promise and vote it answered with, only typed errors (seed %i)', async (seed) => {
    const r = new SeededRandom(seed);
    const g = new Gen(r);
    const disk = new MemoryDisk();
    let { node, storage } = start(disk, r);
    let promisedFloor: Ballot = { round: 0n, proposerId: 0 };
    const votes = new Map<bigint, Ballot>();
    const fail = (step: number, what: string) => {
      throw new Error(`seed ${seed} step ${step}: ${what}`);
    };
    const problems: string[] = [];
    const answered: Record<string, number> = {};
    let pending: Array<{ settled: boolean; what: string }> = [];
    for (let step = 0; step < STEPS; step++) {
      const c = r.int(0, 20);
      g.base = 1 + Math.floor(step / 8);
      if (c === 0) {
        // kill -9 and power loss: a new incarnation recovers from the disk.
        node.stop();
        storage.crash();
        disk.powerLoss((n) => r.int(0, n + 1));
        pending = [];
        ({ node, storage } = start(disk, r));
        if (compareBallots(node.core.promised, promisedFloor) < 0) fail(step, `restart lost a promise: ${formatBallot(node.core.promised)} < answered ${formatBallot(promisedFloor)}`);
        for (const [slot, b] of votes) {
          const e = node.core.acceptedAt(slot);
          if (slot >= node.core.committedIndex && (e === undefined || compareBallots(e.ballot, b) < 0)) fail(step, `restart lost the vote at slot ${slot} ballot ${formatBallot(b)} (holds ${e ? formatBallot(e.ballot) : 'none'})`);
        }
        continue;
      }
      if (c <= 3) {
        await jest.advanceTimersByTimeAsync(r.int(0, 40));
        if (problems.length > 0) fail(step, problems.join('; '));
        continue;
      }
      let request: AcceptorRequest | undefined;
      let notices: readonly AcceptorRequest[] = [];
      const wire = c <= 9 ? g.prepare() : g.accept();
      try {
        if ('fromSlot' in wire) request = prepareFromWire(wire);
        else ({ request, notices } = acceptRequestFromWire(wire));
      } catch (e) {
        if (!typed(e)) fail(step, `conversion threw ${(e as Error).name}: ${(e as Error).message}`);
        continue;
      }
      const before = node.core.promised;
      const entry = { settled: false, what: `${request?.type ?? 'notices'} ${request?.ballot ? formatBallot(request.ballot) : ''}` };
      pending.push(entry);
      const incarnation = node;
      node.handle(request, notices).then(
        (reply: AcceptorReply) => {
          entry.settled = true;
          if (incarnation !== node) return;
          answered[reply.type] = (answered[reply.type] ?? 0) + 1;
          if (reply.type === 'promise' && compareBallots(reply.ballot, promisedFloor) > 0) promisedFloor = reply.ballot;
          if (reply.type === 'accepted') {
            if (compareBallots(reply.ballot, promisedFloor) > 0) promisedFloor = reply.ballot;
            const had = votes.get(reply.slot);
            if (had === undefined || compareBallots(reply.ballot, had) > 0) votes.set(reply.slot, reply.ballot);
          }
        },
        (e: unknown) => {
          entry.settled = true;
          if (!typed(e)) problems.push(`step ${step}: handle rejected with ${(e as Error).name}: ${(e as Error).message} (${entry.what})`);
        },
      );
      if (problems.length > 0) fail(step, problems.join('; '));
      if (compareBallots(node.core.promised, before) < 0) fail(step, `the promise went down from ${formatBallot(before)} to ${formatBallot(node.core.promised)}`);
    }
    await jest.advanceTimersByTimeAsync(5000);
    if (problems.length > 0) fail(STEPS, problems.join('; '));
    const stuck = pending.filter((p) => !p.settled);
    if (stuck.length > 0) fail(STEPS, `${stuck.length} replies never settled, first: ${stuck[0]?.what}`);
    node.stop();
    // The run exercised voting, not only refusals.
    if (process.env['FUZZ_VERBOSE']) console.log(seed, answered, votes.size);
    expect(answered['promise'] ?? 0).toBeGreaterThan(0);
    expect(answered['accepted'] ?? 0).toBeGreaterThan(0);
  });
});
