import type { ChosenRecord } from '@paxos/consensus-core';
import { GrpcError, GrpcStatus, type Logger } from '@paxos/grpc-kit';
import { type AgreedState, encodeStateSnapshot } from '@paxos/state-machine';
import type { ChosenHistoryStore } from './node-storage';
import type { StateSnapshotStore } from './state-snapshot-store';

/** Slots applied per turn of the event loop while the state catches up with the history. */
const APPLY_SLOTS_PER_TURN = 1024;
const APPLY_BYTES_PER_TURN = 8 * 1024 * 1024;
/** How often appended records are applied in one go (a read applies them at once). */
const APPLY_INTERVAL_MS = 500;
/** Appended records held for the next application; past it they are read back from the history. */
const PENDING_SLOTS_MAX = 4096;
/** Slots applied between two durable snapshots of the state (a restart applies at most about this many). */
export const STATE_SNAPSHOT_EVERY_SLOTS = 100_000;

export interface StateSnapshots {
  /**
   * Where the snapshots go (the data dir's files, or a simulated disk): a KeptStateSnapshots, so
   * that what the node reports of its snapshots follows each write.
   */
  readonly store: StateSnapshotStore;
  readonly everySlots: number;
  /** Told once a snapshot of its own is durable, with its slot (history retention). */
  readonly written?: (slot: bigint) => void;
}

/**
 * Applies the chosen history to the node's state machine in slot order: all of it after a
 * restart (a page per turn of the event loop, so the node serves meanwhile and its applied slot
 * climbs), then the records as they are appended, in one go every half second or before a read.
 * Applying in batches off the voting path keeps the state machine's cost per command low: 23
 * acceptor processes share two cores here, and every accept waits for one of them.
 */
export class StateApplier {
  private scheduled = false;
  private stopped = false;
  private failed: string | undefined;
  private pending: ChosenRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The applied slot of the last snapshot taken (or restored): the next is due everySlots later. */
  private snapshotSlot: bigint;
  private writing: Promise<void> | undefined;
  private current: AgreedState | undefined;

  constructor(
    private readonly history: ChosenHistoryStore,
    /** The state to apply onto; or why the node has none (see restore-state.ts). */
    restored: { readonly state: AgreedState } | { readonly unavailable: string },
    private readonly logger: Logger,
    private readonly snapshots?: StateSnapshots,
  ) {
    if ('state' in restored) {
      this.current = restored.state;
      this.snapshotSlot = restored.state.appliedSlot;
    } else {
      this.snapshotSlot = 0n;
      this.failed = restored.unavailable;
    }
  }

  /** The agreed state; UNAVAILABLE (with the reason) when the node has none. */
  get state(): AgreedState {
    if (this.current === undefined) throw new GrpcError(GrpcStatus.UNAVAILABLE, `this acceptor has no agreed state: ${this.failed ?? 'not restored'}`);
    return this.current;
  }

  /** True when the node has agreed state to apply onto. */
  get hasState(): boolean {
    return this.current !== undefined;
  }

  /** Slots below this one are applied (0 while the node has no state). */
  get appliedSlot(): bigint {
    return this.current?.appliedSlot ?? 0n;
  }

  /** Why applying stopped (a history row that does not decode, or no state to apply onto), if it did. */
  get failure(): string | undefined {
    return this.failed;
  }

  /**
   * Makes another node's snapshot this node's latest durable one (after any write of its own in
   * flight). The caller then installs its state, unless the node caught up meanwhile.
   */
  async keepSnapshot(slot: bigint, body: Buffer): Promise<void> {
    if (this.snapshots === undefined) throw new Error('assertion: a state snapshot kept by an applier that writes none');
    await this.snapshotWritten();
    await this.persist(slot, body);
    // Written twice, so that both files hold it: the history restarts at its slot, and the
    // snapshot it pushed out to be the previous one lies below that, where it cannot stand in
    // for a damaged latest one (one damaged file must never cost the node its state).
    await this.persist(slot, body);
  }

  /**
   * Continues from a state installed from another node's snapshot (durable already, and the
   * history restarted at its slot): what was applied or held before is dropped.
   */
  install(state: AgreedState): void {
    this.current = state;
    this.failed = undefined;
    this.pending = [];
    this.snapshotSlot = state.appliedSlot;
    this.catchUp();
  }

