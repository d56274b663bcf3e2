// The calls the page makes to the network: each with a deadline, on channels that reconnect
// within a second of a node coming back, and every failure sorted into "busy" (it answered that it
// is at one of its bounds), "paused" (the port takes the call but nothing answers: a stopped or
// overloaded process) or "down" (refused, failed).
import * as http from 'node:http';
import { type ChannelOptions, Metadata, status } from '@grpc/grpc-js';
import { channelCredentials, connectionFailure, serverNameOptions, isServiceError, type Transport, deadlineAfter } from '@paxos/grpc-kit';
import {
  AcceptorServiceClient,
  Consistency,
  type GetLeaderboardResponse,
  type GetProposalResponse,
  ReadServiceClient,
  type ReadLogResponse,
  type StatusResponse,
} from '@paxos/proto';
import { clip, type NodeState } from './network-view';

const CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 1000,
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
};

/** Largest metrics page read from the proposer. */
const METRICS_BYTES_MAX = 8 * 1024 * 1024;

type Callback<R> = (err: Error | null, res: R) => void;

function unary<R>(deadlineMs: number, call: (md: Metadata, opts: { deadline: number }, cb: Callback<R>) => unknown): Promise<R> {
  return new Promise((resolve, reject) => {
    call(new Metadata(), { deadline: deadlineAfter(deadlineMs) }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** busy, paused or down, and why, for a failed call or HTTP request. */
export function failureState(err: unknown, deadlineMs: number): { state: NodeState; reason: string } {
  const { state, reason } = failureOf(err, deadlineMs);
  // An error's details come from the node: cut to what a page shows.
  return { state, reason: clip(reason) };
}

function failureOf(err: unknown, deadlineMs: number): { state: NodeState; reason: string } {
  if (isServiceError(err)) {
    if (err.code === status.DEADLINE_EXCEEDED) return { state: 'paused', reason: `no answer within ${deadlineMs} ms` };
    // The node runs and answered: it refuses work past one of its bounds (other clients' load).
    if (err.code === status.RESOURCE_EXHAUSTED) return { state: 'busy', reason: `busy: ${err.details}` };
    // grpc-js says "No connection established. Last error: ... connect ECONNREFUSED ...": the cause is what a person needs.
    const failed = connectionFailure(err.details);
    if (failed !== undefined) return { state: 'down', reason: failed };
    return { state: 'down', reason: `${status[err.code] ?? err.code}: ${err.details}` };
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ETIMEDOUT') return { state: 'paused', reason: `no answer within ${deadlineMs} ms` };
  const failed = e?.code === undefined ? undefined : connectionFailure(e.code);
  if (failed !== undefined) return { state: 'down', reason: failed };
  return { state: 'down', reason: e?.message ?? String(err) };
}

/** One node's gRPC clients, kept open between polls. */
export class NodeClients {
  private readonly acceptor: AcceptorServiceClient;
  private readonly read: ReadServiceClient;

  constructor(readonly address: string, transport: Transport, private readonly deadlineMs: number) {
    const creds = channelCredentials(transport);
    const options = { ...CHANNEL_OPTIONS, ...serverNameOptions(transport, address) };
    this.acceptor = new AcceptorServiceClient(address, creds, options);
    this.read = new ReadServiceClient(address, creds, options);
  }

  status(): Promise<StatusResponse> {
    return unary(this.deadlineMs, (md, o, cb) => this.acceptor.status({}, md, o, cb));
  }

  /** The node's applied leaderboard (a stale read: no round to the acceptors per poll). */
  leaderboard(historyMax: number): Promise<GetLeaderboardResponse> {
    return unary(this.deadlineMs, (md, o, cb) => this.read.getLeaderboard({ consistency: Consistency.CONSISTENCY_STALE, historyMax }, md, o, cb));
  }

  readLog(fromSlot: bigint, maxEntries: number): Promise<ReadLogResponse> {
    return unary(this.deadlineMs, (md, o, cb) => this.read.readLog({ fromSlot, maxEntries }, md, o, cb));
  }

  proposal(proposalNumber: bigint): Promise<GetProposalResponse> {
    return unary(this.deadlineMs, (md, o, cb) => this.read.getProposal({ proposalNumber, consistency: Consistency.CONSISTENCY_STALE }, md, o, cb));
  }

  close(): void {
    this.acceptor.close();
    this.read.close();
  }
}

/** One connection kept open to the proposer's metrics, as Prometheus does (no new port every poll). */
const METRICS_AGENT = new http.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1, timeout: 60_000 });

/** GET http://<address>/metrics within the deadline, at most 8 MiB. */
export function scrapeMetrics(address: string, deadlineMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(`http://${address}/metrics`, { agent: METRICS_AGENT }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`metrics answered HTTP ${res.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > METRICS_BYTES_MAX) req.destroy(new Error(`metrics page larger than ${METRICS_BYTES_MAX} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      res.on('error', reject);
    });
    // One deadline for the whole exchange, however slowly the bytes come.
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${deadlineMs} ms`), { code: 'ETIMEDOUT' })), deadlineMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
