import type { ChosenEntry } from '@paxos/consensus-core';
import type { ChosenLog } from './chosen-log';
import { LogLearner, learnTarget } from './log-learner';
import { HISTORY_READS_AT_ONCE, HISTORY_READS_WAITING_MAX, HISTORY_READS_WAITING_PER_CLIENT_MAX, LogReader } from './log-reader';
import type { AcceptorLink } from './acceptor-link';
import { status } from '@grpc/grpc-js';

describe('how far a starting proposer learns before it takes client work', () => {
  it('is the highest committed index a quorum reports, not what one acceptor says', () => {
    // 5 acceptors, q = 3: one that reports a slot near 2^62 (damaged, or lying) moves nothing.
    expect(learnTarget([10n, 12n, 11n, 1n << 62n, 9n], 3)).toBe(11n);
    expect(learnTarget([10n, 12n, 11n], 3)).toBe(10n);
    expect(learnTarget([0n, 0n, 0n, 0n, 1n << 62n], 3)).toBe(0n);
  });
});

describe('the proposer\'s ReadLog from the slots it keeps in memory', () => {
  it('answers about maxBytes of values (at least one entry), not every kept slot', async () => {
    const mib = new Uint8Array(1024 * 1024);
    const entry = (slot: bigint): ChosenEntry => ({ slot, ballot: { round: 1n, proposerId: 1 }, value: { kind: 'batch', commands: [{ clientRequestId: `c${slot}`, contentType: 'application/octet-stream', data: mib }] } });
    const kept = { entry: (slot: bigint) => (slot < 64n ? entry(slot) : undefined) } as unknown as ChosenLog;
    const reader = new LogReader([], kept, () => undefined);
    expect((await reader.read(0n, 1024, 4 * 1024 * 1024)).map((e) => e.slot)).toEqual([0n, 1n, 2n]);
    expect(await reader.read(10n, 1024, 1)).toHaveLength(1);
    expect(await reader.read(0n, 1024)).toHaveLength(64);
  });
});

describe("clients' reads of the acceptors' chosen histories", () => {
  it('take turns: a few at once, a bounded number waiting (a share of them per client), RESOURCE_EXHAUSTED beyond', async () => {
    let learning = 0;
    let most = 0;
    const answers: (() => void)[] = [];
    const link = {
      nodeId: 0,
      up: true,
      learn: (from: bigint) =>
        new Promise((resolve) => {
          learning++;
          most = Math.max(most, learning);
          answers.push(() => {
            learning--;
            resolve({ chosen: [{ slot: from, ballot: { round: 1n, proposerId: 1 }, value: { kind: { $case: 'noop', value: {} } } }], committedIndex: from + 1n, oldestKeptSlot: 0n, snapshotSlot: 0n });
          });
        }),
    } as unknown as AcceptorLink;
    const empty = { entry: () => undefined } as unknown as ChosenLog;
    const reader = new LogReader([link], empty, () => undefined);
    const client = (i: number) => ({ key: `client-${i}`, gone: () => false });
    const greedy = client(0);
    const first = Array.from({ length: HISTORY_READS_AT_ONCE + HISTORY_READS_WAITING_PER_CLIENT_MAX }, (_, i) => reader.readForClient(BigInt(i), 1, Infinity, greedy));
    // One client has its share: it is told so, and every other client still finds a place.
    await expect(reader.readForClient(0n, 1, Infinity, greedy)).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED, message: expect.stringContaining('client-0') });
    const others = Array.from({ length: HISTORY_READS_WAITING_MAX - HISTORY_READS_WAITING_PER_CLIENT_MAX }, (_, i) => reader.readForClient(BigInt(first.length + i), 1, Infinity, client(1 + (i % 20))));
    const reads = [...first, ...others];
    await expect(reader.readForClient(0n, 1, Infinity, client(99))).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    // The proposer's own reads do not wait behind clients.
    const own = reader.read(5n, 1);
    for (let i = 0; i < 2000 && answers.length > 0; i++) {
      (answers.shift() as () => void)();
      await new Promise((r) => setImmediate(r));
    }
    expect((await Promise.all(reads)).map((r) => r[0]?.slot)).toEqual(reads.map((_, i) => BigInt(i)));
    expect((await own)[0]?.slot).toBe(5n);
    expect(most).toBe(HISTORY_READS_AT_ONCE + 1);
  });
});

