import type { ServerReadableStream, sendUnaryData } from '@grpc/grpc-js';
import { GrpcError, GrpcStatus, type Logger, toServiceError } from '@paxos/grpc-kit';
import type { InstallStateSnapshotRequest, InstallStateSnapshotResponse } from '@paxos/proto';
import { StateSnapshotAssembler, type StateSnapshotBytes } from '@paxos/read-service';
import { AgreedState, decodeStateSnapshot, type RegistryOptions } from '@paxos/state-machine';
import { ballotFromWire } from '@paxos/wire';
import type { AcceptorNode } from './acceptor-node';
import type { StateApplier } from './state-applier';

export interface SnapshotInstallContext {
  readonly node: AcceptorNode;
  readonly applier: StateApplier;
  readonly registry: Partial<RegistryOptions>;
  readonly logger: Logger;
}

/**
 * AcceptorService.InstallStateSnapshot: a configured proposer gives an acceptor whose committed
 * index is below every other acceptor's retained history the state snapshot that covers the gap.
 * The snapshot is checked (size, CRC, decoding) and made durable first; then the chosen history
 * restarts at its slot, the committed index moves there and the state continues from it. One
 * install at a time; one at or below the committed index changes nothing.
 */
export function installStateSnapshotHandler(ctx: SnapshotInstallContext) {
  let installing = false;
  return (call: ServerReadableStream<InstallStateSnapshotRequest, InstallStateSnapshotResponse>, callback: sendUnaryData<InstallStateSnapshotResponse>): void => {
    let failed = false;
    if (installing) {
      callback(toServiceError(new GrpcError(GrpcStatus.ABORTED, 'another state snapshot is being installed on this acceptor: try again when it is done')));
      call.destroy();
      return;
    }
    installing = true;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      installing = false;
      callback(toServiceError(e));
    };
    const assembler = new StateSnapshotAssembler();
    let checkedBallot = false;
    call.on('data', (req: InstallStateSnapshotRequest) => {
      if (failed) return;
      try {
        if (!checkedBallot) {
          ctx.node.checkProposerBallot(ballotFromWire(req.ballot));
          checkedBallot = true;
        }
        assembler.add(req.chunk);
      } catch (e) {
        fail(e);
        call.destroy();
      }
    });
    // The client went away before the end: nothing was installed.
    let started = false;
    call.on('error', () => {
      if (!started) fail(new GrpcError(GrpcStatus.CANCELLED, 'the install stream broke'));
    });
    call.on('end', () => {
      if (failed) return;
      let snapshot: StateSnapshotBytes;
      try {
        snapshot = assembler.finish();
      } catch (e) {
        fail(e);
        return;
      }
      started = true;
      install(ctx, snapshot).then(
        (committedIndex) => {
          installing = false;
          callback(null, { committedIndex });
        },
        (e: unknown) => fail(e),
      );
    });
  };
}

async function install(ctx: SnapshotInstallContext, snapshot: StateSnapshotBytes): Promise<bigint> {
  const { node, applier, logger } = ctx;
  const core = node.core;
  if (snapshot.slot <= core.committedIndex) return core.committedIndex;
  let state: AgreedState;
  try {
    const decoded = decodeStateSnapshot(snapshot.body);
    if (decoded.slot !== snapshot.slot) throw new Error(`its chunks say slot ${snapshot.slot}, its state slot ${decoded.slot}`);
    state = new AgreedState({ registry: ctx.registry }, decoded);
  } catch (e) {
    throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, `not a usable state snapshot: ${(e as Error).message}`);
  }
  try {
    await applier.keepSnapshot(snapshot.slot, snapshot.body);
  } catch (e) {
    throw new GrpcError(GrpcStatus.INTERNAL, `writing the state snapshot failed: ${(e as Error).message}`);
  }
  // The node may have caught up while the file was written: then the history holds the slots.
  if (snapshot.slot <= core.committedIndex) return core.committedIndex;
  const from = core.committedIndex;
  applier.install(state);
  node.restartHistoryAt(snapshot.slot);
  logger.warn(
    { slot: snapshot.slot.toString(), bytes: snapshot.body.length, committedBefore: from.toString(), committedIndex: core.committedIndex.toString() },
    'state snapshot installed: the chosen history restarts at its slot (the slots below it are not held here)',
  );
  return core.committedIndex;
}
