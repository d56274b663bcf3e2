// grpc-js has no bound on connections; the Node servers it listens with do (net.Server's
// maxConnections closes each one beyond it as it arrives). With one bound for everyone, any
// holder of a client certificate could take every place (1,024 idle connections, each kept open
// by a health Watch) and leave the proposers no way in: a quorum of acceptors so held stops the
// network. With TLS the bound therefore applies to clients only, per client as well, and the
// network's own processes (proposer and acceptor certificates) have places of their own;
// connections still in their TLS handshake have a bounded pool of places, a share of it per host,
// and are closed after a few seconds (or to make room for a newer one), so they cannot take the
// kept places either.
import type { Http2Session } from 'node:http2';
import type { Server as NetServer, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Server } from '@grpc/grpc-js';
import { hostKeyOf } from './address-bounds';
import { CountsByKey } from './counts-by-key';
import type { Logger } from './logger';
import { listeningServers } from './listening-servers';
import { peerStanding } from './tls';

export interface ConnectionBounds {
  /** Client connections open at once (all connections on plaintext, where no one can be told apart). */
  readonly max: number;
  /** Connections open at once from one client certificate (TLS only). */
  readonly perClientMax: number;
  /** A connection whose HTTP/2 preface has not arrived within this is closed (default PREFACE_MS_MAX). */
  readonly prefaceMs?: number;
}

/** Places kept beyond `max` for the network's own processes (proposer and acceptor certificates). */
export const NETWORK_CONNECTIONS_RESERVED = 64;
/** A connection that has not finished its TLS handshake within this is closed. */
export const HANDSHAKE_MS_MAX = 10_000;
/**
 * Connections in their TLS handshake at once (no one can be told apart before it ends): one more
 * closes the oldest (see toEvict). They have places of their own, so they cannot take the kept ones.
 */
export const HANDSHAKING_MAX = 128;
/**
 * Of those, from one host (an IPv4 address, an IPv6 /64): 128 TCP connections from one host that
 * never start TLS, opened again as each is closed, kept every client and proposer out. Hosts
 * enough to fill the pool (a flood from many) are a firewall's to stop.
 */
export const HANDSHAKING_PER_HOST_MAX = 32;
/**
 * A connection (after its TLS handshake) that has not sent its HTTP/2 preface within this is
 * closed: on plaintext, 1,024 bare TCP connections that never sent a byte kept every client out
 * until they went away.
 */
export const PREFACE_MS_MAX = 10_000;
/** At most one warning a minute about refused connections. */
const WARN_EVERY_MS = 60_000;

/** Applies the bounds to every listening server of a grpc-js server; on TLS, per client too. */
export function boundConnections(server: Server, bounds: ConnectionBounds, tls: boolean, logger: Logger): void {
  for (const s of listeningServers(server, logger, 'connections are not bounded')) {
    closeSilentSessions(s, bounds.prefaceMs ?? PREFACE_MS_MAX);
    if (!tls) {
      s.maxConnections = bounds.max;
      continue;
    }
    s.maxConnections = bounds.max + NETWORK_CONNECTIONS_RESERVED + HANDSHAKING_MAX;
    boundTlsClients(s, bounds, logger);
  }
}

/** Closes each HTTP/2 session whose peer has not sent its preface (its SETTINGS) within `ms`. */
function closeSilentSessions(s: NetServer, ms: number): void {
  s.on('session', (session: Http2Session) => {
    const timer = setTimeout(() => session.destroy(), ms);
    timer.unref();
    session.once('remoteSettings', () => clearTimeout(timer));
    session.once('close', () => clearTimeout(timer));
  });
}

/** A connection in its TLS handshake: its socket, its host, and what frees its place. */
interface Handshaking {
  readonly raw: Socket;
  readonly host: string;
  readonly leave: () => void;
}

/**
 * The connection to close so that one arriving may start its handshake when the places it would
 * take are full: among those `of` picks (oldest first), the oldest that has sent nothing yet (a
 * client starts with its hello at once), else the oldest. Closing the newest instead let 32
 * bare connections from one host, opened again as each was closed, keep every process behind
 * that host out (on loopback, every client and the proposer): now a client's handshake goes
 * ahead of them, and it ends in milliseconds where theirs wait to be closed.
 */
