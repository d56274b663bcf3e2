import { type ClientDuplexStream, credentials, Metadata } from '@grpc/grpc-js';
import {
  type ProposeBulkRequest,
  type ProposeBulkResponse,
  type ProposeRequest,
  ProposerServiceClient,
  type ProposeStreamRequest,
  type ProposeStreamResponse,
} from '@paxos/proto';

/** Channels the load generator spreads its calls over (HTTP/2 multiplexes the rest). */
export const CHANNELS = 4;

type Client = InstanceType<typeof ProposerServiceClient>;

export function openClients(address: string, count = CHANNELS): Client[] {
  return Array.from({ length: count }, (_, i) => new ProposerServiceClient(address, credentials.createInsecure(), { 'grpc.channel_id_salt': i } as object));
}

/** How long a streamed proposal waits for its answer before it counts as an error. */
const STREAM_ANSWER_DEADLINE_MS = 10_000;

/** Callers waiting for answers by client request id, each with a deadline. */
class AnswerWaiters {
  private readonly waiting = new Map<string, { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  wait(id: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, `no answer within ${STREAM_ANSWER_DEADLINE_MS} ms`), STREAM_ANSWER_DEADLINE_MS);
      this.waiting.set(id, { resolve, reject, timer });
    });
  }

  /** Resolves the caller (no error) or rejects it with the failure's message. */
  settle(id: string, error?: string): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    clearTimeout(w.timer);
    if (error === undefined) w.resolve();
    else w.reject(new Error(error));
  }

  failAll(e: Error): void {
    for (const id of [...this.waiting.keys()]) this.settle(id, e.message);
  }
}

function answerError(a: ProposeStreamResponse): string | undefined {
  if (a.result?.$case === 'chosen') return undefined;
  return a.result?.$case === 'failure' ? a.result.value.message : 'empty answer';
}

/** A unary Propose with a deadline. */
export function unaryPropose(clients: readonly Client[], value: Buffer, deadlineMs: number, tag: string) {
  return (seq: number) =>
    new Promise<void>((resolve, reject) => {
      const client = clients[seq % clients.length] as Client;
      client.propose(
        { clientRequestId: `${tag}-${seq}`, value: { contentType: 'application/octet-stream', data: value }, includeVotes: false },
        new Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err) => (err ? reject(err) : resolve()),
      );
    });
}

/**
 * Proposals over long-lived ProposeStream streams, `streamsPerChannel` on each channel, answers
 * matched by id. A stream writes its messages one after another (each waits for the previous
 * one's write), so a bulk client spreads its outstanding proposals over several streams.
 */
export function streamPropose(clients: readonly Client[], value: Buffer, tag: string, streamsPerChannel: number) {
  const waiters = new AnswerWaiters();
  const perChannel = clients.flatMap((c) => Array.from({ length: streamsPerChannel }, () => c));
  const streams: ClientDuplexStream<ProposeStreamRequest, ProposeStreamResponse>[] = perChannel.map((c) => {
    const s = c.proposeStream();
    s.on('data', (r: ProposeStreamResponse) => waiters.settle(r.clientRequestId, answerError(r)));
    s.on('error', (e: Error) => waiters.failAll(e));
    return s;
  });
  const call = (seq: number) => {
    const id = `${tag}-${seq}`;
    const answered = waiters.wait(id);
    (streams[seq % streams.length] as ClientDuplexStream<ProposeStreamRequest, ProposeStreamResponse>).write({
      proposal: { clientRequestId: id, value: { contentType: 'application/octet-stream', data: value }, includeVotes: false },
    });
    return answered;
  };
  return { call, close: () => streams.forEach((s) => s.end()) };
}

/**
 * Proposals over long-lived ProposeBulk streams: the proposals made in one turn of the event loop
 * go out together, at most `perMessage` to a message, spread over the streams.
 */
export function bulkPropose(clients: readonly Client[], value: Buffer, tag: string, streamsPerChannel: number, perMessage: number) {
  const waiters = new AnswerWaiters();
  let queued: ProposeRequest[] = [];
  let next = 0;
  const perChannel = clients.flatMap((c) => Array.from({ length: streamsPerChannel }, () => c));
  const streams: ClientDuplexStream<ProposeBulkRequest, ProposeBulkResponse>[] = perChannel.map((c) => {
    const s = c.proposeBulk();
    s.on('data', (r: ProposeBulkResponse) => {
      for (const a of r.answers) waiters.settle(a.clientRequestId, answerError(a));
    });
    s.on('error', (e: Error) => waiters.failAll(e));
    return s;
  });
  const flush = () => {
    const proposals = queued;
    queued = [];
    for (let i = 0; i < proposals.length; i += perMessage) {
      (streams[next++ % streams.length] as ClientDuplexStream<ProposeBulkRequest, ProposeBulkResponse>).write({ proposals: proposals.slice(i, i + perMessage) });
    }
  };
  const call = (seq: number) => {
    const id = `${tag}-${seq}`;
    const answered = waiters.wait(id);
    if (queued.push({ clientRequestId: id, value: { contentType: 'application/octet-stream', data: value }, includeVotes: false }) === 1) setImmediate(flush);
    return answered;
  };
  return { call, close: () => streams.forEach((s) => s.end()) };
}
