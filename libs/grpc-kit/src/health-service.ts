import { type ServerUnaryCall, type ServerWritableStream, type sendUnaryData, status } from '@grpc/grpc-js';
import {
  type HealthCheckRequest,
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckResponse,
  type HealthListRequest,
  type HealthListResponse,
  HealthService,
  type HealthServer,
} from '@paxos/proto';
import { callerKey } from './caller';
import { CountsByKey } from './counts-by-key';
import { GrpcError, toServiceError } from './grpc-errors';
import { printable } from './printable';

export { ServingStatus };

interface Watcher {
  readonly service: string;
  readonly call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>;
  /** A status was written and its client has not taken it yet. */
  sending: boolean;
  /** The status to send once it has (the latest change). */
  next: ServingStatus | undefined;
}

/** Bound on concurrent Watch streams, so a misbehaving client cannot pile them up. */
const WATCHERS_MAX = 1024;
/** Of which one client may hold (so that one cannot take every place from the others). */
export const HEALTH_WATCHERS_PER_CLIENT_MAX = 64;

/**
 * The standard grpc.health.v1 service. The empty service name "" stands for the whole server.
 * Statuses are set by the node (e.g. NOT_SERVING while its storage fails).
 */
export class HealthRegistry {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Set<Watcher>();
  /** Watch streams open per client (callerKey); an entry goes at 0. */
  private readonly perClient = new CountsByKey(HEALTH_WATCHERS_PER_CLIENT_MAX);

  constructor(services: readonly string[], initial: ServingStatus = ServingStatus.SERVING) {
    this.statuses.set('', initial);
    for (const s of services) this.statuses.set(s, initial);
  }

  setStatus(service: string, servingStatus: ServingStatus): void {
    if (this.statuses.get(service) === servingStatus) return;
    this.statuses.set(service, servingStatus);
    for (const w of this.watchers) if (w.service === service) this.send(w, servingStatus);
  }

  /**
   * Sends a watcher its status: while one is on its way (its client has not taken it) only the
   * latest waits behind it, so a watcher that never reads holds two small messages however often
   * the status changes (each change queued another before).
   */
  private send(w: Watcher, servingStatus: ServingStatus): void {
    if (w.sending) {
      w.next = servingStatus;
      return;
    }
    w.sending = true;
    w.call.write({ status: servingStatus }, () => {
      w.sending = false;
      const next = w.next;
      w.next = undefined;
      if (next !== undefined && this.watchers.has(w)) this.send(w, next);
    });
  }

  /** Sets every registered service (and the server as a whole) at once. */
  setAll(servingStatus: ServingStatus): void {
    for (const service of [...this.statuses.keys()]) this.setStatus(service, servingStatus);
  }

  status(service = ''): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Ends every Watch stream (on shutdown). */
  close(): void {
    for (const w of this.watchers) w.call.end();
    this.watchers.clear();
    this.perClient.clear();
  }

  get service() {
    return { definition: HealthService, implementation: this.implementation() };
  }

  private implementation(): HealthServer {
    return {
      check: (call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, callback: sendUnaryData<HealthCheckResponse>) => {
        const s = this.statuses.get(call.request.service);
        // The name is the client's: a status message carries a bounded part of it (an unbounded one
        // in the trailers stalled the client's whole connection).
        if (s === undefined) callback(toServiceError(new GrpcError(status.NOT_FOUND, `unknown service "${printable(call.request.service.slice(0, 200))}"${call.request.service.length > 200 ? ' (cut)' : ''}: Check an empty name or one this node serves (List shows them)`)));
        else callback(null, { status: s });
      },
      watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
        if (this.watchers.size >= WATCHERS_MAX) {
          call.emit('error', toServiceError(new GrpcError(status.RESOURCE_EXHAUSTED, `this node already serves ${WATCHERS_MAX} health Watch streams: close one, or poll Check`)));
          return;
        }
        const client = callerKey(call, 'host');
        if (!this.perClient.take(client)) {
          call.emit('error', toServiceError(new GrpcError(status.RESOURCE_EXHAUSTED, `${printable(client)} already holds ${this.perClient.of(client)} health Watch streams on this node (at most ${HEALTH_WATCHERS_PER_CLIENT_MAX}): close one, or poll Check`)));
          return;
        }
        const watcher: Watcher = { service: call.request.service, call, sending: false, next: undefined };
        this.watchers.add(watcher);
        this.send(watcher, this.statuses.get(call.request.service) ?? ServingStatus.SERVICE_UNKNOWN);
        const drop = () => {
          if (!this.watchers.delete(watcher)) return;
          this.perClient.give(client);
        };
        call.on('cancelled', drop);
        call.on('close', drop);
        call.on('error', drop);
      },
      list: (_call: ServerUnaryCall<HealthListRequest, HealthListResponse>, callback: sendUnaryData<HealthListResponse>) => {
        const statuses: HealthListResponse['statuses'] = {};
        for (const [name, s] of this.statuses) statuses[name] = { status: s };
        callback(null, { statuses });
      },
    };
  }
}
