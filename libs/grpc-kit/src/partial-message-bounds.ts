// grpc-js keeps every request message it is receiving until its last byte arrives, up to the
// server's receive bound each, and bounds nothing else: a client that announces a 1 MiB message
// on each of 1,000 streams and never sends the last byte held 1 GB of an acceptor's memory (4 GB
// within the per-client call bound; the proposer's messages may be 4 MiB). Flow control does not
// stop it, since grpc-js reads every frame as it comes. So the bytes of messages still arriving
// are counted here, per connection and in all, by reading the gRPC framing (a 5-byte prefix giving
// each message's length) beside grpc-js, and a stream that would pass a bound is reset
// (ENHANCE_YOUR_CALM: the client's call fails RESOURCE_EXHAUSTED). With TLS the network's own
// processes (proposer and acceptor certificates) are not counted: their streams carry the
// protocol, and a client cannot take their place.
import { constants, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { Server as NetServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Server } from '@grpc/grpc-js';
import type { Logger } from './logger';
import { identityOfName } from './tls';

export interface PartialMessageBounds {
  /** Bytes of messages still arriving on one connection. */
  readonly perConnectionBytes: number;
  /** Bytes of messages still arriving on all counted connections together. */
  readonly totalBytes: number;
}

/** The bounds for a server whose messages are at most `maxReceiveBytes`: 4 such messages per connection, 32 in all. */
export const partialMessageBoundsFor = (maxReceiveBytes: number): PartialMessageBounds => ({
  perConnectionBytes: 4 * maxReceiveBytes + 64 * 1024,
  totalBytes: 32 * maxReceiveBytes + 1024 * 1024,
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

  /** Consumes a chunk; returns how `partial` changed. */
  feed(chunk: Uint8Array): number {
    const before = this.partial;
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
    this.prefixLeft = 5;
    this.length = 0;
    this.partial = 0;
  }
}

/** Applies the bounds to every listening server of a grpc-js server. */
export function boundPartialMessages(server: Server, bounds: PartialMessageBounds, tls: boolean, logger: Logger): void {
  // The same private map connection-bounds.ts reads; grpc-js added its own 'stream' listener at
  // bind, so ours runs after it has paused the stream and attached its reader.
  const listening = (server as unknown as { http2Servers?: Map<NetServer, unknown> }).http2Servers;
  if (!(listening instanceof Map) || listening.size === 0) {
    logger.warn('messages still arriving are not bounded: this grpc-js keeps its listening servers elsewhere');
    return;
  }
  const bySession = new WeakMap<Http2Session, { bytes: number } | null>();
  let total = 0;
  let warnedAt = -Infinity;
  /** The session's count, or null for a connection of the network's own processes (TLS). */
  const countOf = (session: Http2Session): { bytes: number } | null => {
    const known = bySession.get(session);
    if (known !== undefined) return known;
    let counted: { bytes: number } | null = { bytes: 0 };
    if (tls) {
      try {
        const cn = (session.socket as TLSSocket).getPeerCertificate()?.subject?.CN;
        const role = typeof cn === 'string' ? identityOfName(cn)?.role : undefined;
        if (role === 'acceptor' || role === 'proposer') counted = null;
      } catch {
        // A socket already gone: counted like a client's.
      }
    }
    bySession.set(session, counted);
    return counted;
  };
  for (const s of listening.keys()) {
    s.on('stream', (stream: ServerHttp2Stream) => {
      const session = stream.session;
      if (!session) return;
      const count = countOf(session);
      if (count === null) return;
      const framing = new MessageFraming();
      let held = 0;
      const release = () => {
        count.bytes -= held;
        total -= held;
        held = 0;
      };
      stream.on('data', (chunk: Buffer) => {
        if (held < 0) return;
        const change = framing.feed(chunk);
        count.bytes += change;
        total += change;
        held += change;
        if (count.bytes <= bounds.perConnectionBytes && total <= bounds.totalBytes) return;
        const now = Date.now();
        if (now - warnedAt >= WARN_EVERY_MS) {
          warnedAt = now;
          logger.warn(
            { connectionBytes: count.bytes, totalBytes: total, perConnectionBytes: bounds.perConnectionBytes, maxTotalBytes: bounds.totalBytes, remote: session.socket?.remoteAddress },
            'stream reset: too many bytes of messages still arriving (a client sending messages it does not finish?)',
          );
        }
        release();
        held = -1;
        stream.close(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      });
      stream.once('close', () => {
        if (held > 0) release();
      });
    });
  }
}
