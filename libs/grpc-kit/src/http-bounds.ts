// Bounds of the HTTP/1 ports (the status page, the metrics ports).
//
// HTTP/1.1 lets a client send requests ahead of reading the answers (pipelining). Node parses
// every request of a read at once and queues an answer for each: 8 connections sending
// `GET /metrics` thousands of times over without reading took an acceptor from 68 to 155 MB.
// A connection with more answers waiting than any browser or scraper leaves (they send one
// request at a time) is closed instead.
//
// Connections are held to a number, in all and per host; when they are all taken, a new one takes
// the place of one that is only waiting (`boundHttpConnections`).
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { hostKeyOf, rawHttpAnswer } from './address-bounds';
import { CountsByKey } from './counts-by-key';
import { hostHeaderAllowed } from './loopback-host';

/** Answers one connection may have that are not yet written out to it. */
export const PIPELINED_ANSWERS_MAX = 8;

/**
 * Returns the check each request handler makes first: false, and the connection closed, when its
 * connection has more than `max` answers waiting (the handler then answers nothing).
 */
export function pipelinedAnswersBound(max = PIPELINED_ANSWERS_MAX): (req: IncomingMessage, res: ServerResponse) => boolean {
  const waiting = new WeakMap<Socket, number>();
  return (req, res) => {
    const socket = req.socket;
    const n = (waiting.get(socket) ?? 0) + 1;
    waiting.set(socket, n);
    if (n > max) {
      socket.destroy();
      return false;
    }
    res.once('close', () => waiting.set(socket, (waiting.get(socket) ?? 1) - 1));
    return true;
  };
}

/** Bytes of a request's body (which neither HTTP/1 port wants) read and dropped before its connection is closed. */
export const UNREAD_BODY_BYTES_MAX = 64 * 1024;

/**
 * Neither HTTP/1 port reads a request's body. Node reads and drops it after the answer so that the
 * next request on the connection can be parsed, for as long as the client sends it, up to the
 * request timeout: one connection sending a 100 GB `Content-Length` kept a metrics port reading
 * and dropping hundreds of MB a second for 5 s (a third of a core on the acceptor's own event
 * loop), and began again at once on a new one. A body past UNREAD_BODY_BYTES_MAX closes the
 * connection instead; a smaller one (a form posted by mistake) is still read, so its client gets
 * its answer (405) rather than a reset that may drop it.
 */
export function boundUnreadBody(req: IncomingMessage): void {
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) return;
  let read = 0;
  req.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > UNREAD_BODY_BYTES_MAX) req.socket.destroy();
  });
}

/** Bounds of an HTTP/1 port's connections (`boundHttpConnections`). */
export interface HttpConnectionBounds {
  /** Connections held at once. */
  readonly max: number;
  /** Written to a connection refused because every place has an answer under way (`httpRefusal`). */
  readonly refusal: string;
  /** Connections held at once from one host (`hostKeyOf`), and what a connection refused for that bound is told. */
  readonly perHost?: { readonly max: number; readonly refusal: string };
}

/**
 * Holds an HTTP/1 server's connections to `max` (and `perHost.max` from one host), where a new
 * connection, when the places are taken, takes the place of one with no answer under way rather
 * than being refused. Which one, in this order (within each, the one waiting longest):
 *
 * 1. one that has sent part of a request and not its whole headers (bytes read since it was last
 *    answered, or since it connected, and no request): a client that sends its request at once
 *    has no such moment, the data that completes its headers being read at once;
 * 2. one kept alive after its answers, that has sent nothing since (a server may close an idle
 *    connection at any time: a browser sends its request again on a new one);
 * 3. one that has sent nothing since it connected: a client whose request is on its way has
 *    these few milliseconds only, and, the newest, it is taken last.
 *
 * After 3 comes one with an answer under way that its client does not take (the socket's write
 * buffer is full): a client that sends requests and never reads their answers held its place for
 * good otherwise, two of them every place of a port with two. Last, since a viewer on a slow link
 * is in that state too at times, and must not go before an attacker's idle connections.
 *
 * Only when every place has an answer under way that its client takes (a request being answered,
 * an event stream being read) is the new one refused, with `refusal`. A client that opens more connections at once than its host
 * has places may see its own first ones closed.
 *
 * A bound that refuses the newest let anyone who opens connections and sends half a request's
 * headers hold every place: 300 such connections, opened again as each was closed, kept every
 * `GET /api/view` off a status page on loopback (one host there) for as long as they ran, and
 * headersTimeout cannot help, since each is replaced as it is closed. Taking their places instead
 * leaves a browser or curl, which sends its request's headers as it connects, answered.
 *
 * Node's own `maxConnections` stays as a backstop at twice `max` (the places, and refusals still
 * being written): at `max` it would close the new connection before this could make room for it.
 */
