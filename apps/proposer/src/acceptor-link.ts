import type { Ballot, Command } from '@paxos/consensus-core';
import type { AcceptRequest, AcceptResponse, LearnResponse, PrepareRequest, PrepareResponse, StatusResponse, VerifyClaimsResponse } from '@paxos/proto';
import type { StateSnapshotBytes } from '@paxos/read-service';
import type { Observable } from 'rxjs';

/**
 * One acceptor as the proposer sees it. Over the network it is a gRPC channel
 * (grpc-acceptor-link.ts); in the node-level simulator, an in-process acceptor node behind a
 * simulated network (node-sim/). Every request has a deadline and fails with a gRPC status.
 */
export interface AcceptorLink {
  readonly nodeId: number;
  readonly address: string;
  /** True when the acceptor is reachable now (a connected channel). */
  readonly up: boolean;
  /** Requests awaiting a reply. */
  readonly inFlight: number;
  /** How many times a stream to this acceptor broke: a change means it may have restarted. */
  readonly breaks: number;
  prepare(request: Omit<PrepareRequest, 'requestId'>): Observable<PrepareResponse>;
  /** An accept, commit notices, or both, in one request on the Accept stream. */
  accept(request: Omit<AcceptRequest, 'requestId'>): Observable<AcceptResponse>;
  status(deadlineMs: number): Promise<StatusResponse>;
  learn(fromSlot: bigint, maxEntries: number, deadlineMs: number): Promise<LearnResponse>;
  /** The acceptor's verdict on the command's claims about the source it holds. */
  verifyClaims(command: Command, deadlineMs: number): Promise<VerifyClaimsResponse>;
  /**
   * The acceptor's latest durable state snapshot, checked whole. UNAVAILABLE once no chunk came
   * for `idleMs`: an acceptor that is paused or cut off does not hold the transfer for its whole
   * deadline (a large snapshot may need all of it).
   */
  stateSnapshot(deadlineMs: number, idleMs: number): Promise<StateSnapshotBytes>;
  /** Gives the acceptor a state snapshot; resolves with its committed index after. */
  installStateSnapshot(ballot: Ballot, snapshot: StateSnapshotBytes, deadlineMs: number): Promise<bigint>;
  close(): void;
}
