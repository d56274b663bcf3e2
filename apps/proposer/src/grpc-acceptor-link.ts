import { type ClientDuplexStream, connectivityState, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { messageBytes, channelCredentials, GrpcError, serverNameOptions, type Logger, type Transport, deadlineAfter } from '@paxos/grpc-kit';
import {
  type AcceptRequest,
  type AcceptResponse,
  AcceptorServiceClient,
  type InstallStateSnapshotRequest,
  type LearnResponse,
  ReadServiceClient,
  type PrepareRequest,
  type PrepareResponse,
  type StatusResponse,
  type VerifyClaimsResponse,
} from '@paxos/proto';
import type { Ballot, Command } from '@paxos/consensus-core';
import { StateSnapshotAssembler, type StateSnapshotBytes, stateSnapshotChunks } from '@paxos/read-service';
import { ballotToWire, commandToWire } from '@paxos/wire';
import { Observable } from 'rxjs';
import type { AcceptorLink } from './acceptor-link';

export interface LinkOptions {
  /** Deadline of every request sent on a stream. */
  readonly requestDeadlineMs: number;
  /** Bound on requests awaiting a reply on this link; past it a request fails at once. */
  readonly inFlightMax: number;
  /**
   * Bound on the bytes of requests written to one stream and not yet taken by the transport (an
   * acceptor that is paused or does not read); past it a request fails at once with UNAVAILABLE
   * instead of waiting in memory. Requests that passed their deadline still count until sent.
   */
  readonly unsentBytesMax: number;
  /** Channel reconnect back-off (grpc's own, exponential with jitter), capped. */
  readonly reconnectBackoffMsMin: number;
  readonly reconnectBackoffMsMax: number;
  readonly maxMessageBytes: number;
  /** The proposer's certificate (mutual TLS), or plaintext. */
  readonly transport: Transport;
  readonly logger: Logger;
}

interface Pending<R> {
  readonly resolve: (reply: R) => void;
  readonly reject: (err: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

type StreamKind = 'prepare' | 'accept';

/** An open stream and the bytes written to it that the transport has not taken yet. */
interface OpenStream {
  readonly call: ClientDuplexStream<unknown, unknown>;
  unsentBytes: number;
}

/**
 * One acceptor over gRPC: a channel with one long-lived Prepare stream and one
 * long-lived Accept stream, requests multiplexed by request id, a deadline on every request, a
 * bound on requests in flight. A broken stream fails its pending requests with UNAVAILABLE and is
 * reopened on the next request; the channel reconnects on its own with capped back-off.
 */
export class GrpcAcceptorLink implements AcceptorLink {
  private readonly client: InstanceType<typeof AcceptorServiceClient>;
  /** ReadService on the same channel (state snapshots). */
  private readonly reads: InstanceType<typeof ReadServiceClient>;
  private readonly streams: { prepare?: OpenStream; accept?: OpenStream } = {};
  private readonly pending = { prepare: new Map<bigint, Pending<PrepareResponse>>(), accept: new Map<bigint, Pending<AcceptResponse>>() };
  private nextRequestId = 1n;
  private closed = false;
  /** How many times a stream to this acceptor broke: a change means it may have restarted. */
  breaks = 0;

  constructor(
    readonly nodeId: number,
    readonly address: string,
    private readonly opts: LinkOptions,
  ) {
    // The acceptor must present its own certificate: another of the network's cannot stand in for it.
    const peer = `acceptor-${nodeId}`;
    const creds = channelCredentials(opts.transport, peer);
    this.client = new AcceptorServiceClient(address, creds, {
      ...serverNameOptions(opts.transport, address, peer),
      'grpc.initial_reconnect_backoff_ms': opts.reconnectBackoffMsMin,
      'grpc.min_reconnect_backoff_ms': opts.reconnectBackoffMsMin,
      'grpc.max_reconnect_backoff_ms': opts.reconnectBackoffMsMax,
      'grpc.keepalive_time_ms': 15_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.max_receive_message_length': opts.maxMessageBytes,
      'grpc.max_send_message_length': opts.maxMessageBytes,
    });
    this.reads = new ReadServiceClient(address, creds, { channelOverride: this.client.getChannel() });
    // Start connecting now, so the first round does not pay for it.
    this.client.getChannel().getConnectivityState(true);
  }

  /** True when the channel is connected (READY). Asks an idle channel to connect. */
  get up(): boolean {
    return this.client.getChannel().getConnectivityState(true) === connectivityState.READY;
  }

  get inFlight(): number {
    return this.pending.prepare.size + this.pending.accept.size;
  }

  prepare(request: Omit<PrepareRequest, 'requestId'>): Observable<PrepareResponse> {
    return this.send('prepare', (requestId) => ({ ...request, requestId }));
  }

  /** An accept, commit notices, or both, in one request on the Accept stream. */
  accept(request: Omit<AcceptRequest, 'requestId'>): Observable<AcceptResponse> {
    return this.send('accept', (requestId) => ({ ...request, requestId }));
  }

  status(deadlineMs: number): Promise<StatusResponse> {
    return new Promise((resolve, reject) => {
      this.client.status({}, new Metadata(), { deadline: deadlineAfter(deadlineMs) }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  learn(fromSlot: bigint, maxEntries: number, deadlineMs: number): Promise<LearnResponse> {
    return new Promise((resolve, reject) => {
      this.client.learn({ fromSlot, maxEntries }, new Metadata(), { deadline: deadlineAfter(deadlineMs) }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  verifyClaims(command: Command, deadlineMs: number): Promise<VerifyClaimsResponse> {
    return new Promise((resolve, reject) => {
      this.client.verifyClaims({ command: commandToWire(command) }, new Metadata(), { deadline: deadlineAfter(deadlineMs) }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  /** The acceptor's latest durable state snapshot (ReadService.GetStateSnapshot), checked whole. */
  stateSnapshot(deadlineMs: number, idleMs: number): Promise<StateSnapshotBytes> {
    return new Promise((resolve, reject) => {
      const call = this.reads.getStateSnapshot({}, new Metadata(), { deadline: deadlineAfter(deadlineMs) });
      const assembler = new StateSnapshotAssembler();
      let failed = false;
      let idle: NodeJS.Timeout | undefined;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        clearTimeout(idle);
        call.cancel();
        reject(e);
      };
      // The acceptor sends its snapshot from memory at once: silence means it is paused or cut off.
      const quiet = () => {
        clearTimeout(idle);
        idle = setTimeout(() => fail(new GrpcError(status.UNAVAILABLE, `node ${this.nodeId} sent no state snapshot chunk for ${idleMs} ms`)), idleMs);
      };
      quiet();
      call.on('data', (r: { chunk?: InstallStateSnapshotRequest['chunk'] }) => {
        if (failed) return;
        quiet();
        try {
          assembler.add(r.chunk);
        } catch (e) {
          fail(new GrpcError(status.INTERNAL, `node ${this.nodeId} sent a malformed state snapshot: ${(e as Error).message}`));
        }
      });
      call.on('error', (e) => {
        clearTimeout(idle);
        if (!failed) reject(e);
        failed = true;
      });
      call.on('end', () => {
        clearTimeout(idle);
        if (failed) return;
        try {
          resolve(assembler.finish());
        } catch (e) {
          reject(new GrpcError(status.INTERNAL, `node ${this.nodeId} sent a malformed state snapshot: ${(e as Error).message}`));
        }
      });
    });
  }

  /** Gives the acceptor a state snapshot (AcceptorService.InstallStateSnapshot); resolves with its committed index after. */
  installStateSnapshot(ballot: Ballot, snapshot: StateSnapshotBytes, deadlineMs: number): Promise<bigint> {
    return new Promise((resolve, reject) => {
      const call = this.client.installStateSnapshot(new Metadata(), { deadline: deadlineAfter(deadlineMs) }, (err, res) => (err ? reject(err) : resolve(res.committedIndex)));
      const chunks = stateSnapshotChunks(snapshot);
      const wire = ballotToWire(ballot);
      // Each chunk goes when the stream has room for it (one chunk buffered at a time).
      const next = (): void => {
        for (let c = chunks.next(); !c.done; c = chunks.next()) {
          if (!call.write({ ballot: wire, chunk: c.value })) {
            call.once('drain', next);
            return;
          }
        }
        call.end();
      };
      next();
    });
  }

  close(): void {
    this.closed = true;
    for (const kind of ['prepare', 'accept'] as const) this.failStream(kind, new GrpcError(status.CANCELLED, 'proposer is shutting down'));
    this.client.close();
    this.reads.close();
  }

  private send<Req extends { requestId: bigint }, Res>(kind: StreamKind, build: (requestId: bigint) => Req): Observable<Res> {
    return new Observable<Res>((subscriber) => {
      if (this.closed) {
        subscriber.error(new GrpcError(status.CANCELLED, 'proposer is shutting down'));
        return undefined;
      }
      if (this.inFlight >= this.opts.inFlightMax) {
        subscriber.error(new GrpcError(status.RESOURCE_EXHAUSTED, `node ${this.nodeId} (${this.address}) has ${this.inFlight} requests in flight, the bound`));
        return undefined;
      }
      const open = this.stream(kind);
      if (open.unsentBytes >= this.opts.unsentBytesMax) {
        subscriber.error(
          new GrpcError(status.UNAVAILABLE, `node ${this.nodeId} (${this.address}) is not taking what was sent: ${open.unsentBytes} bytes of requests wait to be written (paused, or not reading)`),
        );
        return undefined;
      }
      const requestId = this.nextRequestId++;
      const table = this.pending[kind] as unknown as Map<bigint, Pending<Res>>;
      const timer = setTimeout(() => {
        table.delete(requestId);
        subscriber.error(new GrpcError(status.DEADLINE_EXCEEDED, `node ${this.nodeId} (${this.address}) did not answer within ${this.opts.requestDeadlineMs} ms`));
      }, this.opts.requestDeadlineMs);
      table.set(requestId, {
        resolve: (reply) => {
          subscriber.next(reply);
          subscriber.complete();
        },
        reject: (err) => subscriber.error(err),
        timer,
      });
      let bytes = 0;
      try {
        const request = build(requestId);
        bytes = messageBytes(request);
        open.unsentBytes += bytes;
        open.call.write(request, () => {
          open.unsentBytes -= bytes;
        });
      } catch (err) {
        open.unsentBytes -= bytes;
        clearTimeout(timer);
        table.delete(requestId);
        subscriber.error(err);
      }
      // Unsubscribing (a quorum reached without this reply) forgets the request; a late reply is dropped.
      return () => {
        const p = table.get(requestId);
        if (p) {
          clearTimeout(p.timer);
          table.delete(requestId);
        }
      };
    });
  }

  private stream(kind: StreamKind): OpenStream {
    const existing = this.streams[kind];
    if (existing) return existing;
    const call = (kind === 'prepare' ? this.client.prepare() : this.client.accept()) as ClientDuplexStream<unknown, unknown>;
    const open: OpenStream = { call, unsentBytes: 0 };
    const table = this.pending[kind] as Map<bigint, Pending<{ requestId: bigint }>>;
    call.on('data', (reply: { requestId: bigint }) => {
      const p = table.get(reply.requestId);
      if (!p) return; // answered after its deadline or after the quorum was reached
      clearTimeout(p.timer);
      table.delete(reply.requestId);
      p.resolve(reply);
    });
    const broken = (err: ServiceError | undefined) => {
      if (this.streams[kind] !== open) return;
      if (!this.closed) this.breaks += 1;
      const reason = err ? `${status[err.code] ?? err.code}: ${err.details}` : 'the acceptor ended the stream';
      if (!this.closed) this.opts.logger.debug({ node: this.nodeId, stream: kind, reason }, 'stream to acceptor broke');
      this.failStream(kind, new GrpcError(err?.code === status.INVALID_ARGUMENT ? status.INTERNAL : status.UNAVAILABLE, `node ${this.nodeId} (${this.address}): ${reason}`));
    };
    call.on('error', (err: ServiceError) => broken(err));
    call.on('end', () => broken(undefined));
    this.streams[kind] = open;
    return open;
  }

  private failStream(kind: StreamKind, err: GrpcError): void {
    const open = this.streams[kind];
    delete this.streams[kind];
    open?.call.cancel();
    const table = this.pending[kind] as Map<bigint, Pending<unknown>>;
    for (const p of table.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    table.clear();
  }
}