  /** Records just appended to the history: held for the next application (no read back from disk). */
  appended(records: readonly ChosenRecord[]): void {
    if (this.failed !== undefined || this.stopped) return;
    if (this.pending.length + records.length > PENDING_SLOTS_MAX) {
      this.pending = [];
      return; // read back from the history instead
    }
    for (const r of records) this.pending.push(r);
    // One wakeup per interval while slots arrive, none while the node is quiet.
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.settle();
      }, APPLY_INTERVAL_MS);
      this.timer.unref();
    }
  }

  /** Applies everything held and everything the history holds beyond the state (a read calls this first). */
  settle(): void {
    if (this.failed !== undefined || this.stopped) return;
    const state = this.current;
    if (state === undefined) return;
    const held = this.pending;
    this.pending = [];
    for (const r of held) if (r.slot === state.appliedSlot) state.advance(r);
    this.maybeSnapshot();
    this.catchUp();
  }

  /** Applies what the history holds beyond the state, soon (never inside the caller's turn). */
  catchUp(): void {
    if (this.scheduled || this.stopped || this.failed !== undefined || this.current === undefined || this.current.appliedSlot >= this.history.endSlot) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.applyPage();
      this.catchUp();
    });
  }

  private applyPage(): void {
    const state = this.current;
    if (state === undefined || this.failed !== undefined) return;
    const from = state.appliedSlot;
    if (this.stopped || from >= this.history.endSlot) return;
    if (from < this.history.firstSlot) {
      this.failed = `the state is at slot ${from}, below the chosen history, which starts at slot ${this.history.firstSlot}`;
      this.logger.error({ slot: from.toString() }, `applying the chosen history stopped: ${this.failed}`);
      return;
    }
    try {
      for (const e of this.history.read(from, APPLY_SLOTS_PER_TURN, APPLY_BYTES_PER_TURN)) state.advance(e);
      this.maybeSnapshot();
    } catch (err) {
      this.failed = (err as Error).message;
      this.logger.error({ err, slot: from.toString() }, 'applying the chosen history failed: reads stay at the last applied slot');
    }
  }

  /**
   * Writes a durable snapshot of the state once everySlots more slots are applied: taken at once
   * (the state is not touched while it is copied), written in the background, one at a time. A
   * failed write is logged; the next interval tries again, and the history still rebuilds the state.
   */
  private maybeSnapshot(): void {
    const s = this.snapshots;
    const state = this.current;
    if (s === undefined || state === undefined || this.writing !== undefined || this.stopped) return;
    const slot = state.appliedSlot;
    if (slot - this.snapshotSlot < BigInt(s.everySlots)) return;
    this.snapshotSlot = slot;
    const started = performance.now();
    const body = encodeStateSnapshot(state.snapshot());
    const encodedMs = Math.round(performance.now() - started);
    this.persist(slot, body).then(
      () => {
        this.logger.info({ slot: slot.toString(), bytes: body.length, encodedMs, ms: Math.round(performance.now() - started) }, 'state snapshot written');
        s.written?.(slot);
      },
      (err: unknown) => this.logger.warn({ err, slot: slot.toString() }, 'writing the state snapshot failed: a restart applies the history from the previous one'),
    );
  }

  /**
   * Writes the snapshot file (the caller makes sure no other write is in flight); once it is
   * durable it is the latest, and the previous is the one the store kept (StateSnapshotStore,
   * which tells the node's KeptStateSnapshots).
   * `writing` is cleared only by the write that set it: keepSnapshot starts its second write as
   * soon as its first resolves, before the first one's settling runs, and a clear from that one
   * would let the applier write a snapshot of its own beside the second (both on one temporary file).
   */
  private persist(slot: bigint, body: Buffer): Promise<void> {
    const write = (this.snapshots as StateSnapshots).store.write(slot, body).then(() => undefined);
    const writing: Promise<void> = write.then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      if (this.writing === writing) this.writing = undefined;
    });
    this.writing = writing;
    return write;
  }

  /** Resolves when no snapshot is being written. */
  async snapshotWritten(): Promise<void> {
    // Bounded: each turn waits for one write in flight, and a write starts only after applying.
    while (this.writing !== undefined) await this.writing;
  }

  /** Stops applying; resolves when a snapshot being written is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.writing;
  }
}
