import type { Logger } from '@paxos/grpc-kit';
import type { KeptStateSnapshots } from './kept-state-snapshots';
import type { ChosenHistoryStore } from './node-storage';

/**
 * Drops chosen history under --history-retain-slots once a state snapshot was made durable. Only
 * slots that both kept snapshot files cover go, while both were last seen whole
 * (KeptStateSnapshots.coveredBelow: so one damaged snapshot file never leaves the state
 * unrecoverable, and no slot goes that is not below the snapshot this node gives), never the newest
 * `retainSlots` slots, and never a slot at or above the quorum's committed index the proposers
 * report: an acceptor behind the quorum learns the slots it lacks from the acceptors ahead (or a
 * snapshot at or below that index, the only kind a proposer installs), so those must not all drop
 * them by their own progress. Whole segments go (ChosenHistoryStore.dropBelow). Without the flag
 * every slot is kept.
 */
export class HistoryRetention {
  /** The highest quorum committed index a proposer reported (0 until one does: nothing is dropped). */
  private quorumCommitted = 0n;
  /** The last drop stopped at the quorum's committed index short of where the snapshots allow. */
  private held = false;
  private dropScheduled = false;

  constructor(
    private readonly history: ChosenHistoryStore,
    private readonly retainSlots: bigint | undefined,
    private readonly logger: Logger,
    /** The node's snapshot files as last seen (KeptStateSnapshots): what the history may be dropped below. */
    private readonly snapshots: Pick<KeptStateSnapshots, 'coveredBelow'>,
  ) {}

  /** A state snapshot was made durable: the history may go below it and the one before it. */
  snapshotWritten(): void {
    if (this.retainSlots === undefined) return;
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
    // Read at each drop, not when the snapshot was written: a file found damaged since holds it back.
    const covered = this.snapshots.coveredBelow;
    if (this.retainSlots === undefined || covered === undefined) return;
    const end = this.history.endSlot;
    const newest = end > this.retainSlots ? end - this.retainSlots : 0n;
    let keepFrom = covered < newest ? covered : newest;
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
