import type { ChosenEntry } from '@paxos/consensus-core';
import type { ChosenLog } from './chosen-log';
import { learnTarget } from './log-learner';
import { LogReader } from './log-reader';

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