export function boundHttpConnections(server: HttpServer, bounds: HttpConnectionBounds): void {
  const hostOf = new Map<Socket, string>();
  const perHost = new CountsByKey(bounds.perHost?.max ?? Infinity);
  // Connections with no answer under way, in the order they began to wait (a Set keeps insertion
  // order), and the bytes each had sent then: more since, and it has a request's headers under way.
  const neverAsked = new Set<Socket>();
  const keptAlive = new Set<Socket>();
  const readWhenWaiting = new Map<Socket, number>();
  const answering = new Map<Socket, number>();

  const forget = (socket: Socket): void => {
    const host = hostOf.get(socket);
    if (host === undefined) return;
    hostOf.delete(socket);
    perHost.give(host);
    neverAsked.delete(socket);
    keptAlive.delete(socket);
    readWhenWaiting.delete(socket);
    answering.delete(socket);
  };
  const wait = (socket: Socket, waiting: Set<Socket>): void => {
    waiting.add(socket);
    readWhenWaiting.set(socket, socket.bytesRead);
  };
  const partial = (s: Socket): boolean => s.bytesRead > (readWhenWaiting.get(s) ?? 0);
  /** The connection whose place a new one takes (from `host` only, if given): see above. */
  const toClose = (host?: string): Socket | undefined => {
    const choices: Array<[Iterable<Socket>, (s: Socket) => boolean]> = [
      [neverAsked, partial],
      [keptAlive, partial],
      [keptAlive, (s) => !partial(s)],
      [neverAsked, (s) => !partial(s)],
      // Last, an answer under way that its client does not take now (its socket's buffer is full:
      // a client that sends requests and never reads, or a viewer on a slow link, which is why it
      // comes after every connection that is only waiting) rather than refuse the new one.
      [answering.keys(), (s) => s.writableNeedDrain],
    ];
    for (const [waiting, fits] of choices) {
      for (const s of waiting) if ((host === undefined || hostOf.get(s) === host) && fits(s)) return s;
    }
    return undefined;
  };
  const makeRoom = (host?: string): boolean => {
    const s = toClose(host);
    if (s === undefined) return false;
    forget(s);
    s.destroy();
    return true;
  };
  const refuse = (socket: Socket, refusal: string): void => {
    socket.end(refusal, () => socket.destroy());
  };

  server.maxConnections = 2 * bounds.max;
  server.on('connection', (socket: Socket) => {
    const host = hostKeyOf(socket.remoteAddress);
    if (bounds.perHost && perHost.of(host) >= bounds.perHost.max && !makeRoom(host)) return refuse(socket, bounds.perHost.refusal);
    if (hostOf.size >= bounds.max && !makeRoom()) return refuse(socket, bounds.refusal);
    hostOf.set(socket, host);
    perHost.take(host);
    wait(socket, neverAsked);
    socket.once('close', () => forget(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    if (!hostOf.has(socket)) return;
    neverAsked.delete(socket);
    keptAlive.delete(socket);
    readWhenWaiting.delete(socket);
    answering.set(socket, (answering.get(socket) ?? 0) + 1);
    let answered = false;
    const done = () => {
      if (answered || !hostOf.has(socket)) return;
      answered = true;
      const left = (answering.get(socket) ?? 1) - 1;
      if (left > 0) answering.set(socket, left);
      else {
        // Kept alive after its answers: it waits again, the newest of those waiting.
        answering.delete(socket);
        wait(socket, keptAlive);
      }
    };
    // A short answer the handler ended is often written out, and finished, before this runs.
    if (res.writableFinished) done();
    else {
      res.once('finish', done);
      res.once('close', done);
    }
  });
}

/**
 * Why a request is one HTTP says a server answers with 400 for its Host header (RFC 9112, 3.2):
 * an HTTP/1.1 request without one, or any request with more than one; undefined when it has what
 * it should. Node keeps the first of several Host headers and drops the rest, so a port that
 * answers only under a loopback name would check one name while a proxy before it may have used
 * another.
 */
function hostHeaderProblem(req: IncomingMessage): string | undefined {
  let hosts = 0;
  // rawHeaders is held to the server's maxHeadersCount (2,000 by default): the loop is bounded.
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]?.toLowerCase() === 'host') hosts++;
  if (hosts > 1) return `a request has one Host header; this one has ${hosts}\n`;
  if (hosts === 0 && (req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1))) return 'an HTTP/1.1 request names its Host header (the address it was sent to, e.g. Host: 127.0.0.1)\n';
  return undefined;
}

/**
 * Answers a request whose Host header the port does not serve, and says so (true): 400 when HTTP
 * says the header is malformed (hostHeaderProblem), 421 when the port listens on loopback and the
 * name is not a loopback one (DNS rebinding: hostHeaderAllowed). `what` names the port ("this page").
 */
export function refusedForHost(req: IncomingMessage, res: ServerResponse, bindHost: string, what: string): boolean {
  const problem = hostHeaderProblem(req);
  if (problem !== undefined) res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' }).end(problem);
  else if (!hostHeaderAllowed(bindHost, req.headers.host)) res.writeHead(421, { 'content-type': 'text/plain' }).end(`${what} answers only under a loopback name (127.0.0.1, localhost)\n`);
  else return false;
  return true;
}

/**
 * Answers CONNECT with 405 naming the methods served. Node closes a CONNECT's connection without
 * a word when the server has no 'connect' listener: a client configured to use the port as a
 * proxy saw a reset and no reason.
 */
export function refuseConnectMethod(server: HttpServer, allow: string, why: string): void {
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => undefined);
    socket.end(rawHttpAnswer('405 Method Not Allowed', `CONNECT is not served: ${why}`, { allow }), () => socket.destroy());
  });
}
