// Chosen values the chosen history holds leave the core's memory once a few MiB of them have
// passed, not only every 64 slots: by the count alone an acceptor kept up to 64 slots of values of
// up to 1 MiB each (and the bytes each arrived in) that its history already held.
import { AcceptorCore, Quorum, type SlotValue } from '@paxos/consensus-core';
import { pino } from 'pino';
import { AcceptorNode } from './acceptor-node';
import { MemoryDisk, MemoryStorage } from './memory-storage';

const ballot = { round: 3n, proposerId: 1 };
const large = (slot: bigint): SlotValue => ({ kind: 'batch', commands: [{ clientRequestId: `v${slot}`, contentType: 't', data: new Uint8Array(1024 * 1024 - 4096).fill(Number(slot)) }] });

describe('an acceptor taking large values', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('keeps in memory no more than a few MiB of chosen values its history holds', async () => {
    const core = new AcceptorCore();
    const node = new AcceptorNode(core, new MemoryStorage(new MemoryDisk(), { syncDelayMs: () => 1 }), {
      nodeId: 0,
      quorum: Quorum.majority(3),
      proposerIds: new Set([1]),
      checkpointEveryRecords: 1000,
      logger: pino({ level: 'silent' }),
      onStorageFailure: () => undefined,
      onStorageRecovered: () => undefined,
      random: () => 0.5,
    });
    await Promise.all([node.handle({ type: 'prepare', ballot, fromSlot: 0n }), jest.advanceTimersByTimeAsync(5)]);
    const slots = 16n;
    for (let s = 0n; s < slots; s++) {
      const accepted = node.handle({ type: 'accept', ballot, slot: s, value: large(s) });
      await jest.advanceTimersByTimeAsync(5);
      expect((await accepted).type).toBe('accepted');
      await node.handle(undefined, [{ type: 'commit', ballot, slot: s }]);
    }
    expect(core.committedIndex).toBe(slots);
    const held = [...Array(Number(slots)).keys()].map(BigInt).filter((s) => core.chosenAt(s) !== undefined || (core.acceptedAt(s) !== undefined && s !== slots - 1n));
    // 8 MiB at most between folds: the slots of the last fold's span, never all of them.
    expect(held.length).toBeLessThanOrEqual(8);
    expect(held).not.toContain(0n);
  });
});
