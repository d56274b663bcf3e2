import type { Ballot } from './ballot';
import type { SlotValue } from './value';

export interface AcceptedEntry {
  readonly slot: bigint;
  readonly ballot: Ballot;
  readonly value: SlotValue;
}

export interface ChosenRecord {
  readonly slot: bigint;
  readonly ballot: Ballot;
  readonly value: SlotValue;
}

export type AcceptorRequest =
  | { readonly type: 'prepare'; readonly ballot: Ballot; readonly fromSlot: bigint }
  | { readonly type: 'accept'; readonly ballot: Ballot; readonly slot: bigint; readonly value: SlotValue }
  | { readonly type: 'commit'; readonly slot: bigint; readonly ballot: Ballot; readonly value?: SlotValue };

export type AcceptorReply =
  | {
      readonly type: 'promise';
      readonly ballot: Ballot;
      readonly accepted: readonly AcceptedEntry[];
      readonly truncated: boolean;
      readonly committedIndex: bigint;
    }
  | { readonly type: 'reject'; readonly promised: Ballot }
  | { readonly type: 'accepted'; readonly ballot: Ballot; readonly slot: bigint }
  | {
      readonly type: 'refused';
      readonly reason: string;
      /** Why, as a bounded category (metrics): the slot is too far ahead, the value failed this acceptor's own check, or the acceptor is rejoining. */
      readonly refusal?: 'slot-window' | 'value-check' | 'rejoining';
    }
  | { readonly type: 'committed'; readonly committedIndex: bigint }
  | { readonly type: 'invalid'; readonly reason: string };

/** What must be durable before the reply may leave. */
export interface DurableChange {
  readonly promised?: Ballot;
  readonly accepted?: AcceptedEntry;
  readonly chosen?: ChosenRecord;
}

/**
 * One step of the acceptor. The caller persists `persist` (fsync) THEN sends `reply`.
 * Replies must also leave in order: a reply never overtakes an earlier step's persist that is
 * not yet durable (a sequential log with group commit gives this for free).
 */
export interface AcceptorStep {
  readonly reply: AcceptorReply;
  readonly persist: DurableChange | null;
}

export interface AcceptorSnapshot {
  readonly promised: Ballot;
  readonly accepted: readonly AcceptedEntry[];
  readonly chosen: readonly { slot: bigint; ballot: Ballot; value: SlotValue }[];
  readonly committedIndex: bigint;
}
