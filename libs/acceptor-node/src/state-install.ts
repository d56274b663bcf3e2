import { DEFAULT_LIMITS } from '@paxos/consensus-core';
import { GrpcError, GrpcStatus, type Logger } from '@paxos/grpc-kit';
import { AgreedState, decodeStateSnapshot, type RegistryOptions } from '@paxos/state-machine';
import type { AcceptorNode } from './acceptor-node';
import type { StateApplier } from './state-applier';

export interface StateInstallContext {
  readonly node: AcceptorNode;
  readonly applier: StateApplier;
  readonly registry: Partial<RegistryOptions>;
  readonly logger: Logger;
}

/**
 * Installs another node's state snapshot (a proposer's InstallStateSnapshot, its ballot checked by
 * the caller): checked (slot, decoding) and made durable first; then the chosen history restarts
 * at its slot, the committed index moves there and the state continues from it. One at or below
 * the committed index changes nothing, except on a node without agreed state (both its snapshots
 * damaged), which takes one its history continues from. Resolves with the committed index after.
 */
export async function installStateSnapshot(ctx: StateInstallContext, snapshot: { readonly slot: bigint; readonly body: Buffer }): Promise<bigint> {
  const { node, applier, logger } = ctx;
  const core = node.core;
  const history = node.storage.history;
  // The slot every other message is held to: a snapshot beyond it could never be continued from.
  if (snapshot.slot > DEFAULT_LIMITS.slotMax) throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, `the snapshot's slot ${snapshot.slot} is above the maximum ${DEFAULT_LIMITS.slotMax}`);
  const adopt = () => !applier.hasState && snapshot.slot >= history.firstSlot && snapshot.slot <= history.endSlot;
  if (snapshot.slot <= core.committedIndex && !adopt()) return core.committedIndex;
  let state: AgreedState;
  try {
    const decoded = decodeStateSnapshot(snapshot.body);
    if (decoded.slot !== snapshot.slot) throw new Error(`its chunks say slot ${snapshot.slot}, its state slot ${decoded.slot}`);
    state = new AgreedState({ registry: ctx.registry }, decoded);
    if (state.appliedSlot !== snapshot.slot) throw new Error(`its sessions are at slot ${state.appliedSlot}, not ${snapshot.slot}`);
  } catch (e) {
    throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, `not a usable state snapshot: ${(e as Error).message}`);
  }
  try {
    await applier.keepSnapshot(snapshot.slot, snapshot.body);
  } catch (e) {
    throw new GrpcError(GrpcStatus.INTERNAL, `writing the state snapshot failed: ${(e as Error).message}`);
  }
  const from = core.committedIndex;
  if (snapshot.slot > core.committedIndex) {
    // The history restarts first: if that fails, the state stays as it was.
    node.restartHistoryAt(snapshot.slot);
    applier.install(state);
  } else if (adopt()) {
    applier.install(state);
  } else {
    return core.committedIndex; // caught up while the file was written: the history holds the slots
  }
  logger.warn(
    { slot: snapshot.slot.toString(), bytes: snapshot.body.length, committedBefore: from.toString(), committedIndex: core.committedIndex.toString() },
    'state snapshot installed: the state continues from its slot',
  );
  return core.committedIndex;
}
