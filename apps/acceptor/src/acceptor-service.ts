import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type { AcceptRequest, AcceptResponse, AcceptorServiceServer, PrepareRequest, PrepareResponse, StatusRequest, StatusResponse } from '@paxos/proto';
import type { Logger } from '@paxos/grpc-kit';
import { acceptFromWire, acceptReplyToWire, prepareFromWire, prepareReplyToWire } from '@paxos/wire';
import type { AcceptorNode } from './acceptor-node';
import { buildStatus, type StatusContext } from './status';
import { streamHandler } from './stream-handler';

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
      { kind: 'accept', requestId: (r) => r.requestId, toCore: acceptFromWire, toWire: acceptReplyToWire },
      logger,
    ),
    status(_call: ServerUnaryCall<StatusRequest, StatusResponse>, callback: sendUnaryData<StatusResponse>) {
      callback(null, buildStatus(statusContext));
    },
  };
}
