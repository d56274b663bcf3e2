import { status } from '@grpc/grpc-js';
import { type ChosenEntry, Quorum } from '@paxos/consensus-core';
import { createLogger } from '@paxos/grpc-kit';
import type { LearnResponse } from '@paxos/proto';
import type { StateSnapshotBytes } from '@paxos/read-service';
import { AgreedState, encodeStateSnapshot } from '@paxos/state-machine';
import type { AcceptorLink } from './acceptor-link';
import { ChosenLog } from './chosen-log';
import { StateTransfer } from './state-transfer';

const ballot = { round: 1n, proposerId: 1 };
const digest = () => 'd';
const entry = (slot: number): ChosenEntry => ({
  slot: BigInt(slot),
  ballot,
  value: { kind: 'batch', commands: [{ clientRequestId: `c${slot}`, contentType: 'text/plain', data: new Uint8Array(8) }] },
});

/** The agreed state after slots [0, slots) as a snapshot's bytes. */
function snapshotAt(slots: number, sessionIdsMax?: number): StateSnapshotBytes {
  const log = new ChosenLog({ retainedSlotsMax: 16, retainedBytesMax: 1 << 20, state: new AgreedState(sessionIdsMax === undefined ? { digest } : { digest, sessionIdsMax }) });
  log.learn(Array.from({ length: slots }, (_, i) => entry(i)));
  return { slot: BigInt(slots), body: encodeStateSnapshot(log.state.snapshot()) };
}

/** An acceptor reporting `committedIndex` and holding `snapshot`; counts the snapshots fetched from it. `rejoining`: it lost its data. */
function holder(nodeId: number, committedIndex: bigint, snapshot: StateSnapshotBytes, rejoining = false) {
  const fetched = { count: 0 };
  const link = {
    nodeId,
    up: true,
    learn: async (): Promise<LearnResponse> => ({ chosen: [], committedIndex, oldestKeptSlot: snapshot.slot, snapshotSlot: snapshot.slot }),
    status: async () => ({ nodeId, committedIndex, rejoining }),
    stateSnapshot: async () => {
      fetched.count++;
      return snapshot;
    },
  };
  return { link: link as unknown as AcceptorLink, fetched };
}

describe('StateTransfer', () => {
  it('passes over a snapshot this build cannot read, for the next holder, rather than keep offering it', async () => {
    const good = snapshotAt(40);
    // Same slot range, but bytes of a format this build does not know (a newer build's, say).
    const unreadable = { slot: 50n, body: Buffer.from('not a snapshot this build reads') };
    const a = holder(0, 60n, unreadable);
    const b = holder(1, 60n, good);
    const c = holder(2, 60n, good);
    const chosen = new ChosenLog({ retainedSlotsMax: 16, retainedBytesMax: 1 << 20, state: new AgreedState({ digest }) });
    const installed: bigint[] = [];
    const transfer = new StateTransfer({
      links: [a.link, b.link, c.link],
      quorum: new Quorum(3),
      chosen,
      restore: (s) => new AgreedState({ digest }, s),
      installed: (slot) => installed.push(slot),
      ballot: () => ballot,
      logger: createLogger('state-transfer-test'),
    });
    await expect(transfer.installHere()).resolves.toBe(true);
    expect(installed).toEqual([40n]);
    expect(chosen.nextSlot).toBe(40n);
    expect(a.fetched.count).toBe(1);
  });

  it('passes over a snapshot that decodes but that this network cannot continue from (sessions of another bound)', async () => {
    const good = snapshotAt(40);
    // An older build's sessions remembered 1,000,000 ids: it decodes, and restoring it is refused.
    const otherBound = snapshotAt(50, 1_000_000);
    const a = holder(0, 60n, otherBound);
    const b = holder(1, 60n, good);
    const c = holder(2, 60n, good);
    const chosen = new ChosenLog({ retainedSlotsMax: 16, retainedBytesMax: 1 << 20, state: new AgreedState({ digest }) });
    const transfer = new StateTransfer({
      links: [a.link, b.link, c.link],
      quorum: new Quorum(3),
      chosen,
      restore: (s) => new AgreedState({ digest }, s),
      installed: () => undefined,
      ballot: () => ballot,
      logger: createLogger('state-transfer-test'),
    });
    await expect(transfer.installHere()).resolves.toBe(true);
    expect(chosen.nextSlot).toBe(40n);
    expect(b.fetched.count + c.fetched.count).toBe(1);
  });

  it("takes one acceptor's own snapshot when no two vouch for one above the slot, once a quorum answered and acceptors lost their data", async () => {
    // Of five acceptors, two that vouched for the snapshot at 56 lost their disks (one rejoins,
    // one is down here): the others are at 34, and slots 34.. survive only in acceptor 0's snapshot.
    const ahead = holder(0, 56n, snapshotAt(56));
    const behind = [holder(1, 34n, snapshotAt(34)), holder(2, 34n, snapshotAt(34), true)];
    const transferOver = (links: AcceptorLink[], chosen: ChosenLog) =>
      new StateTransfer({ links, quorum: new Quorum(5), chosen, restore: (s) => new AgreedState({ digest }, s), installed: () => undefined, ballot: () => ballot, logger: createLogger('state-transfer-test') });
    const at34 = () => {
      const chosen = new ChosenLog({ retainedSlotsMax: 64, retainedBytesMax: 1 << 20, state: new AgreedState({ digest }) });
      chosen.learn(Array.from({ length: 34 }, (_, i) => entry(i)));
      return chosen;
    };
    const down = (nodeId: number) => ({ nodeId, up: false }) as unknown as AcceptorLink;
    const chosen = at34();
    await expect(transferOver([ahead.link, ...behind.map((b) => b.link), down(3), down(4)], chosen).installHere()).resolves.toBe(true);
    expect(chosen.nextSlot).toBe(56n);
    // Fewer than a quorum answered: the others may hold more; nothing is taken on one word.
    const alone = at34();
    await expect(transferOver([ahead.link, behind[0]?.link as AcceptorLink, down(2), down(3), down(4)], alone).installHere()).rejects.toMatchObject({ code: status.UNAVAILABLE });
    expect(alone.nextSlot).toBe(34n);
    // No acceptor lost its data: one acceptor far ahead alone (damaged, or given a forged snapshot
    // on a plaintext network) moves no proposer, with every acceptor answering.
    const healthy = at34();
    const far = holder(0, 1000n, snapshotAt(60));
    const others = [1, 2, 3, 4].map((id) => holder(id, 34n, snapshotAt(34)).link);
    await expect(transferOver([far.link, ...others], healthy).installHere()).rejects.toMatchObject({ code: status.UNAVAILABLE });
    expect([healthy.nextSlot, far.fetched.count]).toEqual([34n, 0]);
  });
});
