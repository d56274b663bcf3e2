import type { ChosenEntry } from '@paxos/consensus-core';
import type { AcceptResponse } from '@paxos/proto';
import type { AcceptorLink } from './acceptor-link';
import type { ChosenLog } from './chosen-log';
import { commitBatches } from './commit-batches';

export interface CatchUpOptions {
  /** Commit notices sent at once to one lagging acceptor. */
  readonly batchSlots: number;
  /** Slots in flight; an acceptor further behind than this gets values at once. */
  readonly windowSlots: number;
  /** Told of every committed answer (catch-up's own included): the acceptor is alive. */
  readonly onCommitted?: (nodeId: number, committedIndex: bigint) => void;
}

/**
 * What each acceptor last reported of its committed index, and bringing the laggards up.
 * Commit notices are not durable at the acceptors, so a restarted one may come back lower.
 */
export class AcceptorCatchUp {
  /** The committed index each acceptor last reported (latest wins: a restart may report less). */
  private readonly reported = new Map<number, bigint>();
  private readonly reportedBefore = new Map<number, bigint>();
  private readonly atLastPass = new Map<number, bigint>();
  private readonly breaksSeen = new Map<number, number>();
  /** Acceptors that did not move after value-less notices: the next pass sends values. */
  private readonly valuesNeeded = new Set<number>();
  private readonly inProgress = new Set<number>();

  constructor(
    private readonly links: readonly AcceptorLink[],
    private readonly chosen: ChosenLog,
    private readonly opts: CatchUpOptions,
  ) {}

  note(nodeId: number, committedIndex: bigint): void {
    const previous = this.reported.get(nodeId);
    if (previous !== undefined) this.reportedBefore.set(nodeId, previous);
    this.reported.set(nodeId, committedIndex);
  }

  noteReply(nodeId: number, r: AcceptResponse): void {
    if (r.outcome?.$case !== 'committed') return;
    this.note(nodeId, r.outcome.value.committedIndex);
    this.opts.onCommitted?.(nodeId, r.outcome.value.committedIndex);
  }

  /** True when some acceptor knows more chosen slots than we have delivered. */
  anyAhead(): boolean {
    for (const index of this.reported.values()) if (index > this.chosen.nextSlot) return true;
    return false;
  }

  /**
   * One pass. An acceptor whose committed index trails the delivered prefix and has not moved
   * since the previous pass is brought up in two steps: first commit notices without values
   * (enough when it holds the accepted values, as after a lost notice), and if it still has not
   * moved at the next pass, notices with the values (it was down). One that restarted (its index
   * went down, or its stream broke) or is more than a window behind gets values at once; one
   * whose index is unknown is asked with a notice of the latest slot. Under load every acceptor
   * keeps moving, so a pass sends nothing.
   */
  pass(): void {
    const delivered = this.chosen.nextSlot;
    if (delivered === 0n) return;
    const previous = new Map(this.atLastPass);
    this.atLastPass.clear();
    for (const [node, index] of this.reported) this.atLastPass.set(node, index);
    for (const link of this.links) {
      if (this.inProgress.has(link.nodeId) || !link.up) continue;
      if (this.breaksSeen.get(link.nodeId) !== link.breaks) {
        // Its stream broke since we last looked: what it reported before may no longer hold.
        this.breaksSeen.set(link.nodeId, link.breaks);
        this.reported.delete(link.nodeId);
        this.reportedBefore.delete(link.nodeId);
        this.valuesNeeded.delete(link.nodeId);
      }
      const known = this.reported.get(link.nodeId);
      if (known !== undefined && (known >= delivered || previous.get(link.nodeId) !== known)) {
        this.valuesNeeded.delete(link.nodeId); // caught up, or still moving on its own
        continue;
      }
      const before = this.reportedBefore.get(link.nodeId);
      const restarted = known !== undefined && before !== undefined && known < before;
      const farBehind = known !== undefined && delivered - known > BigInt(this.opts.windowSlots);
      const withValues = known === undefined || restarted || farBehind || this.valuesNeeded.has(link.nodeId);
      if (known !== undefined) this.valuesNeeded.add(link.nodeId);
      const from = known === undefined ? delivered - 1n : known < this.chosen.oldestSlot ? this.chosen.oldestSlot : known;
      this.send(link, from, delivered, withValues);
    }
  }

  /** Commit notices for slots [from, delivered), up to batchSlots of them, in CommitBatch messages. */
  private send(link: AcceptorLink, from: bigint, delivered: bigint, withValues: boolean): void {
    const entries: ChosenEntry[] = [];
    for (let slot = from; slot < delivered && entries.length < this.opts.batchSlots; slot++) {
      const e = this.chosen.entry(slot);
      if (!e) break;
      entries.push(e);
    }
    const sends = commitBatches(entries, withValues).map((commits) => link.accept({ $case: 'commits', value: { commits } }));
    if (sends.length === 0) return;
    this.inProgress.add(link.nodeId);
    let remaining = sends.length;
    const settle = () => {
      remaining -= 1;
      if (remaining === 0) this.inProgress.delete(link.nodeId);
    };
    for (const s of sends) s.subscribe({ next: (r) => this.noteReply(link.nodeId, r), error: settle, complete: settle });
  }
}
