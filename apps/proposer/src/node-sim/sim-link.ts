import { status } from '@grpc/grpc-js';
import type { Ballot, Command } from '@paxos/consensus-core';
import { GrpcError } from '@paxos/grpc-kit';
import type { AcceptRequest, AcceptResponse, LearnResponse, PrepareRequest, PrepareResponse, StatusResponse, VerifyClaimsResponse } from '@paxos/proto';
import type { StateSnapshotBytes } from '@paxos/read-service';
import { commandToWire } from '@paxos/wire';
import { Observable, type Subscriber } from 'rxjs';
import type { AcceptorLink } from '../acceptor-link';
import type { SimAcceptor } from './sim-acceptor';
import type { SimNetwork } from './sim-network';

type StreamKind = 'prepare' | 'accept';

interface Pending {
  readonly kind: StreamKind;
  readonly subscriber: Subscriber<unknown>;
  readonly timer: NodeJS.Timeout;
  /** The acceptor incarnation the stream was open to. */
  readonly incarnation: number;
}

/**
 * A proposer's link to one simulated acceptor, with the contract of the gRPC link: one Prepare and
 * one Accept stream, a deadline on every request, a bound on requests in flight; any error ends
 * the stream and fails everything pending on it (INVALID_ARGUMENT from the acceptor as INTERNAL,
 * anything else as UNAVAILABLE); a crashed acceptor breaks both streams.
 */
export class SimAcceptorLink implements AcceptorLink {
  private readonly pending = new Map<bigint, Pending>();
  private nextRequestId = 1n;
  private closed = false;
  /** The acceptor incarnation each open stream goes to (a stream opens with its first request and stays). */
  private readonly streams = new Map<StreamKind, number>();
  breaks = 0;

  constructor(
    private readonly proposerId: number,
    private readonly acceptor: SimAcceptor,
    private readonly net: SimNetwork,
    private readonly opts: { readonly requestDeadlineMs: number; readonly inFlightMax: number },
  ) {}

  get nodeId(): number {
    return this.acceptor.nodeId;
  }

  get address(): string {
    return `sim:acceptor-${this.acceptor.nodeId}`;
  }

