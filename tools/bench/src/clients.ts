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
  const waiting = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  const perChannel = clients.flatMap((c) => Array.from({ length: streamsPerChannel }, () => c));
  const streams: ClientDuplexStream<ProposeStreamRequest, ProposeStreamResponse>[] = perChannel.map((c) => {
    const s = c.proposeStream();
    s.on('data', (r: ProposeStreamResponse) => {
      const w = waiting.get(r.clientRequestId);
      waiting.delete(r.clientRequestId);
      if (!w) return;
      if (r.result?.$case === 'chosen') w.resolve();
      else w.reject(new Error(r.result?.$case === 'failure' ? r.result.value.message : 'empty answer'));
    });
    s.on('error', (e: Error) => {
      for (const w of waiting.values()) w.reject(e);
      waiting.clear();
    });
    return s;
  });
  const call = (seq: number) =>
    new Promise<void>((resolve, reject) => {
      const id = `${tag}-${seq}`;
      waiting.set(id, { resolve, reject });
      (streams[seq % streams.length] as ClientDuplexStream<ProposeStreamRequest, ProposeStreamResponse>).write({
        proposal: { clientRequestId: id, value: { contentType: 'application/octet-stream', data: value }, includeVotes: false },
      });
    });
  return { call, close: () => streams.forEach((s) => s.end()) };
}

/**
 * Proposals over long-lived ProposeBulk streams: the proposals made in one turn of the event loop
 * go out together, at most `perMessage` to a message, spread over the streams.
 */
export function bulkPropose(clients: readonly Client[], value: Buffer, tag: string, streamsPerChannel: number, perMessage: number) {
  const waiting = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  let queued: ProposeRequest[] = [];
  let next = 0;
  const perChannel = clients.flatMap((c) => Array.from({ length: streamsPerChannel }, () => c));
  const streams: ClientDuplexStream<ProposeBulkRequest, ProposeBulkResponse>[] = perChannel.map((c) => {
    const s = c.proposeBulk();
    s.on('data', (r: ProposeBulkResponse) => {
      for (const a of r.answers) {
        const w = waiting.get(a.clientRequestId);
        waiting.delete(a.clientRequestId);
        if (!w) continue;
        if (a.result?.$case === 'chosen') w.resolve();
        else w.reject(new Error(a.result?.$case === 'failure' ? a.result.value.message : 'empty answer'));
      }
    });
    s.on('error', (e: Error) => {
      for (const w of waiting.values()) w.reject(e);
      waiting.clear();
    });
    return s;
  });
  const flush = () => {
    const proposals = queued;
    queued = [];
    for (let i = 0; i < proposals.length; i += perMessage) {
      (streams[next++ % streams.length] as ClientDuplexStream<ProposeBulkRequest, ProposeBulkResponse>).write({ proposals: proposals.slice(i, i + perMessage) });
    }
  };
  const call = (seq: number) =>
    new Promise<void>((resolve, reject) => {
      const id = `${tag}-${seq}`;
      waiting.set(id, { resolve, reject });
      if (queued.push({ clientRequestId: id, value: { contentType: 'application/octet-stream', data: value }, includeVotes: false }) === 1) setImmediate(flush);
    });
  return { call, close: () => streams.forEach((s) => s.end()) };
}
