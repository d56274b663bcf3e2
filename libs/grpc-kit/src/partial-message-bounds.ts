// grpc-js keeps every request message it is receiving until its last byte arrives, up to the
// server's receive bound each, and bounds nothing else: a client that announces a 1 MiB message
// on each of 1,000 streams and never sends the last byte held 1 GB of an acceptor's memory (4 GB
// within the per-client call bound; the proposer's messages may be 4 MiB). Flow control does not
// stop it, since grpc-js reads every frame as it comes. So the bytes of messages still arriving
// are counted here, per connection and in all, by reading the gRPC framing (a 5-byte prefix giving
// each message's length) beside grpc-js. Past a bound, the streams whose messages have been
// arriving longest are reset (ENHANCE_YOUR_CALM: the client's call fails RESOURCE_EXHAUSTED)
// until the count is back within it: messages left unfinished go first, and messages that are
// arriving (a client's many large calls at once) get through. With TLS the network's own
// processes (proposer and acceptor certificates) are not counted: their streams carry the
// protocol, and a client cannot take their place.
import { constants, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { Server as NetServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Server } from '@grpc/grpc-js';
import type { Logger } from './logger';
import { peerStanding } from './tls';

export interface PartialMessageBounds {
  /** Bytes of messages still arriving on one connection. */
  readonly perConnectionBytes: number;
  /** Bytes of messages still arriving on all counted connections together. */
  readonly totalBytes: number;
}

/**
 * The bounds for a server whose messages are at most `maxReceiveBytes`: 16 such messages
 * arriving at once on a connection, 64 in all (an acceptor: 17 and 68 MiB; a proposer with 4 MiB
 * values: 64 and 256 MiB).
 */
export const partialMessageBoundsFor = (maxReceiveBytes: number): PartialMessageBounds => ({
  perConnectionBytes: 16 * maxReceiveBytes + 64 * 1024,
  totalBytes: 64 * maxReceiveBytes + 1024 * 1024,
});

/** At most one warning a minute about reset streams. */
const WARN_EVERY_MS = 60_000;

/**
 * Reads one stream's gRPC framing and says how many bytes of its current message have arrived
 * (0 between messages). Pure: fed the stream's chunks in order.
 */
export class MessageFraming {
  /** Bytes of the 5-byte prefix still to come (5: between messages). */
  private prefixLeft = 5;
  private length = 0;
  private bodyLeft = 0;
  /** Bytes of the current message (prefix included) received so far. */
  partial = 0;

  /** Messages that ended in the last chunk fed. */
  ended = 0;

  /** Consumes a chunk; returns how `partial` changed. */
  feed(chunk: Uint8Array): number {
    const before = this.partial;
    this.ended = 0;
    let i = 0;
    while (i < chunk.length) {
      if (this.prefixLeft > 0) {
        // Prefix bytes 1-4 (after the compression flag) are the length, big-endian.
        if (this.prefixLeft <= 4) this.length = this.length * 256 + (chunk[i] as number);
        this.prefixLeft--;
        this.partial++;
        i++;
        if (this.prefixLeft === 0) {
          this.bodyLeft = this.length;
          if (this.bodyLeft === 0) this.endMessage();
        }
        continue;
      }
      const take = Math.min(this.bodyLeft, chunk.length - i);
      this.bodyLeft -= take;
      this.partial += take;
      i += take;
      if (this.bodyLeft === 0) this.endMessage();
    }
    return this.partial - before;
  }

  private endMessage(): void {
    this.ended++;
    this.prefixLeft = 5;
    this.length = 0;
    this.partial = 0;
  }
}

/** One counted stream whose current message is still arriving. */
interface Arriving {
  readonly stream: ServerHttp2Stream;
  readonly connection: ConnectionCount;
  held: number;
  /** Reset or closed: counts nothing more. */
  done: boolean;
}

/** A counted connection: its bytes still arriving, and its streams holding them, the longest-arriving first. */
interface ConnectionCount {
  bytes: number;
  readonly arriving: Set<Arriving>;
}

/** What the bounds count now (tests and metrics read it). */
export interface PartialMessageCounts {
  /** Bytes of messages still arriving on counted connections. */
  readonly totalBytes: () => number;
}

/** Applies the bounds to every listening server of a grpc-js server. */
export function boundPartialMessages(server: Server, bounds: PartialMessageBounds, tls: boolean, logger: Logger, onReset?: (streams: number) => void): PartialMessageCounts {
  // The same private map connection-bounds.ts reads; grpc-js added its own 'stream' listener at
  // bind, so ours runs after it has paused the stream and attached its reader.
  const listening = (server as unknown as { http2Servers?: Map<NetServer, unknown> }).http2Servers;
  let total = 0;
  const counts = { totalBytes: () => total };
  if (!(listening instanceof Map) || listening.size === 0) {
    logger.warn('messages still arriving are not bounded: this grpc-js keeps its listening servers elsewhere');
    return counts;
  }
  const bySession = new WeakMap<Http2Session, ConnectionCount | null>();
  /** Every counted stream with a message arriving, the longest-arriving first (a Set keeps insertion order). */
  const arriving = new Set<Arriving>();
  let warnedAt = -Infinity;
  /** The session's count, or null for a connection of the network's own processes (TLS). */
  const countOf = (session: Http2Session): ConnectionCount | null => {
    const known = bySession.get(session);
    if (known !== undefined) return known;
    let counted: ConnectionCount | null = { bytes: 0, arriving: new Set() };
    if (tls) {
      try {
        const role = peerStanding(session.socket as TLSSocket).identity?.role;
        if (role === 'acceptor' || role === 'proposer') counted = null;
      } catch {
        // A socket already gone: counted like a client's.
      }
    }
    bySession.set(session, counted);
    return counted;
  };
  const release = (a: Arriving) => {
    a.connection.bytes -= a.held;
    total -= a.held;
    a.held = 0;
    arriving.delete(a);
    a.connection.arriving.delete(a);
  };
  /** Resets the longest-arriving streams of `among` until `over()` is false; bounded by the streams there are. */
  const resetLongest = (among: Set<Arriving>, over: () => boolean, which: string) => {
    let reset = 0;
    for (const a of among) {
      if (!over()) break;
      release(a);
      a.done = true;
      a.stream.close(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      reset++;
    }
    if (reset > 0) onReset?.(reset);
    const now = performance.now();
    if (reset > 0 && now - warnedAt >= WARN_EVERY_MS) {
      warnedAt = now;
      logger.warn(
        { reset, bound: which, perConnectionBytes: bounds.perConnectionBytes, totalBytes: bounds.totalBytes },
        `reset ${reset} stream(s) whose messages had been arriving longest: too many bytes of unfinished messages ${which === 'connection' ? 'on one connection' : 'in all'} (clients leaving messages unfinished, or sending very many large ones at once)`,
      );
    }
  };
  for (const s of listening.keys()) {
    s.on('stream', (stream: ServerHttp2Stream) => {
      const session = stream.session;
      if (!session) return;
      const connection = countOf(session);
      if (connection === null) return;
      const framing = new MessageFraming();
      const a: Arriving = { stream, connection, held: 0, done: false };
      stream.on('data', (chunk: Buffer) => {
        if (a.done) return;
        framing.feed(chunk);
        if (framing.ended > 0 || framing.partial === 0) {
          // A message ended: what it held is given back; one that began after it arrives anew.
          release(a);
        }
        if (framing.partial > 0) {
          const added = framing.partial - a.held;
          a.held = framing.partial;
          connection.bytes += added;
          total += added;
          if (!arriving.has(a)) {
            arriving.add(a);
            connection.arriving.add(a);
          }
        }
        if (connection.bytes > bounds.perConnectionBytes) resetLongest(connection.arriving, () => connection.bytes > bounds.perConnectionBytes, 'connection');
        if (total > bounds.totalBytes) resetLongest(arriving, () => total > bounds.totalBytes, 'total');
      });
      stream.once('close', () => {
        a.done = true;
        release(a);
      });
    });
  }
  return counts;
}