describe("the pace of clients' history reads through the proposer", () => {
  it('waits for the rate of bytes after an overspend, and does not read for a caller that left', async () => {
    let learns = 0;
    const big = Buffer.alloc(40 * 1024 * 1024);
    const link = {
      nodeId: 0,
      up: true,
      learn: async (from: bigint) => {
        learns++;
        const command = { clientRequestId: `c${from}`, value: { contentType: 'application/octet-stream', data: big }, verifiedBy: [] };
        return { chosen: [{ slot: from, ballot: { round: 1n, proposerId: 1 }, value: { kind: { $case: 'batch', value: { commands: [command] } } } }], committedIndex: from + 1n, oldestKeptSlot: 0n, snapshotSlot: 0n };
      },
    } as unknown as AcceptorLink;
    const empty = { entry: () => undefined } as unknown as ChosenLog;
    let clock = 0;
    const slept: number[] = [];
    const reader = new LogReader([link], empty, () => undefined, {
      now: () => clock,
      sleep: async (ms) => {
        slept.push(ms);
        clock += ms;
      },
    });
    const client = { key: 'client-a', gone: () => false };
    for (const slot of [0n, 1n, 2n]) expect((await reader.readForClient(slot, 1, Infinity, client))[0]?.slot).toBe(slot);
    // 64 MiB at once: two reads of 40 MiB go, the third waits for about 16 MiB of refill (250 ms).
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThanOrEqual(250);
    await expect(reader.readForClient(3n, 1, Infinity, { key: 'client-b', gone: () => true })).rejects.toMatchObject({ code: status.CANCELLED });
    expect(learns).toBe(3);
  });
});

/**
 * A learner over acceptors that either answer Learn with two chosen slots from where it asks or
 * never do (`silent`: a paused acceptor; `fails`: its Learn ends at its deadline, here at once),
 * and the committed indexes each reported (what catch-up keeps).
 */
function followingLearner(kinds: ReadonlyArray<'answers' | 'silent' | 'fails'>, reported: Map<number, bigint>) {
  const asked: number[] = [];
  const learnedSlots: bigint[] = [];
  let nextSlot = 0n;
  const noop = (slot: bigint) => ({ slot, ballot: { round: 2n, proposerId: 2 }, value: { kind: { $case: 'noop', value: {} } } });
  const links = kinds.map(
    (kind, nodeId) =>
      ({
        nodeId,
        up: true,
        learn: (from: bigint) => {
          asked.push(nodeId);
          if (kind === 'answers') return Promise.resolve({ chosen: [noop(from), noop(from + 1n)], committedIndex: from + 2n, oldestKeptSlot: 0n, snapshotSlot: 0n });
          return kind === 'fails' ? Promise.reject(new Error('DEADLINE_EXCEEDED')) : new Promise(() => undefined);
        },
      }) as unknown as AcceptorLink,
  );
  const learner = new LogLearner({
    links,
    quorum: { q: 2 } as never,
    chosen: { get nextSlot() { return nextSlot; }, delivered$: { observed: false } } as unknown as ChosenLog,
    reader: {} as never,
    learned: (entries) => {
      for (const e of entries) learnedSlots.push(e.slot);
      nextSlot += BigInt(entries.length);
    },
    // What a silent or failing acceptor reported stays as it was.
    noteCommitted: (nodeId, index) => kinds[nodeId] === 'answers' && reported.set(nodeId, index),
    committedOf: (nodeId) => reported.get(nodeId),
    anyAhead: () => [...reported.values()].some((i) => i > nextSlot),
    installSnapshot: async () => false,
    logger: { info: () => undefined, warn: () => undefined, debug: () => undefined } as never,
  });
  return { learner, asked, learnedSlots, nextSlot: () => nextSlot };
}

describe('a proposer following the log another proposer extends', () => {
  it('learns at once from an acceptor that reported more chosen slots, not from a paused one in turn; nothing when none is ahead', async () => {
    const reported = new Map<number, bigint>();
    const { learner, asked, learnedSlots } = followingLearner(['silent', 'silent', 'answers'], reported);
    learner.learnNow();
    expect(asked).toEqual([]);
    // Acceptor 2's Status (or promise) showed 2 chosen slots: it is asked first, acceptors 0 and 1 not at all.
    reported.set(2, 2n);
    learner.learnNow();
    await new Promise((r) => setImmediate(r));
    expect(asked).toEqual([2]);
    expect(learnedSlots.slice(0, 2)).toEqual([0n, 1n]);
    learner.stop();
  });

  it('passes over an acceptor that reported slots but does not answer (paused), and learns them from another in turn', async () => {
    // Acceptor 0 reported 10 chosen slots, then paused; acceptor 1 holds them, its last report is old.
    const { learner, asked, nextSlot } = followingLearner(['fails', 'answers'], new Map([[0, 10n]]));
    for (let i = 0; i < 20 && nextSlot() < 10n; i++) {
      learner.learnNow();
      await new Promise((r) => setImmediate(r));
    }
    expect(nextSlot()).toBe(10n);
    // Asked once, then passed over while acceptor 1 brought the slots.
    expect(asked.filter((n) => n === 0)).toHaveLength(1);
    learner.stop();
  });
});

