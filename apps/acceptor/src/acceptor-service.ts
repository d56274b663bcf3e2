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
  VerifyClaimsRequest,
  VerifyClaimsResponse,
} from '@paxos/proto';
import { callerOf, GrpcError, GrpcStatus, type Logger, messageBytes, type PacedTurns, toServiceError } from '@paxos/grpc-kit';
import { acceptReplyToWire, acceptRequestFromWire, prepareFromWire, prepareReplyToWire } from '@paxos/wire';
import { type AcceptorNode, LEARN_BYTES_MAX, learnReplyInSlices } from '@paxos/acceptor-node';
import type { AcceptorStorage } from './storage';
import { historySlicing, PACED_ANSWER_BYTES_MAX, readFailed } from './history-read-pacer';
import { buildStatus, type StatusContext } from './status';
import { streamHandler } from './stream-handler';
import type { ProposerAccess } from './proposer-access';
import type { SourceHolder } from './source-holder';

/** What the service needs of the node's agreed state beyond the node itself. */
export interface AcceptorStateContext {
  /** The slot of the state snapshot this node gives (KeptStateSnapshots.slotToGive), if any: Learn names it. */
  readonly snapshotSlot: () => bigint | undefined;
  readonly installStateSnapshot: (call: ServerReadableStream<InstallStateSnapshotRequest, InstallStateSnapshotResponse>, callback: sendUnaryData<InstallStateSnapshotResponse>) => void;
  /** A proposer's report of the quorum's committed index, from its accept requests (history retention). */
  readonly quorumCommittedIs: (index: bigint) => void;
}

/** paxos.v1.AcceptorService over one AcceptorNode. */
export function acceptorService(
  node: AcceptorNode<AcceptorStorage>,
  statusContext: StatusContext,
  stateContext: AcceptorStateContext,
  source: Pick<SourceHolder, 'verify'>,
  access: ProposerAccess,
  clientReads: PacedTurns,
  logger: Logger,
): AcceptorServiceServer {
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
        toWire: (id, reply) => acceptReplyToWire(id, reply, node.core.committedIndex, node.storage.history.durableEnd),
        // Only from a request the node answered: one it ended the stream over (an unknown proposer,
        // a ballot not its proposer's, a bad commit) must not lift the floor under which history
        // may be dropped.
        taken: (r) => stateContext.quorumCommittedIs(r.quorumCommittedIndex),
      },
      access,
      logger,
    ),
    status(_call: ServerUnaryCall<StatusRequest, StatusResponse>, callback: sendUnaryData<StatusResponse>) {
      callback(null, buildStatus(statusContext));
    },
    learn(call: ServerUnaryCall<LearnRequest, LearnResponse>, callback: sendUnaryData<LearnResponse>) {
      const caller = callerOf(call);
      const proposer = access.isProposer(call);
      const slicing = historySlicing(caller);
      const read = () =>
        learnReplyInSlices(node, call.request, stateContext.snapshotSlot(), slicing, proposer ? LEARN_BYTES_MAX : PACED_ANSWER_BYTES_MAX).catch((e: unknown) => readFailed(e, logger));
      // A proposer's reads (catch-up, learning) go at once; every other read takes its turn in the
      // node's pace, on plaintext too, where a caller cannot be told from a proposer: unpaced there,
      // a flood of Learn calls held the event loop for seconds.
      // (A proposer's read starts a turn later, so that nothing it throws escapes the handler.)
      (proposer ? Promise.resolve().then(read) : clientReads.run(caller, read, messageBytes, slicing.bytesRead)).then(
        (reply) => callback(null, reply),
        (e: unknown) => callback(toServiceError(e)),
      );
    },
    installStateSnapshot: stateContext.installStateSnapshot,
    verifyClaims(call: ServerUnaryCall<VerifyClaimsRequest, VerifyClaimsResponse>, callback: sendUnaryData<VerifyClaimsResponse>) {
      // Verdicts cost computation (exact arithmetic on the event loop that answers votes): proposers only.
      try {
        access.proposerOf(call, 'VerifyClaims');
      } catch (e) {
        callback(toServiceError(e));
        return;
      }
      const command = call.request.command;
      if (!command?.value) {
        callback(toServiceError(new GrpcError(GrpcStatus.INVALID_ARGUMENT, 'command.value is missing: send the Monster Harmonic proposal whose claims to verify')));
        return;
      }
      const verdict = source.verify(command.value);
      if (typeof verdict === 'string') {
        callback(toServiceError(new GrpcError(GrpcStatus.INVALID_ARGUMENT, `command ${JSON.stringify(command.clientRequestId)}: ${verdict}`)));
        return;
      }
      callback(null, { acceptorId: node.nodeId, clusterSize: node.quorum.n, ...verdict });
    },
  };
}
