import { type ClientDuplexStream, Metadata } from '@grpc/grpc-js';
import { channelCredentials, serverNameOptions, type Transport, deadlineAfter } from '@paxos/grpc-kit';
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

export function openClients(address: string, transport: Transport, count = CHANNELS): Client[] {
  const creds = channelCredentials(transport);
  return Array.from({ length: count }, (_, i) => new ProposerServiceClient(address, creds, { ...serverNameOptions(transport, address), 'grpc.channel_id_salt': i } as object));
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

/** What the load generator proposes: `value` as opaque bytes under the client request id `id`. */
function proposalOf(id: string, value: Buffer): ProposeRequest {
  return { clientRequestId: id, value: { contentType: 'application/octet-stream', data: value }, includeVotes: false };
}

/** `perChannel` streams on each channel, opened by `open`; a stream that breaks fails every caller still waiting. */
function openStreams<S extends NodeJS.EventEmitter>(clients: readonly Client[], perChannel: number, waiters: AnswerWaiters, open: (client: Client) => S): S[] {
  return clients.flatMap((c) =>
    Array.from({ length: perChannel }, () => {
      const s = open(c);
      s.on('error', (e: Error) => waiters.failAll(e));
      return s;
    }),
  );
}

/** A unary Propose with a deadline. */
export function unaryPropose(clients: readonly Client[], value: Buffer, deadlineMs: number, tag: string) {
  return (seq: number) =>
    new Promise<void>((resolve, reject) => {
      const client = clients[seq % clients.length] as Client;
      client.propose(proposalOf(`${tag}-${seq}`, value), new Metadata(),
        { deadline: deadlineAfter(deadlineMs) },
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
  const streams = openStreams(clients, streamsPerChannel, waiters, (c) =>
    c.proposeStream().on('data', (r: ProposeStreamResponse) => waiters.settle(r.clientRequestId, answerError(r))),
  );
  const call = (seq: number) => {
    const id = `${tag}-${seq}`;
    const answered = waiters.wait(id);
    (streams[seq % streams.length] as ClientDuplexStream<ProposeStreamRequest, ProposeStreamResponse>).write({ proposal: proposalOf(id, value) });
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
  const streams = openStreams(clients, streamsPerChannel, waiters, (c) =>
    c.proposeBulk().on('data', (r: ProposeBulkResponse) => {
      for (const a of r.answers) waiters.settle(a.clientRequestId, answerError(a));
    }),
  );
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
    if (queued.push(proposalOf(id, value)) === 1) setImmediate(flush);
    return answered;
  };
  return { call, close: () => streams.forEach((s) => s.end()) };
}
