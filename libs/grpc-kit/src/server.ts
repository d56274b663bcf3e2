import { type Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import * as grpc from '@grpc/grpc-js';
import { HealthService, reflectionV1, reflectionV1alpha } from '@paxos/proto';
import { HealthRegistry, ServingStatus } from './health-service';
import type { Logger } from './logger';
import { reflectionServices } from './reflection-service';
import { rejectUndecodable, withUndecodableAsValue } from './undecodable-requests';
import { serverCredentials, type Transport } from './tls';
import type { Registry } from 'prom-client';
import { arrivingMessageMetrics, grpcCallMetrics, pendingAnswerGauge, refusedHandshakeCounter } from './metrics';
import { AnswerBudget } from './answer-budget';
import { boundConnections } from './connection-bounds';
import { boundPartialMessages, partialMessageBoundsFor, type PartialMessageCounts } from './partial-message-bounds';
import { CallBounds } from './call-bounds';
import { boundStatusDetails } from './grpc-errors';
import { checkIncomingHeaders, refuseMarkedCalls } from './incoming-headers';
import { endFinishedCalls } from './finished-calls';
import { reportRefusedHandshakes } from './refused-handshakes';

export interface ServiceEntry {
  /** Fully-qualified name, e.g. "paxos.v1.AcceptorService" (health reports it). */
  readonly name: string;
  readonly definition: ServiceDefinition<UntypedServiceImplementation> | object;
  readonly implementation: UntypedServiceImplementation | object;
  /**
   * The unary methods (by their names in the definition, or 'all') that only read: asking again is
   * harmless, so a large answer may be refused when its client already holds too many unread ones.
   */
  readonly readMethods?: readonly string[] | 'all';
}

export interface GrpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly services: readonly ServiceEntry[];
  /** gRPC max receive message size in bytes, set explicitly (never the library's default). */
  readonly maxReceiveBytes: number;
  readonly maxSendBytes?: number;
  /** Streams (calls) open at once on one client connection; more wait for one to end (HTTP/2 SETTINGS). */
  readonly maxConcurrentStreams?: number;
  /** Client connections open at once; one more is closed as it arrives (proposers and acceptors have places of their own). */
  readonly maxConnections?: number;
  /** Connections open at once from one client certificate (TLS). */
  readonly maxConnectionsPerClient?: number;
  /** A connection with no call for this long is closed; a silent one is pinged after keepaliveMs and dropped after keepaliveTimeoutMs more. */
  readonly idleConnectionMs?: number;
  readonly keepaliveMs?: number;
  readonly keepaliveTimeoutMs?: number;
  /** Calls open at once on the server, and from one client (call-bounds.ts). */
  readonly maxCalls?: number;
  readonly maxCallsPerClient?: number;
  /** Bytes of unary answers sent and not yet read by their clients, in all and per client (answer-budget.ts). */
  readonly maxPendingAnswerBytes?: number;
  readonly maxPendingAnswerBytesPerPeer?: number;
  /**
   * The budget of answers not yet read, made by the caller when its services' streams count their
   * answers in it too (StreamFlow); the two bounds above then are its limits.
   */
  readonly answers?: AnswerBudget;
  /** Mutual TLS with the network's certificates, or plaintext (only with --insecure). */
  readonly transport: Transport;
  /** Where the server counts its calls (grpc_server_handled_total), if the process exports metrics. */
  readonly metrics?: Registry;
  readonly logger: Logger;
}


/**
 * The bounds every server takes by default (flags in transport-options.ts): far above any client of
 * ours, bounds on a hostile one. A 23-node network with its tools uses a few dozen connections; a
 * client one to a few; an open call takes about 12 KB; a Learn or ReadLog answer is up to 4 MiB.
 */
/** What a call still open when its server shuts down is answered, with UNAVAILABLE. */
export const SHUTDOWN_DETAILS =
  'this node is shutting down: retry at another node or once it has restarted (a proposal with the same client_request_id; WatchChosen from the slot after the last one received)';
/** How long the statuses of calls ended at shutdown have to leave before the streams still open are reset. */
const SHUTDOWN_STATUS_MS = 500;

