// The page's HTTP server: the page itself, a server-sent event stream of the network's state (the
// whole view once a poll; the chart's history once, at connect, then one point a poll), the same
// view as JSON, and a page per chosen slot with its value. Bounded: viewers, connections, time.
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { boundHttpConnections, boundUnreadBody, refuseConnectMethod, refusedForHost, hostKeyOf, httpRefusal, CountsByKey, isLoopbackHost, type Logger, pipelinedAnswersBound } from '@paxos/grpc-kit';
import type { NetworkPoller } from './network-poller';
import type { NetworkView } from './network-view';
import { STATUS_PAGE_HTML } from './page';
import { renderSlotPage, slotJson } from './slot-page';

export interface StatusServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxViewers: number;
  /** Pages open at once from one host (a browser's tabs; default VIEWERS_PER_HOST_MAX, or maxViewers on a loopback address). */
  readonly maxViewersPerHost?: number;
  readonly logger: Logger;
}

export interface StatusServer {
  readonly port: number;
  /** Bytes sent to viewers on the event stream since start. */
  readonly eventBytes: () => number;
  close(): Promise<void>;
}

/** The view as sent on each event: the chart's newest point only (the page keeps the rest). */
function eventOf(v: NetworkView): string {
  const { rates, ...rest } = v;
  const latestRate = rates[rates.length - 1];
  return JSON.stringify({ ...rest, ...(latestRate ? { latestRate } : {}) });
}

/** Any run of digits: one of 2^64 or more (however many digits) is answered 400, as 2^64 itself. */
const SLOT_PATH = /^\/(api\/)?slot\/(\d+)$/;

/** Bytes a viewer may leave unread before it is dropped (the chart's history, sent once, is at most about 2 MB). */
const VIEWER_BACKLOG_BYTES_MAX = 8 * 1024 * 1024;
/** A viewer that has left more than this unread (a few views) for VIEWER_BEHIND_MS_MAX is dropped too. */
const VIEWER_BEHIND_BYTES = 256 * 1024;
const VIEWER_BEHIND_MS_MAX = 30_000;

/** The page's own script and style are inline; it talks only to this server. */
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

/**
 * Event streams one host may hold (an operator's tabs: a browser opens at most 6 connections to
 * one server over HTTP/1.1 anyway), so no one host takes every place of --max-viewers.
 */
export const VIEWERS_PER_HOST_MAX = 8;
/** Connections beyond the viewers' places (the page, /api/view, slot pages), in all and per host. */
const OTHER_CONNECTIONS_MAX = 32;
const OTHER_CONNECTIONS_PER_HOST_MAX = 8;

/** Slot pages read at once (each may ask every node). */
const SLOT_READS_MAX = 4;

