// The durable state types of the consensus core (@paxos/consensus-core). Declared here, structurally
// identical, until the core exports them; the storage engine only depends on their shape.

export interface Ballot {
  readonly round: bigint;
  readonly proposerId: number;
}

export interface Command {
  clientRequestId: string;
  contentType: string;
  data: Uint8Array;
}

export type SlotValue =
  | { readonly kind: 'noop' }
  | { readonly kind: 'batch'; readonly commands: readonly Command[] };

export interface AcceptedEntry {
  readonly slot: bigint;
  readonly ballot: Ballot;
  readonly value: SlotValue;
}

export interface ChosenEntry {
  readonly slot: bigint;
  readonly ballot: Ballot;
  readonly value: SlotValue;
}

/** One durable step of an acceptor: on disk before the reply that depends on it is sent. */
export interface DurableChange {
  readonly promised?: Ballot;
  readonly accepted?: AcceptedEntry;
  readonly chosen?: ChosenEntry;
}

export interface AcceptorSnapshot {
  readonly promised: Ballot;
  readonly accepted: readonly AcceptedEntry[];
  readonly chosen: readonly { slot: bigint; ballot: Ballot; value: SlotValue }[];
  readonly committedIndex: bigint;
}
