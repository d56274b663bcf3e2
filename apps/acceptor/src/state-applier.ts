import type { ChosenRecord } from '@paxos/consensus-core';
import type { Logger } from '@paxos/grpc-kit';
import type { AgreedState } from '@paxos/state-machine';
import type { ChosenHistory } from './storage';

/** Slots applied per turn of the event loop while the state catches up with the history. */
const APPLY_SLOTS_PER_TURN = 1024;
const APPLY_BYTES_PER_TURN = 8 * 1024 * 1024;
/** How often appended records are applied in one go (a read applies them at once). */
const APPLY_INTERVAL_MS = 500;
/** Appended records held for the next application; past it they are read back from the history. */
const PENDING_SLOTS_MAX = 4096;

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

  constructor(
    private readonly history: ChosenHistory,
    readonly state: AgreedState,
    private readonly logger: Logger,
  ) {}

  /** Why applying stopped (a history row that does not decode), if it did. */
  get failure(): string | undefined {
    return this.failed;
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
    const held = this.pending;
    this.pending = [];
    for (const r of held) if (r.slot === this.state.appliedSlot) this.state.advance(r);
    this.catchUp();
  }

  /** Applies what the history holds beyond the state, soon (never inside the caller's turn). */
  catchUp(): void {
    if (this.scheduled || this.stopped || this.failed !== undefined || this.state.appliedSlot >= this.history.endSlot) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.applyPage();
      this.catchUp();
    });
  }

  private applyPage(): void {
    const from = this.state.appliedSlot;
    if (this.stopped || from >= this.history.endSlot) return;
    try {
      for (const e of this.history.read(from, APPLY_SLOTS_PER_TURN, APPLY_BYTES_PER_TURN)) this.state.advance(e);
    } catch (err) {
      this.failed = (err as Error).message;
      this.logger.error({ err, slot: from.toString() }, 'applying the chosen history failed: reads stay at the last applied slot');
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}