export const SERVER_BOUND_DEFAULTS = Object.freeze({
  maxConnections: 1024,
  maxConnectionsPerClient: 64,
  maxConcurrentStreams: 1024,
  maxCalls: 16_384,
  maxCallsPerClient: 4096,
  /** A connection with no call for this long is closed; a silent peer is pinged and dropped when it does not answer. */
  idleConnectionMs: 5 * 60_000,
  keepaliveMs: 60_000,
  keepaliveTimeoutMs: 20_000,
  maxPendingAnswerBytes: 256 * 1024 * 1024,
  maxPendingAnswerBytesPerPeer: 64 * 1024 * 1024,
});

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  readonly health: HealthRegistry;
  /** The unread unary answers it keeps. */
  readonly answers: AnswerBudget;
  /** Bytes of request messages still arriving that its bounds count (partial-message-bounds.ts). */
  readonly arriving: PartialMessageCounts;
  /** Graceful: stop accepting, let calls finish for up to graceMs, then force. */
  shutdown(graceMs: number): Promise<void>;
}

/** The answer budget a server with these options keeps (its bounds or the defaults). */
export function answerBudgetFor(opts: { readonly maxPendingAnswerBytes?: number; readonly maxPendingAnswerBytesPerPeer?: number }): AnswerBudget {
  return new AnswerBudget({
    totalBytes: opts.maxPendingAnswerBytes ?? SERVER_BOUND_DEFAULTS.maxPendingAnswerBytes,
    perPeerBytes: opts.maxPendingAnswerBytesPerPeer ?? SERVER_BOUND_DEFAULTS.maxPendingAnswerBytesPerPeer,
  });
}

