import { status } from '@grpc/grpc-js';
import { type ChosenEntry, DEFAULT_LIMITS, type Quorum, slotValueBytes } from '@paxos/consensus-core';
import type { AcceptResponse } from '@paxos/proto';
import type { AcceptorLink } from './acceptor-link';
import type { ChosenLog } from './chosen-log';
import { commitRequests } from './commit-notices';

/** What one slot read from history is taken to cost a catch-up pass before it is read. */
const HISTORY_SLOT_BYTES_GUESS = 4 * 1024;
/** Slots one read of the acceptors' histories asks for (Learn serves up to 1,024 and 4 MiB). */
const HISTORY_READ_SLOTS = 1024;
/** How far behind the delivered prefix an acceptor must still be for its next values to follow at once. */
const CHASE_LAG_MIN_SLOTS = 64;
/** Value bytes of one batch sent back to back to an acceptor that took the previous one. */
const CHASE_BYTES = 4 * 1024 * 1024;

export interface CatchUpOptions {
  /** Commit notices sent at once to one lagging acceptor. */
  readonly batchSlots: number;
  /** Slots in flight; an acceptor further behind than this gets values at once. */
  readonly windowSlots: number;
  /** Value bytes one pass sends to all acceptors together (at least one slot's to one acceptor): a crowd of laggards costs bounded work per pass. */
  readonly bytesPerPass: number;
  /** Told of every committed answer (catch-up's own included): the acceptor is alive. */
  readonly onCommitted?: (nodeId: number, committedIndex: bigint) => void;
  /** Whose reports make the quorum's committed index (Quorum.reachedByQuorum). */
  readonly quorum: Quorum;
  /** Chosen entries below the ones the proposer keeps in memory, from the acceptors' durable histories (LogReader). */
  readonly readHistory?: (from: bigint, max: number) => Promise<readonly ChosenEntry[]>;
  /** Gives an acceptor a state snapshot above its committed index (the slots it lacks are kept nowhere); resolves with its index after. */
  readonly installSnapshot?: (link: AcceptorLink, committedIndex: bigint) => Promise<bigint>;
}

/**
 * What each acceptor last reported of its committed index, and bringing the laggards up.
 * Commit notices are not durable at the acceptors, so a restarted one may come back lower.
 */
export class AcceptorCatchUp {
  /** The committed index each acceptor last reported (latest wins: a restart may report less). */
  private readonly reported = new Map<number, bigint>();
  /** The durable committed index each acceptor last reported (its synced history's end: a power loss keeps it). */
  private readonly durable = new Map<number, bigint>();
  private readonly reportedBefore = new Map<number, bigint>();
  private readonly atLastPass = new Map<number, bigint>();
  private readonly breaksSeen = new Map<number, number>();
  /** Acceptors that did not move after value-less notices: the next pass sends values. */
  private readonly valuesNeeded = new Set<number>();
  private readonly inProgress = new Set<number>();
  /** Acceptors that answered a catch-up batch since the previous pass. */
  private readonly answeredUs = new Set<number>();
  /** Where the next pass starts among the links (a pass that ran out of budget resumes after the last one it served). */
  private passStart = 0;
  private stopped = false;
  private quorumCommitted = 0n;

  constructor(
    private readonly links: readonly AcceptorLink[],
    private readonly chosen: ChosenLog,
    private readonly opts: CatchUpOptions,
  ) {}

  /** The committed index the acceptor last reported, if any. */
  committedOf(nodeId: number): bigint | undefined {
    return this.reported.get(nodeId);
  }

  /**
   * An acceptor's committed index, and (from votes and commit answers) its durable committed
   * index: the end of its synced chosen history, never above its committed index.
   */
  note(nodeId: number, committedIndex: bigint, durableCommittedIndex?: bigint): void {
    // Network input: an index past the log's last slot is no report (catch-up would take the
    // acceptor for ahead of everything, and its reports move the quorum's committed index).
    if (committedIndex > DEFAULT_LIMITS.slotMax + 1n) return;
    const previous = this.reported.get(nodeId);
    if (previous !== undefined) this.reportedBefore.set(nodeId, previous);
    this.reported.set(nodeId, committedIndex);
    if (durableCommittedIndex !== undefined) this.durable.set(nodeId, durableCommittedIndex < committedIndex ? durableCommittedIndex : committedIndex);
  }

