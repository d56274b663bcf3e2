import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type {
  AcceptRequest,
  AcceptResponse,
  AcceptorServiceServer,
  LearnRequest,
  LearnResponse,
  PrepareRequest,
  PrepareResponse,
  StatusRequest,
  StatusResponse,
} from '@paxos/proto';
import { slotValueBytes } from '@paxos/consensus-core';
import type { Logger } from '@paxos/grpc-kit';
import { acceptFromWire, acceptReplyToWire, ballotToWire, commitBatchFromWire, piggybackedCommitsFromWire, prepareFromWire, prepareReplyToWire, slotValueToWire } from '@paxos/wire';
import type { AcceptorNode } from './acceptor-node';
import { buildStatus, type StatusContext } from './status';
import { streamHandler } from './stream-handler';

/** Most chosen entries, and value bytes, one Learn answer carries. */
const LEARN_ENTRIES_MAX = 256;
const LEARN_BYTES_MAX = 4 * 1024 * 1024;

/** paxos.v1.AcceptorService over one AcceptorNode. */
export function acceptorService(node: AcceptorNode, statusContext: StatusContext, logger: Logger): AcceptorServiceServer {
  return {
    prepare: streamHandler<PrepareRequest, PrepareResponse>(
      node,
      { kind: 'prepare', requestId: (r) => r.requestId, toCore: prepareFromWire, toWire: prepareReplyToWire },
      logger,
    ),
    accept: streamHandler<AcceptRequest, AcceptResponse>(
      node,
      {
        kind: 'accept',
        requestId: (r) => r.requestId,
        toCore: acceptFromWire,
        commits: piggybackedCommitsFromWire,
        batch: commitBatchFromWire,
        toWire: (id, reply) => acceptReplyToWire(id, reply, node.core.committedIndex),
      },
      logger,
    ),
    status(_call: ServerUnaryCall<StatusRequest, StatusResponse>, callback: sendUnaryData<StatusResponse>) {
      callback(null, buildStatus(statusContext));
    },
    learn(call: ServerUnaryCall<LearnRequest, LearnResponse>, callback: sendUnaryData<LearnResponse>) {
      const max = Math.min(call.request.maxEntries || LEARN_ENTRIES_MAX, LEARN_ENTRIES_MAX);
      const chosen = node.core.chosenFrom(call.request.fromSlot, max);
      // At least one entry, then up to LEARN_BYTES_MAX of values.
      let bytes = 0;
      const sent = chosen.filter((c, i) => (bytes += slotValueBytes(c.value)) <= LEARN_BYTES_MAX || i === 0);
      callback(null, {
        chosen: sent.map((c) => ({ slot: c.slot, ballot: ballotToWire(c.ballot), value: slotValueToWire(c.value) })),
        committedIndex: node.core.committedIndex,
        oldestKeptSlot: node.core.oldestKeptSlot,
      });
    },
  };
}