/** Starts a gRPC server with the given services plus grpc.health.v1 and server reflection (v1, v1alpha). */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<RunningServer> {
  const D = SERVER_BOUND_DEFAULTS;
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new Error(`port ${opts.port} is outside 0..65535`);
  }
  const answers = opts.answers ?? answerBudgetFor(opts);
  const calls = new CallBounds({ total: opts.maxCalls ?? D.maxCalls, perClient: opts.maxCallsPerClient ?? D.maxCallsPerClient });
  const callMetrics = opts.metrics ? grpcCallMetrics(opts.metrics, servedPaths(opts.services), unaryPaths(opts.services)) : undefined;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxReceiveBytes,
    'grpc.max_send_message_length': opts.maxSendBytes ?? 64 * 1024 * 1024,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    'grpc.max_concurrent_streams': opts.maxConcurrentStreams ?? D.maxConcurrentStreams,
    'grpc.max_connection_idle_ms': opts.idleConnectionMs ?? D.idleConnectionMs,
    'grpc.keepalive_time_ms': opts.keepaliveMs ?? D.keepaliveMs,
    'grpc.keepalive_timeout_ms': opts.keepaliveTimeoutMs ?? D.keepaliveTimeoutMs,
    interceptors: [
      // First: the innermost, so every status (the other interceptors' too) leaves through it.
      boundStatusDetails,
      // Next: the unary calls are timed to every status the interceptors after it send too (calls
      // refused for their headers or an undecodable message, not only those the call bounds
      // refuse); every call is counted as its stream closes (countCalls, below).
      ...(callMetrics ? [callMetrics.interceptor] : []),
      refuseMarkedCalls,
      rejectUndecodable,
      calls.interceptor(),
      answers.interceptor(unaryPaths(opts.services), readPaths(opts.services)),
    ],
  });
  if (opts.metrics) pendingAnswerGauge(opts.metrics, answers);
  const health = new HealthRegistry(opts.services.map((s) => s.name));
  for (const s of opts.services) {
    server.addService(withUndecodableAsValue(s.definition as ServiceDefinition), s.implementation as UntypedServiceImplementation);
  }
  server.addService(withUndecodableAsValue(health.service.definition), health.service.implementation);
  for (const r of reflectionServices(opts.services.map((s) => s.name), undefined, answers)) {
    server.addService(withUndecodableAsValue(r.definition), r.implementation as unknown as UntypedServiceImplementation);
  }
  const address = `${opts.host}:${opts.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, serverCredentials(opts.transport), (err, bound) => {
      if (err) {
        const inUse = /EADDRINUSE|address already in use|No address added/i.test(err.message);
        reject(
          new Error(
            inUse
              ? `port ${opts.port} on ${opts.host} is already in use: stop the process holding it or choose another port with --port`
              : `cannot listen on ${address}: ${err.message}`,
          ),
        );
      } else resolve(bound);
    });
  });
  checkIncomingHeaders(server, opts.logger);
  callMetrics?.countCalls(server, opts.logger);
  endFinishedCalls(server, opts.logger);
  boundConnections(
    server,
    { max: opts.maxConnections ?? D.maxConnections, perClientMax: opts.maxConnectionsPerClient ?? D.maxConnectionsPerClient },
    opts.transport.kind === 'tls',
    opts.logger,
  );
  let countReset: ((streams: number) => void) | undefined;
  const arriving = boundPartialMessages(server, partialMessageBoundsFor(opts.maxReceiveBytes), opts.transport.kind === 'tls', opts.logger, (n) => countReset?.(n));
  if (opts.metrics) countReset = arrivingMessageMetrics(opts.metrics, arriving);
  const refusedHandshakes = opts.transport.kind === 'tls' ? reportRefusedHandshakes(server, opts.logger, opts.metrics ? refusedHandshakeCounter(opts.metrics) : undefined) : undefined;
  opts.logger.info(
    { address: `${opts.host}:${port}`, services: opts.services.map((s) => s.name), tls: opts.transport.kind === 'tls' ? opts.transport.identity.name : 'off (--insecure)' },
    'gRPC server listening',
  );
  let closing: Promise<void> | undefined;
  return {
    server,
    port,
    health,
    answers,
    arriving,
    shutdown(graceMs: number) {
      closing ??= new Promise<void>((resolve) => {
        refusedHandshakes?.stop();
        health.setAll(ServingStatus.NOT_SERVING);
        health.close();
        let reset: NodeJS.Timeout | undefined;
        const force = setTimeout(() => {
          // Calls still open at the grace's end are answered UNAVAILABLE first (clients retry
          // it; the streams reset below would read as CANCELLED to them), then given a moment
          // for those statuses to leave before whatever is still open is reset.
          calls.endAll(grpc.status.UNAVAILABLE, SHUTDOWN_DETAILS);
          reset = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, Math.min(graceMs, SHUTDOWN_STATUS_MS));
          reset.unref();
        }, graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          clearTimeout(reset);
          resolve();
        });
      });
      return closing;
    },
  };
}

type MethodShape = { readonly path: string; readonly requestStream: boolean; readonly responseStream: boolean };
/** The paths of the unary methods the services declare as reads. */
function readPaths(services: readonly ServiceEntry[]): Set<string> {
  const paths = new Set<string>();
  for (const s of services) {
    const methods = s.definition as Record<string, MethodShape>;
    const names = s.readMethods === 'all' ? Object.keys(methods) : (s.readMethods ?? []);
    for (const name of names) {
      const m = methods[name];
      if (!m) throw new Error(`${s.name} has no method ${name} to declare as a read`);
      if (!m.requestStream && !m.responseStream) paths.add(m.path);
    }
  }
  return paths;
}
const methodsOf = (services: readonly ServiceEntry[]): MethodShape[] => services.flatMap((s) => Object.values(s.definition as Record<string, MethodShape>));
/**
 * The services every server serves beside its own, as method shapes: read from their definitions,
 * so that a method of theirs (health's List) is never missing from the paths below.
 */
const ALWAYS_SERVED_METHODS: readonly MethodShape[] = [HealthService, reflectionV1.ServerReflectionService, reflectionV1alpha.ServerReflectionService].flatMap((d) => Object.values(d as Record<string, MethodShape>));
/** The paths of the services' methods (with health and reflection, which every server serves). */
function servedPaths(services: readonly ServiceEntry[]): Set<string> {
  return new Set([...methodsOf(services), ...ALWAYS_SERVED_METHODS].map((m) => m.path));
}
function unaryPaths(services: readonly ServiceEntry[]): Set<string> {
  return new Set([...methodsOf(services), ...ALWAYS_SERVED_METHODS].filter((m) => !m.requestStream && !m.responseStream).map((m) => m.path));
}
