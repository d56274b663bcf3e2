import { Quorum } from '@paxos/consensus-core';
import { createLogger } from '@paxos/grpc-kit';
import { Verdict } from '@paxos/proto';
import { AgreedState, encodeStateSnapshot } from '@paxos/state-machine';
import { SimAcceptor } from './sim-acceptor';

const logger = createLogger('sim-acceptor-test');
logger.level = 'silent';

/** The agreed state's snapshot at `slot` (no-ops up to it), encoded as a snapshot file holds it. */
function bodyAt(slot: number): Buffer {
  const state = new AgreedState({});
  for (let s = 0; s < slot; s++) state.advance({ slot: BigInt(s), ballot: { round: 1n, proposerId: 1 }, value: { kind: 'noop' } });
  return encodeStateSnapshot(state.snapshot());
}

/** An acceptor restarted on a disk holding state snapshots at 20 (the latest) and 10 (the previous). */
function acceptorWithSnapshots(damaged?: 'latest' | 'previous'): SimAcceptor {
  const a = new SimAcceptor({
    nodeId: 0,
    quorum: Quorum.majority(3),
    proposerIds: new Set([1]),
    storage: { syncDelayMs: () => 1 },
    claimsVerdict: () => ({ verdict: Verdict.VERDICT_TRUE, reason: '' }),
    random: () => 0.5,
    logger,
    stateSnapshotEverySlots: 10,
    historyRetainSlots: 5n,
  });
  a.crash(undefined);
  a.disk.stateSnapshots = { latest: { slot: 20n, body: bodyAt(20) }, previous: { slot: 10n, body: bodyAt(10) } };
  if (damaged !== undefined) a.disk.damageStateSnapshot(damaged);
  a.start();
  return a;
}

describe('an acceptor reports the state snapshot it can give', () => {
  it('names the previous snapshot, once restored from it because the latest is damaged', () => {
    const a = acceptorWithSnapshots('latest');
    expect(a.appliedState()).toMatchObject({ state: expect.objectContaining({ appliedSlot: 10n }) });
    expect(a.stateSnapshot().slot).toBe(10n);
    expect(a.learn(0n, 1).snapshotSlot).toBe(10n);
    a.crash(undefined);
  });

  it('names the previous snapshot once it found the latest damaged under it, as GetStateSnapshot serves it', () => {
    const a = acceptorWithSnapshots();
    expect(a.learn(0n, 1).snapshotSlot).toBe(20n);
    expect(a.stateSnapshot().slot).toBe(20n);
    a.disk.damageStateSnapshot('latest');
    expect(a.stateSnapshot().slot).toBe(10n);
    expect(a.learn(0n, 1).snapshotSlot).toBe(10n);
    a.crash(undefined);
  });

  it('names the latest while only the previous is damaged', () => {
    const a = acceptorWithSnapshots('previous');
    expect(a.stateSnapshot().slot).toBe(20n);
    expect(a.learn(0n, 1).snapshotSlot).toBe(20n);
    a.crash(undefined);
  });

  it('names none when neither file can be given', () => {
    const a = acceptorWithSnapshots('latest');
    a.disk.damageStateSnapshot('previous');
    expect(() => a.stateSnapshot()).toThrow(/no state snapshot to give/);
    expect(a.learn(0n, 1).snapshotSlot).toBe(0n);
    a.crash(undefined);
  });
});
