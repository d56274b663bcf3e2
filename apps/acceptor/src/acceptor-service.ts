import type { ServerReadableStream, ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type {
  AcceptRequest,
  AcceptResponse,
  AcceptorServiceServer,
  InstallStateSnapshotRequest,
  InstallStateSnapshotResponse,
  LearnRequest,
  LearnResponse,
  PrepareRequest,
  PrepareResponse,
  StatusRequest,
  StatusResponse,
} from '@paxos/proto';
import { GrpcError, GrpcStatus, type Logger, toServiceError } from '@paxos/grpc-kit';
import { acceptReplyToWire, acceptRequestFromWire, ballotToWire, prepareFromWire, prepareReplyToWire, slotValueToWire } from '@paxos/wire';
import type { AcceptorNode } from './acceptor-node';
import { buildStatus, type StatusContext } from './status';
import { streamHandler } from './stream-handler';
import type { ProposerAccess } from './proposer-access';

/** Most chosen entries, and about how many bytes of them, one Learn answer carries (at least one). */
const LEARN_ENTRIES_MAX = 1024;
const LEARN_BYTES_MAX = 4 * 1024 * 1024;

/** What the service needs of the node's agreed state beyond the node itself. */
export interface AcceptorStateContext {
  /** The slot of the latest durable state snapshot, if any (Learn names it). */
  readonly snapshotSlot: () => bigint | undefined;
  readonly installStateSnapshot: (call: ServerReadableStream<InstallStateSnapshotRequest, InstallStateSnapshotResponse>, callback: sendUnaryData<InstallStateSnapshotResponse>) => void;
}

/** paxos.v1.AcceptorService over one AcceptorNode. */
export function acceptorService(node: AcceptorNode, statusContext: StatusContext, stateContext: AcceptorStateContext, access: ProposerAccess, logger: Logger): AcceptorServiceServer {
  return {
    prepare: streamHandler<PrepareRequest, PrepareResponse>(
      node,
      { kind: 'prepare', requestId: (r) => r.requestId, toCore: (r) => ({ request: prepareFromWire(r), notices: [] }), toWire: prepareReplyToWire },
      access,
      logger,
    ),
    accept: streamHandler<AcceptRequest, AcceptResponse>(
      node,
      {
        kind: 'accept',
        requestId: (r) => r.requestId,
        toCore: acceptRequestFromWire,
        toWire: (id, reply) => acceptReplyToWire(id, reply, node.core.committedIndex),
      },
      access,
      logger,
    ),
    status(_call: ServerUnaryCall<StatusRequest, StatusResponse>, callback: sendUnaryData<StatusResponse>) {
      callback(null, buildStatus(statusContext));
    },
    learn(call: ServerUnaryCall<LearnRequest, LearnResponse>, callback: sendUnaryData<LearnResponse>) {
      const history = node.storage.history;
      const from = call.request.fromSlot;
      const max = Math.min(call.request.maxEntries || LEARN_ENTRIES_MAX, LEARN_ENTRIES_MAX);
      let chosen;
      try {
        // Below the retained history: no entries; the answer names the range and the snapshot.
        chosen = from < history.firstSlot ? [] : history.read(from, max, LEARN_BYTES_MAX);
      } catch (e) {
        logger.error({ err: e }, 'reading the chosen history failed');
        callback(toServiceError(new GrpcError(GrpcStatus.INTERNAL, `reading the chosen history failed: ${(e as Error).message}`)));
        return;
      }
      callback(null, {
        chosen: chosen.map((c) => ({ slot: c.slot, ballot: ballotToWire(c.ballot), value: slotValueToWire(c.value) })),
        committedIndex: node.core.committedIndex,
        oldestKeptSlot: history.firstSlot,
        snapshotSlot: stateContext.snapshotSlot() ?? 0n,
      });
    },
    installStateSnapshot: stateContext.installStateSnapshot,
  };
}
