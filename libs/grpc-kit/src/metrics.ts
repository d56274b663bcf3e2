// Prometheus metrics of a process (prom-client): one registry per process with the Node and
// process defaults, an HTTP endpoint serving it at /metrics, and a server interceptor counting
// gRPC calls by method and code. Names follow Prometheus conventions (`_total`, `_seconds`,
// `_bytes`); every label takes a bounded set of values (methods the server serves, status codes).
import * as http from 'node:http';
import { constants as http2Constants, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import {
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ResponderBuilder,
  type Server,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status,
} from '@grpc/grpc-js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { httpRefusal } from './address-bounds';
import { EVENT_LOOP_SAMPLE_MS, reportDelayBeyondTick } from './event-loop-delay';
import { boundHttpConnections, boundUnreadBody, pipelinedAnswersBound, refuseConnectMethod, refusedForHost } from './http-bounds';
import { listeningServers } from './listening-servers';
import { timeoutMs } from './incoming-headers';
import type { Logger } from './logger';

/** A registry with the process's default metrics, every series labelled with the node's name. */
export function createMetricsRegistry(node: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  reportDelayBeyondTick(registry);
  return registry;
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Scrapes within this of one another are answered with the same text (values at most this old):
 * rendering every metric runs on the node's own event loop (an acceptor's votes wait for it), and
 * a client scraping 278 times a second took 56 % of a core from one. Prometheus scrapes every
 * few seconds, the status page every second.
 */
export const METRICS_RENDER_EVERY_MS = 250;

/** Connections to a metrics port at once, and from one host (a scraper needs one). */
export const METRICS_CONNECTIONS_MAX = 64;
export const METRICS_CONNECTIONS_PER_HOST_MAX = 8;

/** Serves the registry at GET /metrics on host:port (0: any free port); on a loopback address, only under a loopback name. */
export async function startMetricsServer(host: string, port: number, registry: Registry, logger: Logger): Promise<MetricsServer> {
  let rendered: { at: number; body: Promise<string> } | undefined;
  const render = (): Promise<string> => {
    const now = performance.now();
    if (rendered === undefined || now - rendered.at >= METRICS_RENDER_EVERY_MS) {
      const body = registry.metrics();
      rendered = { at: now, body };
      // A failed render is not kept: the next scrape tries again.
      body.catch(() => {
        if (rendered?.body === body) rendered = undefined;
      });
    }
    return rendered.body;
  };
  // A connection that sends no complete request within 5 s is closed, looked for every second
  // (Node's default looks every 30 s: 64 silent sockets then kept every scraper out that long).
  const pipelined = pipelinedAnswersBound();
  const server = http.createServer({ connectionsCheckingInterval: 1000, headersTimeout: 5000, requestTimeout: 5000 }, (req, res) => {
    if (!pipelined(req, res)) return;
    boundUnreadBody(req);
    // On loopback, only under a loopback name, as the status page (DNS rebinding: a page of
    // another site whose name resolves to 127.0.0.1 could read the node's metrics otherwise).
    if (refusedForHost(req, res, host, 'this metrics port')) return;
    // Any method but GET and HEAD, on any path: 405 naming the ones served, as HTTP says and as
    // the status page answers (a 404 for POST /metrics sent a person looking for the path that
    // was there). HEAD is a GET without its body: Node leaves the body out of a HEAD answer.
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end(`${req.method} is not served: metrics are read with GET /metrics\n`);
      return;
    }
    if ((req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at GET /metrics\n');
      return;
    }
    render().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${(err as Error).message}\n`),
    );
  });
  // Bounded like the gRPC ports: a scraper needs one connection, and one host cannot hold every
  // place. When the places (of all, or of the host) are taken, a new connection takes the place of
  // the oldest one that has not sent a whole request's headers (or kept alive with no answer under
  // way): on loopback every client is one host, and 8 connections sending half a request's headers,
  // opened again as each is closed, kept the status page and Prometheus from scraping otherwise.
  refuseConnectMethod(server, 'GET, HEAD', 'metrics are read with GET /metrics');
  boundHttpConnections(server, {
    max: METRICS_CONNECTIONS_MAX,
    refusal: httpRefusal(`all ${METRICS_CONNECTIONS_MAX} connections to this metrics port have an answer under way: try again in a few seconds`, 5),
    perHost: {
      max: METRICS_CONNECTIONS_PER_HOST_MAX,
      refusal: httpRefusal(`${METRICS_CONNECTIONS_PER_HOST_MAX} connections from your host are open to this metrics port already: close one (a scraper needs one)`, 5),
    },
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === 'EADDRINUSE' ? `metrics port ${port} on ${host} is already in use: choose another with --metrics-port` : `cannot serve metrics on ${host}:${port}: ${err.message}`)),
    );
    server.listen(port, host, () => resolve((server.address() as { port: number }).port));
  });
  logger.info({ address: `${host}:${bound}`, path: '/metrics' }, 'metrics listening');
  return { port: bound, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The metrics of a server's gRPC calls: the interceptor that times them, and what counts them. */
export interface GrpcCallMetrics {
  readonly interceptor: ServerInterceptor;
  /** Counts every call as its stream closes, on the listening servers (call after bind). */
  readonly countCalls: (server: Server, logger: Logger) => void;
}

/**
 * Counts every gRPC call the server ends, by method and the status code its client was sent, and
 * times unary calls (streams live as long as their client wants: their duration says nothing).
 *
 * Calls are counted on the listening servers as each HTTP/2 stream closes, from the grpc-status
 * the stream sent (in its trailers, or its headers for a trailers-only answer): that is what the
 * client got, whoever sent it. An interceptor sees only the statuses that pass through it, so it
 * counted no call ended by its deadline (grpc-js answers DEADLINE_EXCEEDED itself) or cancelled by
 * its client, nor one grpc-js refused itself (a message over the size bound), and it counted OK a
 * stream whose client vanished and whose handler then ended it (no status reached anyone). A stream
 * closed with no status sent is counted DEADLINE_EXCEEDED once its grpc-timeout had passed (its
 * client gave up at its deadline), CANCELLED otherwise (its client cancelled it; or gave up at its
 * deadline before this process read the call, as when it was paused: the client's reset says
 * CANCEL either way, and the timeout runs from when the call is read), and RESOURCE_EXHAUSTED when
 * this server reset it for a bound (ENHANCE_YOUR_CALM, which its client reads as that). A path the
 * server does not serve is counted as "unknown", so no client can grow the label set.
 */
export function grpcCallMetrics(registry: Registry, servedPaths: ReadonlySet<string>, unaryPaths: ReadonlySet<string>): GrpcCallMetrics {
  const handled = new Counter({ name: 'grpc_server_handled_total', help: 'gRPC calls ended by the server, by method and the status code sent to the client (for a call that ended before a status was sent: DEADLINE_EXCEEDED or CANCELLED, or RESOURCE_EXHAUSTED for a stream the server reset for a bound)', labelNames: ['grpc_method', 'grpc_code'], registers: [registry] });
  const seconds = new Histogram({
    name: 'grpc_server_handling_seconds',
    help: 'time from a unary call\'s start to its status (or to its end, for one its deadline or its client ended first)',
    labelNames: ['grpc_method'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const interceptor: ServerInterceptor = (methodDescriptor, call: ServerInterceptingCallInterface) => {
    const path = methodDescriptor.path;
    if (!unaryPaths.has(path)) return new ServerInterceptingCall(call);
    const started = process.hrtime.bigint();
    let timed = false;
    const time = (): void => {
      if (timed) return;
      timed = true;
      seconds.observe({ grpc_method: path }, Number(process.hrtime.bigint() - started) / 1e9);
    };
    return new ServerInterceptingCall(
      call,
      new ResponderBuilder()
        // Told after a status was sent too (timed then already), and when the call ended without one.
        .withStart((next) => next(new ServerListenerBuilder().withOnCancel(time).build()))
        .withSendStatus((st, next) => {
          time();
          next(st);
        })
        .build(),
    );
  };
  const countCalls = (server: Server, logger: Logger): void => {
    for (const s of listeningServers(server, logger, 'gRPC calls are not counted in grpc_server_handled_total')) {
      s.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
        // A gRPC call (grpc-js answers others HTTP 415 and is done with them).
        const contentType = headers['content-type'];
        if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) return;
        const path = String(headers[':path']);
        const method = servedPaths.has(path) ? path : 'unknown';
        const timeout = typeof headers['grpc-timeout'] === 'string' ? timeoutMs(headers['grpc-timeout']) : undefined;
        const started = performance.now();
        stream.once('close', () => {
          const code = statusSent(stream) ?? endedWithoutStatus(stream, timeout !== undefined && performance.now() - started >= timeout);
          handled.inc({ grpc_method: method, grpc_code: status[code] ?? String(code) });
        });
      });
    }
  };
  return { interceptor, countCalls };
}

/**
 * The code of a call whose stream closed before a status was sent. A stream reset with
 * ENHANCE_YOUR_CALM was reset by this server for a bound (partial-message-bounds.ts: the bytes of
 * messages left unfinished), and its client reads RESOURCE_EXHAUSTED from the reset (grpc-js maps
 * it so): counted CANCELLED, it was charged to its client. Otherwise its deadline or its client
 * ended it.
 */
function endedWithoutStatus(stream: ServerHttp2Stream, deadlinePassed: boolean): status {
  if (stream.rstCode === http2Constants.NGHTTP2_ENHANCE_YOUR_CALM) return status.RESOURCE_EXHAUSTED;
  return deadlinePassed ? status.DEADLINE_EXCEEDED : status.CANCELLED;
}

/** The grpc-status a closed stream sent: in its trailers, or in its headers when it answered trailers-only. */
function statusSent(stream: ServerHttp2Stream): number | undefined {
  for (const h of [stream.sentTrailers, stream.sentHeaders]) {
    const v = h?.['grpc-status'];
    if (v === undefined) continue;
    const code = Number(Array.isArray(v) ? v[0] : v);
    if (Number.isInteger(code)) return code;
  }
  return undefined;
}

/** `grpc_server_pending_answer_bytes`: unary answers sent and not yet read by their clients (answer-budget.ts). */
export function pendingAnswerGauge(registry: Registry, budget: { readonly heldBytes: number }): void {
  new Gauge({
    name: 'grpc_server_pending_answer_bytes',
    help: 'bytes of unary answers this server has sent and its clients not yet read (bounded by --max-pending-answer-bytes)',
    registers: [registry],
    collect() {
      this.set(budget.heldBytes);
    },
  });
}

/**
 * `grpc_server_arriving_message_bytes` (request bytes of messages still arriving) and
 * `grpc_server_streams_reset_total` (streams reset past those bounds, partial-message-bounds.ts);
 * returns what counts a reset.
 */
export function arrivingMessageMetrics(registry: Registry, counts: { readonly totalBytes: () => number }): (streams: number) => void {
  new Gauge({
    name: 'grpc_server_arriving_message_bytes',
    help: 'bytes of request messages still arriving on client connections (bounded: 16 of the largest message per connection, 64 in all)',
    registers: [registry],
    collect() {
      this.set(counts.totalBytes());
    },
  });
  const reset = new Counter({
    name: 'grpc_server_streams_reset_total',
    help: 'client streams reset because too many bytes of unfinished request messages were arriving (the longest-arriving first)',
    registers: [registry],
  });
  return (streams) => reset.inc(streams);
}

/** `grpc_server_tls_handshakes_refused_total{reason}`: TLS handshakes the server refused (refused-handshakes.ts). */
export function refusedHandshakeCounter(registry: Registry): (reason: string) => void {
  const counter = new Counter({
    name: 'grpc_server_tls_handshakes_refused_total',
    help: 'TLS handshakes refused before any call: no-certificate, certificate-refused, plaintext (to this TLS port), other',
    labelNames: ['reason'],
    registers: [registry],
  });
  return (reason) => counter.inc({ reason });
}

/** The verdict of one LMFDB claim check, as the lmfdb-client gives it. */
export type ClaimVerdict = 'true' | 'false' | 'unknown';

/**
 * `paxos_lmfdb_claims_checked_total{result}`: claims this process checked, by verdict (true,
 * false, unknown: not verifiable here). The same series on proposers, acceptors and the ingest server.
 */
export function claimsCheckedCounter(registry: Registry): (verdict: ClaimVerdict) => void {
  const counter = new Counter({
    name: 'paxos_lmfdb_claims_checked_total',
    help: 'LMFDB claims checked by this process, by result (true, false, unknown: the record or field is not known here)',
    labelNames: ['result'],
    registers: [registry],
  });
  for (const result of ['true', 'false', 'unknown'] as const) counter.inc({ result }, 0);
  return (result) => counter.inc({ result });
}
