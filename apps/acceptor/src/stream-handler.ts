import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { AcceptorReply } from '@paxos/consensus-core';
import { GrpcError, GrpcStatus, type Logger, StreamFlow, toServiceError } from '@paxos/grpc-kit';
import { type CoreRequests, WireError } from '@paxos/wire';
import type { AcceptorNode } from '@paxos/acceptor-node';
import { ProposerAccess } from './proposer-access';

/** Requests of one stream being handled at once; past it the stream is paused (HTTP/2 flow control pushes back). */
export const STREAM_REQUESTS_IN_FLIGHT_MAX = 1024;

export interface StreamCodec<Req, Res> {
  readonly kind: 'prepare' | 'accept';
  requestId(req: Req): bigint;
  /** The request as the core's: a prepare or an accept, and the commit notices it carries (Accept stream only). */
  toCore(req: Req): CoreRequests;
  toWire(requestId: bigint, reply: AcceptorReply): Res;
  /**
   * The node answered the request (its wire form, its proposer's identity and ballot and its commit
   * notices passed their checks; the answer may still be a reject or a refusal): what else it
   * reports may be believed, as coming from a configured proposer.
   */
  taken?(req: Req): void;
}

/**
 * Serves one bidirectional Prepare or Accept stream: many requests, replies matched by request id
 * and sent as each becomes durable. A malformed request ends this stream with INVALID_ARGUMENT;
 * other streams are untouched.
 */
export function streamHandler<Req, Res>(node: AcceptorNode, codec: StreamCodec<Req, Res>, access: ProposerAccess, logger: Logger) {
  return (call: ServerDuplexStream<Req, Res>) => {
    const flow = new StreamFlow(call, STREAM_REQUESTS_IN_FLIGHT_MAX);
    const peer = call.getPeer();
    const fail = (err: GrpcError) => {
      if (flow.closed) return;
      // While storage has failed (logged once, with why) every proposer's stream ends the same way: not a line each.
      const log = node.failure === undefined ? logger.warn.bind(logger) : logger.debug.bind(logger);
      log({ peer, stream: codec.kind, code: GrpcStatus[err.code], reason: err.message }, 'ending stream');
      flow.fail(toServiceError(err));
    };
    let bound: number | undefined;
    try {
      bound = access.proposerOf(call, codec.kind === 'prepare' ? 'Prepare' : 'Accept');
    } catch (e) {
      node.counters.invalidRequests += 1n;
      fail(e as GrpcError);
      return;
    }
    call.on('data', (req: Req) => {
      if (flow.closed) return;
      let handled: () => Promise<AcceptorReply>;
      let requestId: bigint;
      try {
        requestId = codec.requestId(req);
        const { request, notices } = codec.toCore(req);
        // Commit notices carry the ballot a slot was chosen under, which may be another
        // proposer's (catch-up after a failover): the proposer's certificate is their gate.
        if (request) ProposerAccess.checkBallot(bound, request.ballot);
        handled = () => node.handle(request, notices);
      } catch (e) {
        node.counters.invalidRequests += 1n;
        fail(e instanceof GrpcError ? e : new GrpcError(GrpcStatus.INVALID_ARGUMENT, e instanceof WireError ? e.message : `malformed request: ${(e as Error).message}`));
        return;
      }
      flow.started(1);
      handled().then(
        (reply) => {
          codec.taken?.(req);
          flow.answer(codec.toWire(requestId, reply), 1);
        },
        (err: unknown) => fail(err instanceof GrpcError ? err : new GrpcError(GrpcStatus.INTERNAL, (err as Error).message)),
      );
    });
  };
}