function toEvict(handshaking: ReadonlyMap<string, Handshaking>, of: (h: Handshaking) => boolean): Handshaking | undefined {
  let oldest: Handshaking | undefined;
  for (const h of handshaking.values()) {
    if (!of(h)) continue;
    if (h.raw.bytesRead === 0) return h;
    oldest ??= h;
  }
  return oldest;
}

function boundTlsClients(s: NetServer, bounds: ConnectionBounds, logger: Logger): void {
  /** Connections in their handshake, by remote address and port, oldest first. */
  const handshaking = new Map<string, Handshaking>();
  const handshakingPerHost = new CountsByKey(HANDSHAKING_PER_HOST_MAX);
  const byClient = new CountsByKey(bounds.perClientMax);
  let clients = 0;
  let warnedAt = -Infinity;
  let evictionWarnedAt = -Infinity;
  let evictedSince = 0;
  const keyOf = (socket: Socket) => `${socket.remoteAddress}:${socket.remotePort}`;
  // The client whose connection goes sees only UNAVAILABLE ("disconnected before secure TLS
  // connection was established"): said in the log, at most once per WARN_EVERY_MS with the count.
  const evict = (h: Handshaking | undefined): void => {
    if (h === undefined) return;
    h.leave();
    h.raw.destroy();
    evictedSince++;
    const now = performance.now();
    if (now - evictionWarnedAt < WARN_EVERY_MS) return;
    evictionWarnedAt = now;
    logger.warn(
      { host: h.host, closed: evictedSince, perHostMax: HANDSHAKING_PER_HOST_MAX, max: HANDSHAKING_MAX },
      'TLS connections closed in their handshake: more were in their handshake at once than the bound (per host, or in all), so the oldest went; a client opening a pool of channels at once sees UNAVAILABLE on the extra ones and should open them a few at a time',
    );
    evictedSince = 0;
  };
  s.on('connection', (raw: Socket) => {
    const host = hostKeyOf(raw.remoteAddress);
    // Bounded: each eviction frees a place (leave is synchronous), and at most two are made.
    if (handshakingPerHost.of(host) >= HANDSHAKING_PER_HOST_MAX) evict(toEvict(handshaking, (h) => h.host === host));
    if (handshaking.size >= HANDSHAKING_MAX) evict(toEvict(handshaking, () => true));
    if (handshaking.size >= HANDSHAKING_MAX || !handshakingPerHost.take(host)) {
      raw.destroy();
      return;
    }
    const key = keyOf(raw);
    // Once per connection, whatever took its key since: a connection reset and opened again at
    // once from the same port is seen before the old one's close, and each holds its own place.
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      clearTimeout(timer);
      if (handshaking.get(key)?.leave === leave) handshaking.delete(key);
      handshakingPerHost.give(host);
    };
    const timer = setTimeout(() => {
      leave();
      raw.destroy();
    }, HANDSHAKE_MS_MAX);
    timer.unref();
    // Deleted first, so that a key taken again goes to the end: the map stays oldest first.
    handshaking.delete(key);
    handshaking.set(key, { raw, host, leave });
    raw.once('close', leave);
  });
  s.on('secureConnection', (socket: TLSSocket) => {
    handshaking.get(keyOf(socket))?.leave();
    // A certificate that speaks for no one (an intermediate's, a CA's) has no identity: it takes
    // a client's place, never one kept for the network's processes, whatever name it states.
    const { identity } = peerStanding(socket);
    if (identity?.role === 'acceptor' || identity?.role === 'proposer') return;
    const name = identity?.name ?? String(socket.getPeerCertificate()?.subject?.CN);
    if (clients >= bounds.max || !byClient.take(name)) {
      socket.destroy();
      const now = performance.now();
      if (now - warnedAt >= WARN_EVERY_MS) {
        warnedAt = now;
        logger.warn(
          { client: name, clientConnections: clients, ofThisClient: byClient.of(name), max: bounds.max, perClientMax: bounds.perClientMax },
          'client connection refused: at the bound (--max-connections, --max-connections-per-client)',
        );
      }
      return;
    }
    clients++;
    socket.once('close', () => {
      clients--;
      byClient.give(name);
    });
  });
}
