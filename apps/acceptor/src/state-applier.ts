import type { Logger } from '@paxos/grpc-kit';
import type { AgreedState } from '@paxos/state-machine';
import type { ChosenHistory } from './storage';

/** Slots applied per turn of the event loop while the state catches up with the history. */
const APPLY_SLOTS_PER_TURN = 1024;
const APPLY_BYTES_PER_TURN = 8 * 1024 * 1024;

/**
 * Applies the chosen history to the node's state machine in slot order: all of it after a
 * restart (a page per turn of the event loop, so the node serves meanwhile and its applied slot
 * climbs), then each new prefix as it is appended. Reads answer with the slot they reflect.
 */
export class StateApplier {
  private scheduled = false;
  private stopped = false;
  private failed: string | undefined;

  constructor(
    private readonly history: ChosenHistory,
    readonly state: AgreedState,
    private readonly logger: Logger,
  ) {}

  /** Why applying stopped (a history row that does not decode), if it did. */
  get failure(): string | undefined {
    return this.failed;
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
      for (const e of this.history.read(from, APPLY_SLOTS_PER_TURN, APPLY_BYTES_PER_TURN)) this.state.apply(e);
    } catch (err) {
      this.failed = (err as Error).message;
      this.logger.error({ err, slot: from.toString() }, 'applying the chosen history failed: reads stay at the last applied slot');
    }
  }

  stop(): void {
    this.stopped = true;
  }
}
