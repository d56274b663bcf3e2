import { type Ballot, type ChosenEntry, type Command, Learner, slotValueBytes, slotValuesEqual } from '@paxos/consensus-core';
import { type AgreedState, type HarmonicOutcome, isHarmonicCommand } from '@paxos/state-machine';
import { Subject } from 'rxjs';

export interface ChosenResult {
  readonly clientRequestId: string;
  readonly slot: bigint;
  /**
   * Absent only for an id that took effect below a state snapshot this proposer installed from
   * an acceptor (which keeps where each id took effect, not its ballot and digest).
   */
  readonly ballot?: Ballot;
  readonly valueDigest?: string;
  /** The content type it took effect under (absent as the digest is). */
  readonly contentType?: string;
  /**
   * The value key (content type and bytes, sessionValueKey) it took effect with: every node keeps
   * it, in its state snapshots too, so it is known below an installed snapshot as well (absent only
   * below a snapshot written before these keys).
   */
  readonly valueKey?: number;
}

/** A result of a slot this proposer learned itself: ballot and digest known. */
/** A command that took effect for the first time, with the bytes it took effect with. */
export type LearnedResult = Required<Omit<ChosenResult, 'valueKey'>> & {
  readonly data: Uint8Array;
  /** For a Monster Harmonic proposal: accepted into the registry, or refused (its number was taken). */
  readonly harmonic?: HarmonicOutcome;
};

export interface ChosenLogOptions {
  /** Chosen slots kept for WatchChosen and catch-up; older ones are dropped. */
  readonly retainedSlotsMax: number;
  /** Memory those slots may hold together (value bytes plus a per-command allowance for its objects); past it the oldest are dropped (at least one slot stays). */
  readonly retainedBytesMax: number;
  /** The state machine the delivered log is applied to: its sessions answer exactly-once. */
  readonly state: AgreedState;
}

/** What a retained entry costs in memory: its value bytes plus the objects around each command. */
const COMMAND_OBJECT_BYTES = 256;
function retainedCost(e: ChosenEntry): number {
  return slotValueBytes(e.value) + (e.value.kind === 'batch' ? e.value.commands.length * COMMAND_OBJECT_BYTES : 0);
}

/**
 * The entry with its commands' bytes copied into one buffer of the slot's own. A client's value
 * arrives decoded into a slice of a buffer shared with other data (grpc-js and protobuf put small
 * ones in 8 KiB pool slabs, mostly filled with data that is soon garbage): kept as it came, each
 * retained value keeps its whole slab alive, about 600 bytes of slab per 200-byte value under load
 * and up to 8 KiB for a tiny one, which the bound on retained bytes never sees.
 */
function compacted(e: ChosenEntry): ChosenEntry {
  if (e.value.kind !== 'batch') return e;
  const own = Buffer.alloc(e.value.commands.reduce((sum, c) => sum + c.data.length, 0)); // never from the pool
  let at = 0;
  const commands = e.value.commands.map((c) => {
    own.set(c.data, at);
    const data = own.subarray(at, at + c.data.length);
    at += c.data.length;
    return { ...c, data };
  });
  return { ...e, value: { ...e.value, commands } };
}

/**
 * The proposer's view of the chosen log: delivered in slot order from slot 0 without gaps or
 * repeats (the core's Learner) and applied to the state machine, whose client sessions answer each
 * client request id with the slot it first took effect in; a bounded window of values kept in
 * memory for WatchChosen and catch-up (older ones are read from the acceptors' histories).
 */
export class ChosenLog {
  private learner: Learner;
  private agreed: AgreedState;
  private readonly retained = new Map<bigint, ChosenEntry>();
  private oldestRetained = 0n;
  private restoredAt: bigint | undefined;
  private retainedBytes = 0;
  /** Every delivered entry, in slot order. */
  readonly delivered$ = new Subject<ChosenEntry>();
  /** The slot of each state snapshot installed: delivery jumped there (watchers below it are told at once). */
  readonly snapshotInstalled$ = new Subject<bigint>();
  /** Client commands in the slots delivered since start. */
  commandsDelivered = 0;
  /** commandsDelivered when the proposer began to take client work (startService). */
  private commandsBeforeService: number | undefined;

  /** Marks the moment the proposer has learned the log it found and begins to take client work. */
  startService(): void {
    this.commandsBeforeService ??= this.commandsDelivered;
  }

  /**
   * Client commands in the slots delivered since the proposer began to take client work (metrics;
   * 0 before). The log a starting proposer learns was chosen before it started: counted, each
   * restart charted a burst the size of the whole log (0 to 6,852 within a second) in any rate.
   */
  get commandsDeliveredInService(): number {
    return this.commandsBeforeService === undefined ? 0 : this.commandsDelivered - this.commandsBeforeService;
  }

  constructor(private readonly opts: ChosenLogOptions) {
    this.agreed = opts.state;
    this.learner = this.newLearner();
  }

  /**
   * The learner's window of delivered values (kept for its agreement check) is bounded by the
   * retained bytes too, and holds the retained entries themselves: by its own count bound alone
   * (1,024 slots) it kept up to a GiB of values past --retain-chosen-bytes, as a second copy.
   */
  private newLearner(fromSlot?: bigint): Learner {
    return new Learner({ ...(fromSlot !== undefined ? { fromSlot } : {}), recentBytesMax: this.opts.retainedBytesMax });
  }

