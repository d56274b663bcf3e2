// The acceptor's durable storage engine (see acceptor-storage.ts for the contract).
export { AcceptorStorage, type RecoveredState, type StorageOptions, type StorageStats, type StorageTestHooks } from './acceptor-storage';
export { DataDirError, historyReadError, StorageCorruptionError, StorageOverloadedError, StorageUnavailableError } from './errors';
export type { AcceptedEntry, AcceptorSnapshot, Ballot, DurableChange, SlotValue } from './durable-types';
export { ChosenHistory, HISTORY_DIR, type HistoryStats } from './chosen-history';
export { stateSnapshotFiles, stateSnapshotReadsToGive } from './state-snapshot-file';
export { LOCK_FILE } from './data-dir-lock';
export { parseFloorBallot } from './data-dir';
