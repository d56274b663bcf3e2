import type { Logger } from '@paxos/grpc-kit';
import type { ChosenHistoryStore } from './node-storage';

/**
 * Drops chosen history under --history-retain-slots once a state snapshot was made durable (at
 * the slot the state was applied to, `latest`). Only slots that both it and the previous snapshot
 * cover go (so one damaged snapshot file never leaves the state unrecoverable), never the newest
 * `retainSlots` slots, and never a slot at or above the quorum's committed index the proposers
 * report: an acceptor behind the quorum learns the slots it lacks from the acceptors ahead (or a
 * snapshot at or below that index, the only kind a proposer installs), so those must not all drop
 * them by their own progress. Whole segments go (ChosenHistoryStore.dropBelow). Without the flag
 * every slot is kept.
 */
export class HistoryRetention {
  private snapshots: { readonly latest: bigint; readonly previous: bigint } | undefined;
  /** The highest quorum committed index a proposer reported (0 until one does: nothing is dropped). */
  private quorumCommitted = 0n;
  /** The last drop stopped at the quorum's committed index short of where the snapshots allow. */
  private held = false;
  private dropScheduled = false;

  constructor(
    private readonly history: ChosenHistoryStore,
    private readonly retainSlots: bigint | undefined,
    private readonly logger: Logger,
  ) {}

  /** A state snapshot at `latest` is durable; `previous` is the one before it, if any. */
  snapshotWritten(latest: bigint, previous: bigint | undefined): void {
    if (this.retainSlots === undefined || previous === undefined) return;
    this.snapshots = { latest, previous };
    this.drop();
  }

  /** The highest quorum committed index a proposer reported (metrics). */
  get quorumCommittedIndex(): bigint {
    return this.quorumCommitted;
  }

  /**
   * A proposer's report of the quorum's committed index, on every accept request: a comparison;
   * when it moves past where the last drop was held, the drop goes on after the request (files
   * removed off the voting path, and a failure there is the history's, not the request's).
   */
  quorumCommittedIs(index: bigint): void {
    if (index <= this.quorumCommitted) return;
    this.quorumCommitted = index;
    if (!this.held || this.dropScheduled) return;
    this.dropScheduled = true;
    setImmediate(() => {
      this.dropScheduled = false;
      this.drop();
    });
  }

  private drop(): void {
    try {
      this.dropBelowSnapshots();
    } catch (err) {
      // The history stays as it was, or shorter by whole segments; the next snapshot tries again.
      this.logger.error({ err }, 'dropping chosen history below the state snapshots failed');
    }
  }

  private dropBelowSnapshots(): void {
    const s = this.snapshots;
    if (this.retainSlots === undefined || s === undefined) return;
    const end = this.history.endSlot;
    const newest = end > this.retainSlots ? end - this.retainSlots : 0n;
    let keepFrom = s.previous < newest ? s.previous : newest;
    if (s.latest < keepFrom) keepFrom = s.latest;
    this.held = this.quorumCommitted < keepFrom;
    if (this.held) keepFrom = this.quorumCommitted;
    const before = this.history.firstSlot;
    if (keepFrom <= before) return;
    const first = this.history.dropBelow(keepFrom);
    if (first > before) {
      this.logger.info(
        { droppedBelow: first.toString(), from: before.toString(), retainSlots: this.retainSlots.toString(), quorumCommittedIndex: this.quorumCommitted.toString() },
        'chosen history dropped below the state snapshots',
      );
    }
  }
}
