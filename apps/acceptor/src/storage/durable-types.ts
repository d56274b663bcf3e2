// The durable state types are the consensus core's (@paxos/consensus-core); re-exported here so the
// storage files import them from one place.
export type { AcceptedEntry, AcceptorSnapshot, Ballot, ChosenRecord, Command, DurableChange, SlotValue } from '@paxos/consensus-core';
