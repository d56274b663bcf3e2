import type { AcceptorSnapshot, ChosenRecord, DurableChange } from '@paxos/consensus-core';

/**
 * The chosen history as the acceptor node uses it: a gapless run of chosen slots [firstSlot,
 * endSlot). The acceptor app keeps it in segment files (chosen-history.ts); the node-level
 * simulator keeps it in memory with the same contract.
 */
export interface ChosenHistoryStore {
  /** Slots below this are not kept. */
  readonly firstSlot: bigint;
  /** Every slot in [firstSlot, endSlot) is held. */
  readonly endSlot: bigint;
  /** Slots in [firstSlot, durableEnd) are synced: a power loss keeps them (the rest may go). */
  readonly durableEnd: bigint;
  /** True when this history was created empty (a data dir that predates it) and not yet joined to the recovered state. */
  readonly created: boolean;
  /** Called once the join is done: the history stops counting as created (durably). */
  joined?(): void;
  /** Where it lives, for error messages. */
  readonly file: string;
  /** Appends records continuing the run (slots endSlot, endSlot + 1, ...). */
  append(records: readonly ChosenRecord[]): void;
  /** Up to maxEntries records from `from` (at least one if held), about maxBytes of values. */
  read(from: bigint, maxEntries: number, maxBytes: number): ChosenRecord[];
  /** An empty history starts at `slot`. */
  startAt(slot: bigint): void;
  /** Restarts the history at `slot`, above everything it holds (a state snapshot covers the slots below). */
  restartAt(slot: bigint): void;
  /**
   * Drops held slots below `slot` (retention: a durable state snapshot covers them), as far as
   * the store's units allow; returns the new firstSlot, never above `slot`.
   */
  dropBelow(slot: bigint): bigint;
  /** Makes every append so far durable. */
  sync(): void;
}

/**
 * What an acceptor node needs of its durable storage: promises and votes made durable before a
 * reply leaves, checkpoints that fold them, and the chosen history.
 */
export interface AcceptorNodeStorage {
  readonly healthy: boolean;
  /** Why it is not healthy, when it says. */
  readonly lastError?: string | undefined;
  readonly history: ChosenHistoryStore;
  /** Bytes of the log written since the last checkpoint (absent: the storage keeps no log file). */
  readonly liveLogBytes?: number;
  /** Resolves once the change is durable (fdatasync'ed); rejects when it may not be. */
  append(change: DurableChange): Promise<void>;
  /** Folds the state into a durable snapshot. */
  checkpoint(snapshot: AcceptorSnapshot): Promise<void>;
}