  get up(): boolean {
    return !this.closed && this.acceptor.running && !this.net.isCut(this.proposerId, this.acceptor.nodeId);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  prepare(request: Omit<PrepareRequest, 'requestId'>): Observable<PrepareResponse> {
    return this.send('prepare', (requestId) => this.acceptor.prepare({ ...request, requestId }));
  }

  accept(request: Omit<AcceptRequest, 'requestId'>): Observable<AcceptResponse> {
    return this.send('accept', (requestId) => this.acceptor.accept({ ...request, requestId }));
  }

  status(deadlineMs: number): Promise<StatusResponse> {
    return this.unary(deadlineMs, () => this.acceptor.status());
  }

  learn(fromSlot: bigint, maxEntries: number, deadlineMs: number): Promise<LearnResponse> {
    return this.unary(deadlineMs, () => this.acceptor.learn(fromSlot, maxEntries));
  }

  verifyClaims(command: Command, deadlineMs: number): Promise<VerifyClaimsResponse> {
    const wire = commandToWire(command);
    return this.unary(deadlineMs, () => this.acceptor.verifyClaims(wire));
  }

  stateSnapshot(deadlineMs: number, idleMs: number): Promise<StateSnapshotBytes> {
    // A copy, as the bytes cross the wire, in one message: its first chunk is all of it.
    return this.unary(Math.min(deadlineMs, idleMs), () => {
      const s = this.acceptor.stateSnapshot();
      return { slot: s.slot, body: Buffer.from(s.body) };
    });
  }

  installStateSnapshot(ballot: Ballot, snapshot: StateSnapshotBytes, deadlineMs: number): Promise<bigint> {
    const sent = { slot: snapshot.slot, body: Buffer.from(snapshot.body) };
    return this.unary(deadlineMs, () => this.acceptor.installStateSnapshot(ballot, sent));
  }

  close(): void {
    this.closed = true;
    this.failStreams(undefined, new GrpcError(status.CANCELLED, 'proposer is shutting down'));
  }

  /** The acceptor crashed: its streams break (the connection is reset) a moment later. */
  acceptorCrashed(incarnation: number): void {
    setTimeout(() => {
      let broke = false;
      for (const [kind, to] of [...this.streams]) {
        if (to !== incarnation) continue;
        this.streams.delete(kind);
        broke = true;
      }
      if (broke) this.breaks++;
      this.failStreams(undefined, new GrpcError(status.UNAVAILABLE, `node ${this.nodeId}: connection reset`), incarnation);
    }, 1);
  }

  private send<Res>(kind: StreamKind, handle: (requestId: bigint) => Promise<Res>): Observable<Res> {
    return new Observable<Res>((subscriber) => {
      if (this.closed) {
        subscriber.error(new GrpcError(status.CANCELLED, 'proposer is shutting down'));
        return undefined;
      }
      if (this.inFlight >= this.opts.inFlightMax) {
        subscriber.error(new GrpcError(status.RESOURCE_EXHAUSTED, `node ${this.nodeId} has ${this.inFlight} requests in flight, the bound`));
        return undefined;
      }
      const requestId = this.nextRequestId++;
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        subscriber.error(new GrpcError(status.DEADLINE_EXCEEDED, `node ${this.nodeId} did not answer within ${this.opts.requestDeadlineMs} ms`));
      }, this.opts.requestDeadlineMs);
      const incarnation = this.acceptor.incarnation;
      this.pending.set(requestId, { kind, subscriber: subscriber as Subscriber<unknown>, timer, incarnation });
      if (!this.acceptor.running) {
        setTimeout(() => this.endStream(kind, new GrpcError(status.UNAVAILABLE, `node ${this.nodeId}: connection refused`)), 1);
      } else {
        this.streams.set(kind, incarnation);
        this.net.carry(this.proposerId, this.nodeId, kind, () => {
          if (this.acceptor.incarnation !== incarnation) return; // the stream broke (acceptorCrashed fails it)
          handle(requestId).then(
            (reply) => this.net.carry(this.proposerId, this.nodeId, `${kind}-reply`, () => this.answer(requestId, incarnation, reply)),
            (err: unknown) => this.net.carry(this.proposerId, this.nodeId, `${kind}-reply`, () => this.streamError(kind, incarnation, err)),
          );
        });
      }
      return () => {
        const p = this.pending.get(requestId);
        if (p) {
          clearTimeout(p.timer);
          this.pending.delete(requestId);
        }
      };
    });
  }

  private answer(requestId: bigint, incarnation: number, reply: unknown): void {
    if (this.acceptor.incarnation !== incarnation) return;
    const p = this.pending.get(requestId);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(requestId);
    p.subscriber.next(reply);
    p.subscriber.complete();
  }

  private streamError(kind: StreamKind, incarnation: number, err: unknown): void {
    if (this.acceptor.incarnation !== incarnation) return;
    const code = err instanceof GrpcError ? err.code : status.INTERNAL;
    const reason = err instanceof Error ? err.message : String(err);
    this.breaks++;
    this.endStream(kind, new GrpcError(code === status.INVALID_ARGUMENT ? status.INTERNAL : status.UNAVAILABLE, `node ${this.nodeId}: ${status[code]}: ${reason}`));
  }

  private endStream(kind: StreamKind, err: GrpcError): void {
    this.streams.delete(kind);
    this.failStreams(kind, err);
  }

  private failStreams(kind: StreamKind | undefined, err: GrpcError, incarnation?: number): void {
    for (const [id, p] of [...this.pending]) {
      if (kind !== undefined && p.kind !== kind) continue;
      if (incarnation !== undefined && p.incarnation !== incarnation) continue;
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.subscriber.error(err);
    }
  }

  /** One request and its answer (a call that returns a promise answers once it settles). */
  private unary<T>(deadlineMs: number, call: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        reject(new GrpcError(status.DEADLINE_EXCEEDED, `node ${this.nodeId} did not answer within ${deadlineMs} ms`));
      }, deadlineMs);
      const finish = (f: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        f();
      };
      if (this.closed) return finish(() => reject(new GrpcError(status.CANCELLED, 'proposer is shutting down')));
      this.net.carry(this.proposerId, this.nodeId, 'unary', () => {
        let reply: T | Promise<T>;
        try {
          reply = call();
        } catch (e) {
          this.net.carry(this.proposerId, this.nodeId, 'unary-reply', () => finish(() => reject(e)));
          return;
        }
        if (!(reply instanceof Promise)) {
          const value = reply;
          this.net.carry(this.proposerId, this.nodeId, 'unary-reply', () => finish(() => resolve(value)));
          return;
        }
        reply.then(
          (value) => this.net.carry(this.proposerId, this.nodeId, 'unary-reply', () => finish(() => resolve(value))),
          (e: unknown) => this.net.carry(this.proposerId, this.nodeId, 'unary-reply', () => finish(() => reject(e))),
        );
      });
    });
  }
}