describe('a proposer whose next slot the acceptors dropped (--history-retain-slots)', () => {
  it('asks for no snapshot when another learn installed one past the slot while its read was under way', async () => {
    let nextSlot = 0n;
    let failRead: (e: Error) => void = () => undefined;
    const installs: bigint[] = [];
    const warnings: string[] = [];
    const link = {
      nodeId: 0,
      up: true,
      // This acceptor keeps slots from 44 on: the follower turns to the reader.
      learn: () => Promise.resolve({ chosen: [], committedIndex: 200n, oldestKeptSlot: 44n, snapshotSlot: 168n }),
    } as unknown as AcceptorLink;
    const learner = new LogLearner({
      links: [link],
      quorum: { q: 1 } as never,
      chosen: { get nextSlot() { return nextSlot; }, delivered$: { observed: true } } as unknown as ChosenLog,
      reader: { read: () => new Promise((_resolve, reject) => (failRead = reject)) } as never,
      learned: () => undefined,
      noteCommitted: () => undefined,
      committedOf: () => 200n,
      anyAhead: () => true,
      // As StateTransfer does: no acceptor holds a snapshot above the log once it moved to 168.
      installSnapshot: async () => {
        installs.push(nextSlot);
        if (nextSlot >= 168n) throw Object.assign(new Error('no acceptor could give a state snapshot above slot 168 (none holds one)'), { code: status.UNAVAILABLE });
        return true;
      },
      logger: { info: () => undefined, warn: (_o: unknown, m: string) => warnings.push(m), debug: () => undefined } as never,
    });
    learner.pass();
    await new Promise((r) => setImmediate(r));
    // The starting learn installed the snapshot at slot 168 meanwhile; then this read finds slot 0 dropped.
    nextSlot = 168n;
    failRead(Object.assign(new Error('slot 0 is below the chosen history the acceptors retain'), { code: status.OUT_OF_RANGE }));
    await new Promise((r) => setImmediate(r));
    expect(installs).toEqual([]);
    expect(warnings).toEqual([]);
    learner.stop();
  });
});

describe('a starting proposer whose pages of the log miss their deadline', () => {
  it('asks for smaller pages until they come, then larger again, and learns the whole log', async () => {
    let nextSlot = 0n;
    const asked: number[] = [];
    const link = { nodeId: 0, up: true, learn: async () => ({ chosen: [], committedIndex: 3000n, oldestKeptSlot: 0n, snapshotSlot: 0n }) } as unknown as AcceptorLink;
    const learner = new LogLearner({
      links: [link],
      quorum: { q: 1, isQuorum: (n: number) => n >= 1 } as never,
      chosen: { get nextSlot() { return nextSlot; }, delivered$: { observed: false } } as unknown as ChosenLog,
      // A loaded machine: a page above 200 slots misses its deadline at every acceptor.
      reader: {
        read: async (from: bigint, max: number) => {
          asked.push(max);
          if (max > 200) throw Object.assign(new Error('no acceptor could serve the slot (DEADLINE_EXCEEDED)'), { code: status.UNAVAILABLE });
          return Array.from({ length: max }, (_, i) => ({ slot: from + BigInt(i), ballot: { round: 1n, proposerId: 1 }, value: { kind: 'noop' } }));
        },
      } as never,
      learned: (entries) => {
        nextSlot += BigInt(entries.length);
      },
      noteCommitted: () => undefined,
      anyAhead: () => false,
      installSnapshot: async () => false,
      logger: { info: () => undefined, warn: () => undefined, debug: () => undefined } as never,
    });
    await learner.learnBeforeServing();
    learner.stop();
    expect(nextSlot).toBeGreaterThanOrEqual(3000n);
    expect(asked.slice(0, 4)).toEqual([1024, 512, 256, 128]);
    // After 8 pages that came in a row, the next asks for twice as many (and halves again when that fails).
    expect(asked.slice(3, 13)).toEqual([128, 128, 128, 128, 128, 128, 128, 128, 256, 128]);
  });
});