export async function startStatusServer(poller: NetworkPoller, opts: StatusServerOptions): Promise<StatusServer> {
  const viewers = new Set<http.ServerResponse>();
  // On a loopback address every page comes from this machine (its browsers, an SSH tunnel, a proxy
  // in front of the page): one host, which --max-viewers alone bounds. Elsewhere one host holds at
  // most VIEWERS_PER_HOST_MAX of them.
  const oneHost = opts.maxViewersPerHost === undefined && isLoopbackHost(opts.host);
  const viewersPerHost = new CountsByKey(Math.min(opts.maxViewersPerHost ?? (oneHost ? opts.maxViewers : VIEWERS_PER_HOST_MAX), opts.maxViewers));
  let slotReadsInFlight = 0;
  let eventBytes = 0;
  const send = (res: http.ServerResponse, event: string, data: string) => {
    const chunk = `event: ${event}\ndata: ${data}\n\n`;
    eventBytes += Buffer.byteLength(chunk);
    res.write(chunk);
  };
  /** Since when each viewer has left more than VIEWER_BEHIND_BYTES unread (counted once it took its first history). */
  const behindSince = new WeakMap<http.ServerResponse, number>();
  const caughtUp = new WeakSet<http.ServerResponse>();
  const unsubscribe = poller.subscribe((v) => {
    const data = eventOf(v);
    const now = performance.now();
    for (const res of viewers) {
      // A viewer that does not read is dropped rather than buffered for: at once past the backlog
      // bound, or once it has stayed behind for a while (a slow reader holds its place otherwise).
      if (res.writableLength <= VIEWER_BEHIND_BYTES) {
        caughtUp.add(res);
        behindSince.delete(res);
      } else if (caughtUp.has(res) && !behindSince.has(res)) behindSince.set(res, now);
      if (res.writableLength > VIEWER_BACKLOG_BYTES_MAX || now - (behindSince.get(res) ?? now) > VIEWER_BEHIND_MS_MAX) res.destroy();
      else send(res, 'view', data);
    }
  });

  // Requests are checked for slow headers and bodies every second (the event stream is a GET
  // without a body: it lives as long as its page).
  const pipelined = pipelinedAnswersBound();
  /** Connections whose event stream is open: it never ends, so nothing asked for behind it on one could ever be answered. */
  const streaming = new WeakSet<Socket>();
  const server = http.createServer({ connectionsCheckingInterval: 1000, requestTimeout: 10_000, headersTimeout: 5000 }, (req, res) => {
    if (!pipelined(req, res)) return;
    if (streaming.has(req.socket)) {
      // A page's EventSource sends nothing after its request. Requests pipelined behind a stream
      // were each taken as a page of their own, written every view in memory, and held a place.
      req.socket.destroy();
      return;
    }
    boundUnreadBody(req);
    const path = (req.url ?? '/').split('?')[0] as string;
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    res.setHeader('x-paxos-status-page', String(process.pid));
    if (refusedForHost(req, res, opts.host, 'this page')) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET\n');
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(STATUS_PAGE_HTML);
      return;
    }
    if (path === '/favicon.ico') {
      // Every browser asks for it; a 404 would be an error in the page's console at every open.
      res.writeHead(204, { 'cache-control': 'max-age=86400' }).end();
      return;
    }
    if (path === '/api/view') {
      // While no one looks the network is not polled: this read waits for a whole poll (a few node deadlines at most).
      poller.viewNow().then((v) => {
        if (!v) res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('no poll of the network has finished yet\n');
        else res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(v));
      }, (e: unknown) => {
        opts.logger.warn({ err: e }, 'reading the view failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`reading the network failed: ${(e as Error).message}\n`);
      });
      return;
    }
    if (path === '/events') {
      if (viewers.size >= opts.maxViewers) {
        res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end(`${opts.maxViewers} pages are open already (--max-viewers)\n`);
        return;
      }
      const host = hostKeyOf(req.socket.remoteAddress);
      if (req.method === 'HEAD') {
        // The answer a GET would have, without its stream: Node sends a HEAD answer's headers only
        // when it ends, so one kept as a viewer was never answered and held a place for good.
        if (viewersPerHost.of(host) >= viewersPerHost.maxPerKey) res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end();
        else res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' }).end();
        return;
      }
      if (!viewersPerHost.take(host)) {
        res
          .writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' })
          .end(`${viewersPerHost.maxPerKey} pages from your host are open already: close one (each open page holds one event stream)\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write('retry: 1000\n\n');
      viewers.add(res);
      const socket = req.socket;
      streaming.add(socket);
      socket.setTimeout(0);
      // The chart's history is kept while no one looks; the view, when none follows the network
      // now, comes with the whole poll this page starts.
      const release = poller.watch();
      send(res, 'history', JSON.stringify(poller.rateHistory()));
      const v = poller.latest();
      if (v) send(res, 'view', eventOf(v));
      const drop = () => {
        release();
        if (viewers.delete(res)) viewersPerHost.give(host);
      };
      res.on('close', drop);
      res.on('error', drop);
      // An answer still waiting behind an earlier one on its connection has no socket yet, and never
      // closes when the connection does: its place and its hold on the poller were kept for good.
      socket.once('close', drop);
      return;
    }
    const slot = SLOT_PATH.exec(path);
    if (slot) {
      const digits = (slot[2] as string).replace(/^0+(?=\d)/, '');
      const n = digits.length > 20 ? 1n << 64n : BigInt(digits);
      if (n >= 1n << 64n) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('a slot is below 2^64\n');
        return;
      }
      // Each uncached slot asks up to every node: a bounded number at once.
      if (slotReadsInFlight >= SLOT_READS_MAX) {
        res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end(`${SLOT_READS_MAX} slot reads are under way: try again in a second\n`);
        return;
      }
      slotReadsInFlight++;
      poller
        .readSlot(n)
        .finally(() => slotReadsInFlight--)
        .then((r) => {
          const found = r.entry !== undefined;
          // Not chosen, or no longer kept, where nodes answered: 404; no node answered (all paused or down): 503, ask again.
          const code = found ? 200 : r.noneAnswered ? 503 : 404;
          const retry: Record<string, string> = code === 503 ? { 'retry-after': '2' } : {};
          if (slot[1]) res.writeHead(code, { 'content-type': 'application/json', ...retry }).end(JSON.stringify(found ? slotJson(r.entry, r.from) : { slot: String(n), problem: r.problem }));
          else res.writeHead(code, { 'content-type': 'text/html; charset=utf-8', ...retry }).end(renderSlotPage(n, r));
        })
        .catch((e: unknown) => {
          opts.logger.warn({ slot: String(n), err: e }, 'slot page failed');
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`reading slot ${n} failed: ${(e as Error).message}\n`);
        });
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the page is at /, its data at /api/view and /events, a slot at /slot/<n>\n');
  });
  // One host holds at most its viewers and a few more connections (on loopback there is one host:
  // it may hold them all). When the places are taken, a new connection takes the place of the
  // oldest one that has not sent a whole request's headers (or kept alive with no answer under
  // way): connections that send half a request's headers, opened again as each is closed, held
  // every place otherwise, and a browser or curl was refused for as long as they ran.
  const places = opts.maxViewers + OTHER_CONNECTIONS_MAX;
  const perHost = viewersPerHost.maxPerKey + OTHER_CONNECTIONS_PER_HOST_MAX;
  refuseConnectMethod(server, 'GET, HEAD', 'this port serves the status page to GET');
  boundHttpConnections(server, {
    max: places,
    refusal: httpRefusal(`all ${places} connections to this status page have an answer under way: try again in a few seconds`, 5),
    ...(oneHost ? {} : { perHost: { max: perHost, refusal: httpRefusal(`${perHost} connections from your host are open to this status page already: close one`, 5) } }),
  });
  server.keepAliveTimeout = 5_000;
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === 'EADDRINUSE' ? `port ${opts.port} on ${opts.host} is already in use: choose another with --port` : `cannot serve on ${opts.host}:${opts.port}: ${err.message}`)),
    );
    server.listen(opts.port, opts.host, () => resolve((server.address() as { port: number }).port));
  });
  opts.logger.info({ url: `http://${opts.host}:${port}/` }, 'status page listening');
  return {
    port,
    eventBytes: () => eventBytes,
    close: async () => {
      unsubscribe();
      for (const v of viewers) v.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
