// Pure Paxos (DESIGN sections 3 and 4): no network, no disk, no clock, no randomness of its own.
export { assert, AssertionError } from './assert';
export {
  type Ballot,
  ZERO_BALLOT,
  BALLOT_ROUND_MAX,
  BALLOT_ROUND_WIRE_MAX,
  PROPOSER_ID_MAX,
  compareBallots,
  ballotGreater,
  ballotEquals,
  maxBallot,
  nextBallotAbove,
  formatBallot,
  ballotProblem,
} from './ballot';
export {
  type Command,
  type SlotValue,
  NOOP,
  batchOf,
  commandBytes,
  commandWireBytes,
  commandKey,
  slotValueBytes,
  slotValueKey,
  slotValuesEqual,
} from './value';
export { Quorum, QuorumTracker, DEFAULT_CLUSTER_SIZE, unsafeQuorumForTesting } from './quorum';
export { type Limits, DEFAULT_LIMITS } from './limits';
export type {
  AcceptedEntry,
  AcceptorRequest,
  AcceptorReply,
  DurableChange,
  AcceptorStep,
  AcceptorSnapshot,
  ChosenRecord,
} from './acceptor-types';
export { AcceptorCore, type AcceptorOptions, type RejoinFloor } from './acceptor';
export { rejoinFloorFrom, type RejoinReport } from './rejoin';
export { requestProblem, valueProblem } from './acceptor-validation';
export type {
  ProposerConfig,
  ProposerMessage,
  ProposerEvent,
  ChosenEntry,
  ProposerOutput,
  BallotCeiling,
  FailedCommand,
  RoundEnd,
} from './proposer/proposer-types';
export { PROPOSER_DEFAULTS } from './proposer/proposer-config';
export { ProposerCore } from './proposer/proposer';
export { Learner } from './learner';
export { ClientSessions, SESSION_ID_CHARS_KEPT, SESSION_IDS_MAX_DEFAULT, UNKNOWN_VALUE_KEY, type CommandEffect, type SessionPoint, type SessionRecord, type SessionsSnapshot, type SessionValueKey } from './client-sessions';
export { SeededRandom } from './rng';
