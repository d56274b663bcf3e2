import { type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js';
import { type AnswerBudget, deadlineLeft, GrpcError, type Logger, StreamFlow, toServiceError } from '@paxos/grpc-kit';
import type {
  ClusterStatusRequest,
  ClusterStatusResponse,
  ProposeBulkRequest,
  ProposeBulkResponse,
  ProposeRequest,
  ProposeResponse,
  ProposerServiceServer,
  ProposeStreamRequest,
  ProposeStreamResponse,
} from '@paxos/proto';
import { ballotToWire } from '@paxos/wire';
import type { AcceptorLink } from './acceptor-link';
import type { ProposeApi, ProposerMetrics } from './proposer-metrics';
import { chunksOf } from './chunks';
import { clusterStatus, ClusterStatusRounds } from './cluster-status';
import type { ProposerNode, ProposeOutcome } from './proposer-node';
import type { ValueChecker } from './value-check';
import { WATCHER_BUFFER_BYTES, WATCHER_STALL_MS, WATCHERS_MAX, WATCHERS_PER_CLIENT_MAX, watchChosenHandler } from './watch-chosen';

/** Proposals awaiting an answer on one ProposeStream or ProposeBulk stream, by default; past it the stream is paused. */
const STREAM_PROPOSALS_IN_FLIGHT_MAX = 4096;
/**
 * What one proposal read from a ProposeStream or ProposeBulk stream costs the proposer while its
 * answer is awaited (its decoded request, its waiter, timer and promises), counted in its client's
 * share of the answer budget: measured at 3.1-3.4 KB of heap with a 256-character id and content
 * type. Counted at the 256 bytes of an answer's place, a client's 64 MiB share let it keep
 * 262,144 proposals waiting (a retry of one id in flight, sent again and again), about 850 MB.
 */
export const PROPOSAL_AWAITED_BYTES = 4096;
/** Proposals one ProposeBulk message may carry, and answers one reply carries. */
const BULK_PROPOSALS_MAX = 1024;
/** A ProposeBulk reply is cut before its answers reach about this many bytes (clients receive 4 MiB by default). */
const BULK_REPLY_BYTES_MAX = 1024 * 1024;

/** About how many bytes an answer takes on the wire (votes are the big part). */
function answerBytes(a: ProposeStreamResponse): number {
  const r = a.result;
  if (r?.$case === 'failure') return 64 + a.clientRequestId.length + r.value.message.length;
  return 160 + 2 * a.clientRequestId.length + (r?.$case === 'chosen' ? r.value.votes.reduce((s, v) => s + 96 + v.address.length + v.detail.length, 0) : 0);
}

/** Default and largest per-node deadline of ClusterStatus. */
const NODE_DEADLINE_MS_DEFAULT = 1000;
const NODE_DEADLINE_MS_MAX = 30_000;

export interface ProposerServiceDeps {
  readonly node: ProposerNode;
  readonly links: readonly AcceptorLink[];
  readonly checker: ValueChecker;
  readonly proposeTimeoutMs: number;
  /** Where answered proposals are timed (absent: not measured). */
  readonly metrics?: ProposerMetrics;
  /** WatchChosen streams served at once (default WATCHERS_MAX). */
  readonly maxWatchers?: number;
  /** Bytes of chosen slots that may wait for one watcher, and how long it may take nothing (watch-chosen.ts). */
  readonly watcherBufferBytes?: number;
  readonly watcherStallMs?: number;
  readonly maxWatchersPerClient?: number;
  /** Proposals awaiting an answer on one ProposeStream or ProposeBulk stream (default STREAM_PROPOSALS_IN_FLIGHT_MAX). */
  readonly maxInFlightPerStream?: number;
  /** A ProposeStream or ProposeBulk stream with nothing in flight and no request this long is closed (UNAVAILABLE). */
  readonly streamIdleMs?: number;
  /**
   * The server's budget of answers not yet read (startGrpcServer's `answers`): ProposeStream and
   * ProposeBulk answers a client has not taken count in it, and its streams stop reading at its share.
   */
  readonly answers?: AnswerBudget;
  readonly logger: Logger;
}

function toResponse(o: ProposeOutcome, includeVotes: boolean): ProposeResponse {
  return {
    clientRequestId: o.clientRequestId,
    slot: o.slot,
    ...(o.ballot !== undefined ? { ballot: ballotToWire(o.ballot) } : {}),
    valueDigest: o.valueDigest ?? '',
    duplicate: o.duplicate,
    votes: includeVotes ? [...o.votes] : [],
  };
}

/**
 * Where a stream's proposals register to be given up when its client cancels it: the function
 * given is called then; the one returned unregisters it (the proposal settled).
 */
type OnGiveUp = (giveUp: () => void) => () => void;

/** The OnGiveUp of one stream: every proposal still waiting stops waiting when its client cancels. */
function givingUpWith(call: { once(event: 'cancelled', f: () => void): unknown }): OnGiveUp {
  const waiting = new Set<() => void>();
  call.once('cancelled', () => {
    const all = [...waiting];
    waiting.clear();
    for (const giveUp of all) giveUp();
  });
  return (giveUp) => {
    waiting.add(giveUp);
    return () => waiting.delete(giveUp);
  };
}

/** Validates and proposes one value; settles within the deadline. Its answer is timed by API and outcome. */
function proposeOnce(deps: ProposerServiceDeps, request: ProposeRequest, deadlineMs: number, api: ProposeApi, onGiveUp?: OnGiveUp): Promise<ProposeResponse> {
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  return proposeUntimed(deps, request, deadlineMs, api, onGiveUp).then(
    (r) => {
      deps.metrics?.answered(api, r.duplicate ? 'duplicate' : 'chosen', seconds());
      return r;
    },
    (e: unknown) => {
      deps.metrics?.answered(api, 'failed', seconds());
      throw e;
    },
  );
}

function proposeUntimed(deps: ProposerServiceDeps, request: ProposeRequest, deadlineMs: number, api: ProposeApi, onGiveUp?: OnGiveUp): Promise<ProposeResponse> {
  let command;
  try {
    command = deps.checker.check(request.clientRequestId, request.value);
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise<ProposeResponse>((resolve, reject) => {
    let settled = false;
    let unregister = (): void => undefined;
    const onChosen = (o: ProposeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unregister();
      resolve(toResponse(o, request.includeVotes));
    };
    // The client cancelled its call or stream: stop waiting, so that the id's first answer (a retry's) says it is not a duplicate.
    const giveUp = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      deps.node.abandon(command.clientRequestId, onChosen);
      reject(new GrpcError(status.CANCELLED, `the client cancelled the ${api === 'unary' ? 'call' : 'stream'}; the proposal may still be chosen: retry with the same client_request_id`));
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      unregister();
      deps.node.abandon(command.clientRequestId, onChosen);
      const why = deps.node.learning ?? `${deps.node.reachable()} of ${deps.node.quorum.n} acceptors reachable, ${deps.node.quorum.q} needed`;
      reject(new GrpcError(status.DEADLINE_EXCEEDED, `not chosen within ${deadlineMs} ms (${why}); it may still be chosen: retry with the same client_request_id`));
    }, deadlineMs);
    if (onGiveUp) unregister = onGiveUp(giveUp);
    deps.node.propose(command, onChosen).then(onChosen, (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unregister();
      reject(err);
    });
  });
}

