import type { AcceptedEntry } from '../acceptor-types';
import type { Ballot } from '../ballot';
import type { Limits } from '../limits';
import type { Quorum } from '../quorum';
import type { SlotValue } from '../value';

export interface ProposerConfig {
  proposerId: number;
  quorum: Quorum;
  /** acceptorIds.length === quorum.n */
  acceptorIds: readonly number[];
  /** Never reuse a ballot across restarts: pass a round above any used before (default 1). */
  initialRound?: bigint;
  /**
   * Put in every batch this proposer builds (SlotValue.origin): a number no other proposer run
   * uses (the node draws 64 random bits at start). A slot then holds this proposer's own value
   * exactly when its value equals one it built, whichever ballot chose it; without it, another
   * proposer's batch of the same commands counts as its own.
   */
  origin?: bigint;
  /** Bound on slots in flight (default 64). */
  windowSlots?: number;
  batchCommandsMax?: number;
  batchBytesMax?: number;
  /**
   * A slot whose batch is not full opens only while fewer than this many slots are in flight
   * (default windowSlots: no holding back). With 1, under load commands gather into full batches
   * while one slot is being accepted, instead of each slot carrying what arrived since the last.
   */
  partialSlotsMax?: number;
  /**
   * Acceptors an accept is sent to at first (default n: all). With fewer (at least the quorum),
   * the others are spared the write and get the value with the commit notice; the slot asks one
   * more for each that fails or refuses, and every acceptor after fanoutExpandTicks.
   */
  acceptFanout?: number;
  /** Ticks a thrifty accept waits for its quorum before it is sent to every acceptor (default retransmitTicks / 2). */
  fanoutExpandTicks?: number;
  /** Bound on queued client commands; submit beyond it is refused. */
  pendingCommandsMax?: number;
  /** Resend outstanding requests after this many ticks without a quorum. */
  retransmitTicks?: number;
  backoffTicksMin?: number;
  backoffTicksMax?: number;
  /** Seeded generator in [0, 1); never Math.random. */
  random: () => number;
  limits?: Limits;
}

/** Outgoing, addressed to one acceptor id. */
export type ProposerMessage =
  | { readonly type: 'prepare'; readonly to: number; readonly ballot: Ballot; readonly fromSlot: bigint }
  | { readonly type: 'accept'; readonly to: number; readonly ballot: Ballot; readonly slot: bigint; readonly value: SlotValue }
  /** `asked` is false when this acceptor was never sent the slot's accept (a thrifty round spared it). */
  | { readonly type: 'commit'; readonly to: number; readonly slot: bigint; readonly ballot: Ballot; readonly value?: SlotValue; readonly asked?: boolean };

export type ProposerEvent =
  | {
      readonly type: 'promise';
      readonly from: number;
      readonly ballot: Ballot;
      readonly accepted: readonly AcceptedEntry[];
      readonly truncated: boolean;
      readonly committedIndex: bigint;
    }
  /** `ballot` is the ballot of the request that was rejected; `slot` is set for a rejected accept. */
  | { readonly type: 'reject'; readonly from: number; readonly promised: Ballot; readonly ballot: Ballot; readonly slot?: bigint }
  | { readonly type: 'accepted'; readonly from: number; readonly ballot: Ballot; readonly slot: bigint }
  | { readonly type: 'refused'; readonly from: number; readonly ballot: Ballot; readonly slot: bigint; readonly reason: string }
  | { readonly type: 'committed'; readonly from: number; readonly committedIndex: bigint }
  /** The transport gave up on a request (no answer before its deadline). */
  | { readonly type: 'unreachable'; readonly from: number; readonly ballot: Ballot; readonly slot?: bigint };

export interface ChosenEntry {
  readonly slot: bigint;
  readonly ballot: Ballot;
  readonly value: SlotValue;
}

/**
 * Why a proposer can choose nothing more (ProposerCore.ceiling): every acceptor named here
 * answered with a promise no ballot of this proposer passes (the round ceiling,
 * BALLOT_ROUND_WIRE_MAX, and a proposer id not below ours), and they are more than n - q; or this
 * proposer used `exhausted`, the highest ballot it may use, and needs a new one.
 */
export interface BallotCeiling {
  readonly proposerId: number;
  /** By acceptor id. */
  readonly promises: ReadonlyArray<{ readonly acceptor: number; readonly promised: Ballot }>;
  readonly exhausted?: Ballot;
}

export interface FailedCommand {
  clientRequestId: string;
  reason: string;
}

/**
 * How a round ended, decided here and nowhere else (the caller counts no votes): a quorum
 * answered yes; it was rejected (an acceptor promised a higher ballot) or refused by more than
 * n - q acceptors; or it became unreachable: an acceptor failed and too few can still say yes
 * (failures and refusals together). An unreachable round is kept and asked again on the next
 * retransmit, which forgets the failures; it is reported again if it becomes unreachable again.
 */
export interface RoundEnd {
  readonly phase: 'prepare' | 'accept';
  readonly ballot: Ballot;
  /** The slot of an accept round. */
  readonly slot?: bigint;
  readonly outcome: 'quorum' | 'rejected' | 'unreachable';
  /** Acceptors that said yes and no (failed, refused or rejected) when it ended; of the no, those that refused the value. */
  readonly yes: number;
  readonly no: number;
  readonly refused: number;
}

export interface ProposerOutput {
  readonly messages: readonly ProposerMessage[];
  /** Newly chosen slots, in any order (the Learner orders them). */
  readonly chosen: readonly ChosenEntry[];
  /**
   * The slots of `chosen` whose value this proposer built from its own queue (not a value adopted
   * in phase 1): their commands took effect through this proposer, not through a copy sent elsewhere.
   */
  readonly ownChosen: readonly bigint[];
  /** Commands given up (e.g. refused by the acceptors' check). */
  readonly failed: readonly FailedCommand[];
  /** Rounds that ended (or became unreachable) in this step. */
  readonly ended: readonly RoundEnd[];
}