  noteReply(nodeId: number, r: AcceptResponse): void {
    if (r.outcome?.$case !== 'committed') return;
    this.note(nodeId, r.outcome.value.committedIndex, r.outcome.value.durableCommittedIndex);
    this.opts.onCommitted?.(nodeId, r.outcome.value.committedIndex);
  }

  /**
   * Slots below this are durably committed at a quorum of acceptors (in their synced chosen
   * histories), by their reports as of the last pass (0 until a quorum has reported; it never
   * goes down). Every accept request carries it: the acceptors' history retention keeps the slots
   * at or above it, so that even after every acceptor lost power, and with it the unsynced ends
   * of their histories, the slots some acceptor dropped are still held by a quorum or covered by
   * a snapshot at or below the committed index a quorum reports.
   */
  get quorumCommittedIndex(): bigint {
    return this.quorumCommitted;
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
   * whose index is unknown is asked with a notice of the latest slot. One whose index is below
   * the oldest slot we keep in memory gets the values read from the acceptors' durable chosen
   * histories (readHistory): no acceptor is ever moved past a slot whose value it does not hold.
   * One that moved because it answered our last batch gets the next at once. Under load every
   * acceptor keeps moving on its own, so a pass sends nothing. Values go out up to bytesPerPass
   * a pass, the laggards taken in turn from where the previous pass stopped.
   */
  pass(): void {
    this.noteQuorumCommitted();
    const delivered = this.chosen.nextSlot;
    if (delivered === 0n) return;
    const previous = new Map(this.atLastPass);
    this.atLastPass.clear();
    for (const [node, index] of this.reported) this.atLastPass.set(node, index);
    let budget = this.opts.bytesPerPass;
    const n = this.links.length;
    let served = -1;
    for (let k = 0; k < n && budget > 0; k++) {
      const index = (this.passStart + k) % n;
      const link = this.links[index] as AcceptorLink;
      if (this.inProgress.has(link.nodeId) || !link.up) continue;
      if (this.breaksSeen.get(link.nodeId) !== link.breaks) {
        // Its stream broke since we last looked: what it reported before may no longer hold.
        this.breaksSeen.set(link.nodeId, link.breaks);
        this.reported.delete(link.nodeId);
        this.reportedBefore.delete(link.nodeId);
        this.valuesNeeded.delete(link.nodeId);
      }
      const known = this.reported.get(link.nodeId);
      // Moving because of our own last batch is not moving on its own: the next batch follows at once.
      const movedByUs = this.answeredUs.delete(link.nodeId);
      const moved = previous.get(link.nodeId) !== known;
      if (known !== undefined && (known >= delivered || (moved && !movedByUs))) {
        this.valuesNeeded.delete(link.nodeId); // caught up, or still moving on its own
        continue;
      }
      if (moved) this.valuesNeeded.delete(link.nodeId); // our last batch moved it: the same kind again
      const oldest = this.chosen.oldestSlot;
      const before = this.reportedBefore.get(link.nodeId);
      const restarted = known !== undefined && before !== undefined && known < before;
      const farBehind = known !== undefined && delivered - known > BigInt(this.opts.windowSlots);
      const withValues = known === undefined || restarted || farBehind || this.valuesNeeded.has(link.nodeId);
      if (known !== undefined) this.valuesNeeded.add(link.nodeId);
      const from = known === undefined ? delivered - 1n : known;
      if (from < oldest) {
        budget -= this.sendFromHistory(link, from, budget);
        served = index;
        continue;
      }
      budget -= this.send(link, this.kept(from, delivered, withValues, budget), withValues);
      served = index;
    }
    // The next pass starts after the last acceptor this one served.
    if (served >= 0) this.passStart = (served + 1) % n;
  }

  /** The durable committed index a quorum's reports reach, if higher than the one known. */
  private noteQuorumCommitted(): void {
    const at = this.opts.quorum.reachedByQuorum(this.durable.values());
    if (at !== undefined && at > this.quorumCommitted) this.quorumCommitted = at;
  }

  /** Kept entries for slots [from, delivered): up to `slotsMax` of them and about `bytesMax` of values. */
  private kept(from: bigint, delivered: bigint, withValues: boolean, bytesMax: number, slotsMax = this.opts.batchSlots): ChosenEntry[] {
    const entries: ChosenEntry[] = [];
    let bytes = 0;
    for (let slot = from; slot < delivered && entries.length < slotsMax; slot++) {
      const e = this.chosen.entry(slot);
      if (!e) break;
      const size = withValues ? slotValueBytes(e.value) : 0;
      if (entries.length > 0 && bytes + size > bytesMax) break;
      entries.push(e);
      bytes += size;
    }
    return entries;
  }

  /**
   * Values the proposer no longer keeps in memory, read from the acceptors' durable histories
   * and sent with their values. Counted against the pass's budget by an estimate (the read has not
   * happened yet).
   */
  private sendFromHistory(link: AcceptorLink, from: bigint, budget: number): number {
    const read = this.opts.readHistory;
    if (!read) return 0;
    this.inProgress.add(link.nodeId);
    const slots = Math.max(1, Math.min(HISTORY_READ_SLOTS, Math.floor(budget / HISTORY_SLOT_BYTES_GUESS)));
    read(from, slots).then(
      (entries) => {
        this.inProgress.delete(link.nodeId);
        this.send(link, entries, true);
      },
      (err: unknown) => {
        const install = this.opts.installSnapshot;
        // No acceptor keeps those slots any more: a state snapshot covers them.
        if (install === undefined || (err as { code?: unknown }).code !== status.OUT_OF_RANGE || this.stopped) {
          this.inProgress.delete(link.nodeId);
          return;
        }
        install(link, from).then(
          (committedIndex) => {
            this.inProgress.delete(link.nodeId);
            this.note(link.nodeId, committedIndex);
          },
          () => this.inProgress.delete(link.nodeId),
        );
      },
    );
    return slots * HISTORY_SLOT_BYTES_GUESS;
  }

  /**
   * Sends the entries as commit notices (with their values or not); returns the value bytes
   * sent. When the acceptor took them all and is still behind, the next batch follows at once
   * (values streamed back to back, one batch in flight per acceptor), without waiting for a pass.
   */
  private send(link: AcceptorLink, entries: readonly ChosenEntry[], withValues: boolean): number {
    const batches = commitRequests(withValues ? entries : entries.map(({ slot, ballot }) => ({ slot, ballot })));
    const bytes = withValues ? entries.reduce((sum, e) => sum + slotValueBytes(e.value), 0) : 0;
    const last = entries[entries.length - 1];
    if (batches.length === 0 || last === undefined) return 0;
    this.inProgress.add(link.nodeId);
    let remaining = batches.length;
    let failed = false;
    const settle = () => {
      remaining -= 1;
      if (remaining > 0) return;
      this.inProgress.delete(link.nodeId);
      if (withValues && !failed) this.chase(link, last.slot + 1n);
    };
    const answered = (r: AcceptResponse) => {
      this.answeredUs.add(link.nodeId);
      this.noteReply(link.nodeId, r);
    };
    const error = () => {
      failed = true;
      settle();
    };
    for (const commits of batches) link.accept({ commits, quorumCommittedIndex: this.quorumCommitted }).subscribe({ next: answered, error, complete: settle });
    return bytes;
  }

  /** The acceptor took every value up to `sentTo`: if it is still behind, its next values go now. */
  private chase(link: AcceptorLink, sentTo: bigint): void {
    const at = this.reported.get(link.nodeId);
    const delivered = this.chosen.nextSlot;
    // Only an acceptor still far behind: one within reach of the slots in flight is brought up by
    // commit notices and the next pass, and chasing it would resend values it is about to get.
    if (this.stopped || at === undefined || at < sentTo || delivered - at <= BigInt(CHASE_LAG_MIN_SLOTS + this.opts.windowSlots) || !link.up || this.inProgress.has(link.nodeId)) return;
    if (at < this.chosen.oldestSlot) this.sendFromHistory(link, at, CHASE_BYTES);
    else this.send(link, this.kept(at, delivered, true, CHASE_BYTES, HISTORY_READ_SLOTS), true);
  }

  /** Ends chasing (the proposer stops). */
  stop(): void {
    this.stopped = true;
  }
}