  /** Slots below this one are delivered. */
  get nextSlot(): bigint {
    return this.learner.nextSlot;
  }

  get oldestSlot(): bigint {
    return this.oldestRetained;
  }

  get state(): AgreedState {
    return this.agreed;
  }

  /** The slot of the last state snapshot installed, if one was: ids below it are known by slot only (acceptors keep no digests). */
  get stateRestoredAt(): bigint | undefined {
    return this.restoredAt;
  }

  /**
   * Continues from a state snapshot at a slot above what was delivered (no acceptor still holds the
   * slots in between): the state is replaced, delivery resumes at its slot, the kept window is
   * emptied. Watchers of the log are told by a gap they cannot read (OUT_OF_RANGE).
   */
  installSnapshot(state: AgreedState): void {
    const slot = state.appliedSlot;
    if (slot <= this.nextSlot) throw new Error(`assertion: a state snapshot at slot ${slot} installed at delivered slot ${this.nextSlot}`);
    this.agreed = state;
    this.restoredAt = slot;
    this.learner = this.newLearner(slot);
    this.retained.clear();
    this.retainedBytes = 0;
    this.oldestRetained = slot;
    this.snapshotInstalled$.next(slot);
  }

  /** The digest of a command's data, as the sessions keep it. */
  digest(data: Uint8Array): string {
    const d = this.agreed.digest;
    if (d === undefined) throw new Error('assertion: the proposer\'s state machine keeps digests');
    return d(data);
  }

  /** Where the id first took effect, if the state machine remembers it. */
  result(clientRequestId: string): ChosenResult | undefined {
    const s = this.agreed.session(clientRequestId);
    if (s === undefined) return undefined;
    const key = s.valueKey !== undefined ? { valueKey: s.valueKey } : {};
    return s.detail ? { clientRequestId, slot: s.slot, ballot: s.detail.ballot, valueDigest: s.detail.digest, contentType: s.detail.contentType, ...key } : { clientRequestId, slot: s.slot, ...key };
  }

  /**
   * Why a Monster Harmonic proposal that took effect in `slot` changed nothing in the registry,
   * if it did not (undefined too for other content types).
   */
  harmonicRefusal(slot: bigint, command: Pick<Command, 'clientRequestId' | 'contentType' | 'data'>): string | undefined {
    if (!isHarmonicCommand(command as Command)) return undefined;
    const outcome = this.agreed.registry.outcomeAt(slot, command as Command);
    return outcome.kind === 'refused' ? outcome.reason : undefined;
  }

  entry(slot: bigint): ChosenEntry | undefined {
    return this.retained.get(slot);
  }

  /** Why a value learned from elsewhere contradicts one this log holds, if it does. */
  contradiction(entry: ChosenEntry): string | undefined {
    const retained = this.retained.get(entry.slot);
    if (retained !== undefined && !slotValuesEqual(retained.value, entry.value)) return `slot ${entry.slot} is already chosen with another value`;
    return this.learner.contradiction(entry);
  }

  /** Learns newly chosen entries (any order); returns the results of client ids answered for the first time. */
  learn(entries: readonly ChosenEntry[]): LearnedResult[] {
    const fresh: LearnedResult[] = [];
    for (const e of entries) {
      // Compacted before the learner sees it, so that its window and the retained map share one
      // copy; a slot delivered already is only checked against the window (no copy for it: the
      // acceptors' commit notices and the core both teach most slots).
      for (const d of this.learner.learn(e.slot < this.learner.nextSlot ? e : compacted(e))) {
        this.retain(d);
        const applied = this.agreed.apply(d).commands;
        const commands = d.value.kind === 'batch' ? d.value.commands : [];
        this.commandsDelivered += commands.length;
        for (const c of applied) {
          if (c.duplicateOf !== undefined) continue;
          const data = commands[c.index]?.data ?? new Uint8Array(0);
          const contentType = commands[c.index]?.contentType ?? '';
          // Took effect here, so the sessions hold its detail (the proposer's state keeps digests).
          const detail = this.agreed.session(c.clientRequestId)?.detail;
          fresh.push({
            clientRequestId: c.clientRequestId,
            slot: d.slot,
            ballot: detail?.ballot ?? d.ballot,
            valueDigest: detail?.digest ?? this.digest(data),
            data,
            contentType,
            ...(c.harmonic !== undefined ? { harmonic: c.harmonic } : {}),
          });
        }
        this.delivered$.next(d);
      }
    }
    return fresh;
  }

  /** Keeps a delivered entry (compacted already). */
  private retain(e: ChosenEntry): void {
    this.retained.set(e.slot, e);
    this.retainedBytes += retainedCost(e);
    while (this.retained.size > this.opts.retainedSlotsMax || (this.retainedBytes > this.opts.retainedBytesMax && this.retained.size > 1)) {
      const oldest = this.retained.get(this.oldestRetained);
      if (oldest) this.retainedBytes -= retainedCost(oldest);
      this.retained.delete(this.oldestRetained);
      this.oldestRetained += 1n;
    }
  }
}
