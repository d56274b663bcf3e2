import type { AcceptorStorage } from './storage';
import type { ServerReadableStream, sendUnaryData } from '@grpc/grpc-js';
import { GrpcError, GrpcStatus, type Logger, toServiceError } from '@paxos/grpc-kit';
import type { InstallStateSnapshotRequest, InstallStateSnapshotResponse } from '@paxos/proto';
import { StateSnapshotAssembler, type StateSnapshotBytes } from '@paxos/read-service';
import type { RegistryOptions } from '@paxos/state-machine';
import { ballotFromWire, WireError } from '@paxos/wire';
import { type AcceptorNode, installStateSnapshot, type StateApplier } from '@paxos/acceptor-node';
import { ProposerAccess } from './proposer-access';

export interface SnapshotInstallContext {
  readonly node: AcceptorNode<AcceptorStorage>;
  readonly access: ProposerAccess;
  readonly applier: StateApplier;
  readonly registry: Partial<RegistryOptions>;
  readonly logger: Logger;
  /** How long one install stream may take from its first message to its end (INSTALL_STREAM_MS; tests shorten it). */
  readonly streamMs?: number;
  /** How long the stream may go without a message before it is given up (INSTALL_CHUNK_IDLE_MS; tests shorten it). */
  readonly chunkIdleMs?: number;
}

/**
 * AcceptorService.InstallStateSnapshot: a configured proposer gives an acceptor whose committed
 * index is below every other acceptor's retained history the state snapshot that covers the gap.
 * The snapshot is checked (size, CRC, decoding) and made durable first; then the chosen history
 * restarts at its slot, the committed index moves there and the state continues from it. One
 * install at a time; one at or below the committed index changes nothing.
 */
export function installStateSnapshotHandler(ctx: SnapshotInstallContext) {
  /** The stream whose snapshot is being taken (one at a time, and only after its ballot was checked). */
  let holder: object | undefined;
  return (call: ServerReadableStream<InstallStateSnapshotRequest, InstallStateSnapshotResponse>, callback: sendUnaryData<InstallStateSnapshotResponse>): void => {
    const self = {};
    let finished = false;
    let started = false;
    const streamMs = ctx.streamMs ?? INSTALL_STREAM_MS;
    const idleMs = ctx.chunkIdleMs ?? INSTALL_CHUNK_IDLE_MS;
    const stopTimers = () => {
      clearTimeout(timer);
      clearTimeout(idle);
    };
    const release = () => {
      if (holder === self) holder = undefined;
      stopTimers();
    };
    const fail = (e: unknown) => {
      if (finished) return;
      finished = true;
      // An install under way keeps its place until it is done (its files are being written): only
      // then may another begin.
      if (started) stopTimers();
      else release();
      callback(toServiceError(e));
      call.destroy();
    };
    // A stream that never ends holds nothing for long.
    const timer = setTimeout(() => fail(new GrpcError(GrpcStatus.DEADLINE_EXCEEDED, `the snapshot did not arrive within ${streamMs / 1000} s`)), streamMs);
    timer.unref();
    // Nor does one whose sender stopped sending without ending it (a paused or cut-off proposer,
    // whose connection stays open until keepalive gives up on it): the proposer sends its chunks
    // from memory as fast as they are taken, so silence is not a slow sender.
    let idle: NodeJS.Timeout | undefined;
    const quiet = () => {
      clearTimeout(idle);
      idle = setTimeout(
        () => fail(new GrpcError(GrpcStatus.DEADLINE_EXCEEDED, `the install stream sent nothing for ${idleMs / 1000} s: given up, nothing installed (the proposer tries again)`)),
        idleMs,
      );
      idle.unref();
    };
    quiet();
    let bound: number | undefined;
    try {
      bound = ctx.access.proposerOf(call, 'InstallStateSnapshot');
    } catch (e) {
      fail(e);
      return;
    }
    const assembler = new StateSnapshotAssembler();
    call.on('data', (req: InstallStateSnapshotRequest) => {
      if (finished) return;
      quiet();
      try {
        if (holder !== self) {
          const ballot = ballotFromWire(req.ballot);
          ProposerAccess.checkBallot(bound, ballot);
          ctx.node.checkProposerBallot(ballot);
          if (holder !== undefined) throw new GrpcError(GrpcStatus.ABORTED, 'another state snapshot is being installed on this acceptor: try again when it is done');
          holder = self;
        }
        assembler.add(req.chunk);
      } catch (e) {
        fail(e instanceof WireError ? new GrpcError(GrpcStatus.INVALID_ARGUMENT, e.message) : e);
      }
    });
    // The client went away before the end: nothing was installed.
    call.on('error', () => {
      if (!started) fail(new GrpcError(GrpcStatus.CANCELLED, 'the install stream broke'));
    });
    call.on('close', () => {
      if (!started) release();
    });
    call.on('end', () => {
      if (finished) return;
      let snapshot: StateSnapshotBytes;
      try {
        if (holder !== self) throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, 'an empty InstallStateSnapshot stream');
        snapshot = assembler.finish();
      } catch (e) {
        fail(e);
        return;
      }
      started = true;
      // The whole snapshot is here: what is left is the node's own writes, which no timer cuts
      // short (an answer of DEADLINE_EXCEEDED then would misreport an install that goes on).
      stopTimers();
      installStateSnapshot(ctx, snapshot)
        .then(
          (committedIndex) => {
            if (finished) return;
            finished = true;
            callback(null, { committedIndex });
          },
          (e: unknown) => fail(e),
        )
        .finally(release);
    });
  };
}

/** How long one install stream may take from its first message to its end. */
const INSTALL_STREAM_MS = 120_000;
/** How long an install stream may send nothing (the proposer gives up on a silent holder after 5 s). */
const INSTALL_CHUNK_IDLE_MS = 10_000;