/** One proposal's outcome as a stream answer: chosen, or the failure's code and reason. */
function answerOf(deps: ProposerServiceDeps, proposal: ProposeRequest, api: ProposeApi, onGiveUp?: OnGiveUp): Promise<ProposeStreamResponse> {
  return proposeOnce(deps, proposal, deps.proposeTimeoutMs, api, onGiveUp).then(
    (r): ProposeStreamResponse => ({ clientRequestId: proposal.clientRequestId, result: { $case: 'chosen', value: r } }),
    (e: unknown): ProposeStreamResponse => {
      const se = toServiceError(e);
      return { clientRequestId: proposal.clientRequestId, result: { $case: 'failure', value: { code: se.code ?? status.INTERNAL, message: se.details ?? '' } } };
    },
  );
}

/** What is left of a call's deadline (at most an hour; 0 or less once it passed), or `fallbackMs` when its client set none. */
function remainingOf(left: () => number, fallbackMs: number): number {
  const ms = left();
  return Number.isFinite(ms) ? Math.min(ms, 3_600_000) : fallbackMs;
}

/** True when the stream's client cancelled it or its deadline passed: its messages not yet proposed are not. */
function streamGivenUp(call: { cancelled: boolean }, left: () => number): boolean {
  return call.cancelled || left() <= 0;
}

/** A client stream idle this long is closed, by default. */
const STREAM_IDLE_MS = 10 * 60_000;

function idleBound(deps: ProposerServiceDeps): { ms: number; message: string } {
  const ms = deps.streamIdleMs ?? STREAM_IDLE_MS;
  return { ms, message: `this stream sent no proposal and awaited no answer for ${ms} ms (--stream-idle-ms): closed; open a new one when you need it` };
}

export function proposerService(deps: ProposerServiceDeps): ProposerServiceServer {
  const statusRounds = new ClusterStatusRounds((nodeDeadlineMs) => clusterStatus(deps.links, deps.node.quorum, nodeDeadlineMs, () => deps.node.cannotChoose, () => deps.node.learning));
  return {
    propose(call: ServerUnaryCall<ProposeRequest, ProposeResponse>, callback: sendUnaryData<ProposeResponse>) {
      // A proposer paused with calls in its socket reads each call's request and its client's
      // cancellation together when it resumes (grpc-js reads the relative grpc-timeout then, so the
      // deadline looks fresh): the cancellation is seen a turn later. Such a call is not proposed:
      // it would only fill a slot with a copy its client's retry elsewhere has made already.
      const left = deadlineLeft(call);
      const refuseLate = (): boolean => {
        if (remainingOf(left, deps.proposeTimeoutMs) > 0 && !call.cancelled) return false;
        callback(toServiceError(new GrpcError(status.DEADLINE_EXCEEDED, `the call's deadline passed or its client cancelled it before this proposer read it (paused or overloaded?): not proposed; retry with the same client_request_id`)));
        return true;
      };
      if (refuseLate()) return;
      // A call its client cancels no longer counts against --max-calls-per-client: its waiter and
      // deadline timer go with it (not at its deadline, up to an hour later), as a stream's do, so
      // cancelling and sending again cannot pile them up; the proposal may still be chosen.
      const onGiveUp = givingUpWith(call);
      setImmediate(() => {
        if (refuseLate()) return;
        proposeOnce(deps, call.request, remainingOf(left, deps.proposeTimeoutMs), 'unary', onGiveUp).then(
          (r) => callback(null, r),
          (e: unknown) => callback(toServiceError(e)),
        );
      });
    },

    proposeStream(call: ServerDuplexStream<ProposeStreamRequest, ProposeStreamResponse>) {
      const flow = new StreamFlow(call, deps.maxInFlightPerStream ?? STREAM_PROPOSALS_IN_FLIGHT_MAX, idleBound(deps), deps.answers, PROPOSAL_AWAITED_BYTES);
      const onGiveUp = givingUpWith(call);
      const left = deadlineLeft(call);
      call.on('data', (req: ProposeStreamRequest) => {
        flow.started(1);
        const proposal = req.proposal;
        if (!proposal) {
          // Answered as a failure of that message, as a malformed proposal is; the stream goes on.
          const failure = { code: status.INVALID_ARGUMENT, message: 'this ProposeStream message carries no proposal: set its proposal field' };
          void Promise.resolve().then(() => flow.answer({ clientRequestId: '', result: { $case: 'failure', value: failure } }, 1));
          return;
        }
        // As for unary Propose: a stream its client gave up on while this proposer was paused is
        // seen cancelled a turn after its messages; their proposals are then not proposed.
        setImmediate(() => {
          if (streamGivenUp(call, left)) return;
          void answerOf(deps, proposal, 'stream', onGiveUp).then((answer) => flow.answer(answer, 1));
        });
      });
    },

    proposeBulk(call: ServerDuplexStream<ProposeBulkRequest, ProposeBulkResponse>) {
      const flow = new StreamFlow(call, deps.maxInFlightPerStream ?? STREAM_PROPOSALS_IN_FLIGHT_MAX, idleBound(deps), deps.answers, PROPOSAL_AWAITED_BYTES);
      let settled: ProposeStreamResponse[] = [];
      const onGiveUp = givingUpWith(call);
      const left = deadlineLeft(call);
      // Answers settled in one turn of the event loop (a slot's values) leave in one message.
      const flush = () => {
        const answers = settled;
        settled = [];
        for (const reply of chunksOf(answers, BULK_PROPOSALS_MAX, BULK_REPLY_BYTES_MAX, answerBytes)) flow.answer({ answers: reply }, reply.length);
      };
      call.on('data', (req: ProposeBulkRequest) => {
        if (!flow.accepting) return;
        if (req.proposals.length === 0 || req.proposals.length > BULK_PROPOSALS_MAX) {
          // The proposals read before it are still answered; then the stream ends.
          flow.failAfterAnswers(
            toServiceError(new GrpcError(status.INVALID_ARGUMENT, `a ProposeBulk message carries 1..${BULK_PROPOSALS_MAX} proposals, this one ${req.proposals.length}: none of it was proposed, and the stream ends once the proposals before it are answered`)),
          );
          return;
        }
        flow.started(req.proposals.length);
        setImmediate(() => {
          if (streamGivenUp(call, left)) return;
          for (const proposal of req.proposals) {
            void answerOf(deps, proposal, 'bulk', onGiveUp).then((answer) => {
              if (settled.push(answer) === 1) setImmediate(flush);
            });
          }
        });
      });
    },

    watchChosen: watchChosenHandler(deps.node, { maxWatchers: deps.maxWatchers ?? WATCHERS_MAX, maxWatchersPerClient: deps.maxWatchersPerClient ?? WATCHERS_PER_CLIENT_MAX, bufferBytes: deps.watcherBufferBytes ?? WATCHER_BUFFER_BYTES, stallMs: deps.watcherStallMs ?? WATCHER_STALL_MS, answers: deps.answers }, deps.logger),

    clusterStatus(call: ServerUnaryCall<ClusterStatusRequest, ClusterStatusResponse>, callback: sendUnaryData<ClusterStatusResponse>) {
      const asked = call.request.nodeDeadlineMs;
      if (asked > NODE_DEADLINE_MS_MAX) {
        callback(toServiceError(new GrpcError(status.INVALID_ARGUMENT, `node_deadline_ms ${asked} is above ${NODE_DEADLINE_MS_MAX}`)));
        return;
      }
      statusRounds.ask(asked || NODE_DEADLINE_MS_DEFAULT).then(
        (r) => callback(null, r),
        (e: unknown) => callback(toServiceError(e)),
      );
    },
  };
}
