// A call's headers, checked before grpc-js reads them. grpc-js gives node no settings but the
// streams a connection may open, and acts on some headers before any interceptor runs, so every
// server's listening servers get one 'stream' listener (ahead of grpc-js's) that checks the headers
// and, for a call it refuses, leaves its refusal under REFUSAL_KEY; the first interceptor after the
// status bound (refuseMarkedCalls) ends such a call before any handler (as it ends every call on a
// TLS connection whose certificate speaks for no one: an intermediate CA's or a CA's, UNAUTHENTICATED,
// tls.ts peerCertificateProblem). Four checks:
//
// - Size. Node took a call's headers up to 64 KiB (and 128 entries), and grpc-js keeps them, as
//   metadata, for as long as the call is open: 4,000 calls that each sent 60 KB of headers and
//   nothing more held 190 MB of a server's memory (20 MB with small headers), so the 16,384 calls
//   --max-calls allows could hold about 800 MB where the bounds count about 12 KB a call. gRPC's
//   own servers take 8-16 KiB; no process of the network sends more than a few hundred bytes. So
//   servers advertise 16 KiB (SETTINGS_MAX_HEADER_LIST_SIZE; node then resets a call with more
//   ENHANCE_YOUR_CALM, which a grpc-js client reports as RESOURCE_EXHAUSTED), and since node
//   applies the setting only once the client has acknowledged it, larger headers that arrive all
//   the same are taken out and the call is answered RESOURCE_EXHAUSTED.
// - Encoding. grpc-js inflates a compressed request message (grpc-encoding gzip or deflate) up to
//   the server's receive bound before it can say no, and starts every message it is sent at once:
//   a 4 KB gzip message became a proposer's whole 4 MiB, and 500 such calls on one connection (2 MB
//   on the wire, within the bounds on messages still arriving, which count wire bytes) held 1.7 GB
//   and 26 s of CPU. No process of the network compresses, so servers take uncompressed messages
//   only: a call declaring an encoding other than identity is UNIMPLEMENTED before any message is
//   read, with headers saying grpc-accept-encoding: identity (a grpc-js client that compresses by
//   default learns from them to send its next calls uncompressed); grpc-js is always told an
//   encoding it does not know, so a message flagged compressed is never inflated (under identity it
//   took such bytes as uncompressed); every answer advertises identity only.
// - Content type. Messages are protobuf: a call declaring another subtype (application/grpc+json,
//   application/grpc-web) is UNIMPLEMENTED, where grpc-js read its bytes as protobuf all the same.
// - Deadline. grpc-js turns grpc-timeout into a timer with `ms | 0` and setTimeout, so a deadline
//   past 2^31 ms (24.8 days) wrapped: a WatchChosen or Health Watch with a 25- to 49-day deadline
//   ended at once DEADLINE_EXCEEDED, and the reads' remaining time went negative. Such a timeout is
//   dropped (the client still ends the call at its deadline). A malformed one, which grpc-js
//   answered INTERNAL (a server fault), is INVALID_ARGUMENT.
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import {
  Metadata,
  ResponderBuilder,
  type Server,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerListenerBuilder,
  status,
} from '@grpc/grpc-js';
import { endCall } from './grpc-errors';
import type { Logger } from './logger';
import { listeningServers } from './listening-servers';
import { peerStanding } from './tls';
import type { TLSSocket } from 'node:tls';

/** Bytes of headers one call may send, counted as HTTP/2 does: each name and value, and 32 more an entry. */
export const HEADER_LIST_BYTES_MAX = 16 * 1024;

/** Where a call's refusal ("<code> <details>") is left for refuseMarkedCalls; always set or removed by the server, never the client's. */
export const REFUSAL_KEY = 'x-paxos-refused-call';

/** What grpc-js is told a call's messages are encoded with: no encoding it knows, so it inflates nothing. */
export const REFUSED_ENCODING = 'none (this server takes uncompressed messages only)';

/** The longest timer setTimeout holds (longer ones fire at once). */
export const TIMER_MS_MAX = 2 ** 31 - 1;

/** The content type of a gRPC call; a subtype may follow (+proto, the only one served). */
const GRPC_CONTENT_TYPE = 'application/grpc';

/** Headers kept of a call whose headers are over the bound: what grpc-js needs to route and answer it. */
const KEPT = new Set([':method', ':path', ':scheme', 'content-type']);

/**
 * A grpc-timeout as the gRPC spec writes it: 1 to 8 digits and a unit, nothing else, and the
 * units in ms. grpc-js's own pattern is not anchored: it read "-5S" as 5 seconds and "123456789S"
 * as 23456789 seconds; a value this takes, grpc-js reads the same way.
 */
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };

/** A header's text as printable ASCII of at most 64 characters (for a status message). */
const shown = (v: string): string => v.replace(/[^ -~]/g, '?').slice(0, 64);

/** The size of a header list as HTTP/2 counts it. */
export function headerListBytes(headers: IncomingHttpHeaders): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) bytes += name.length + String(v ?? '').length + 32;
  }
  return bytes;
}

/** The milliseconds a grpc-timeout header gives, or undefined when it is malformed. */
export function timeoutMs(value: string): number | undefined {
  const m = TIMEOUT.exec(value);
  return m ? Number(m[1]) * (UNIT_MS[m[2] as string] as number) : undefined;
}

/** The grpc-timeout header to leave for grpc-js: 'keep', 'drop' (beyond a timer), or 'malformed'. */
export function timeoutVerdict(value: string): 'keep' | 'drop' | 'malformed' {
  const m = TIMEOUT.exec(value);
  if (!m) return 'malformed';
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number) > TIMER_MS_MAX ? 'drop' : 'keep';
}

const text = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v.join(',') : v);

/**
 * Checks a call's headers in place, as grpc-js will then read them: the refusal ("<code>
 * <details>") of a call it must not serve, or undefined.
 */
export function checkHeaders(headers: IncomingHttpHeaders, bytesMax: number = HEADER_LIST_BYTES_MAX): string | undefined {
  delete headers[REFUSAL_KEY];
  const size = headerListBytes(headers);
  if (size > bytesMax) {
    for (const name of Object.keys(headers)) if (!KEPT.has(name)) delete headers[name];
    headers['grpc-encoding'] = REFUSED_ENCODING;
    return `${status.RESOURCE_EXHAUSTED} the call's headers are ${size} bytes, more than the ${bytesMax} a call may send: send less metadata`;
  }
  const declared = text(headers['grpc-encoding']);
  headers['grpc-encoding'] = REFUSED_ENCODING;
  if (declared !== undefined && declared !== 'identity') {
    return `${status.UNIMPLEMENTED} this server takes uncompressed messages only, and the call declared grpc-encoding "${shown(declared)}": send it without compression`;
  }
  // grpc-js answers a content type not starting application/grpc with HTTP 415 itself, and reads
  // any other (application/grpc+json, application/grpc-web) as protobuf: JSON text was served as
  // whatever message its bytes happened to decode to, or refused as malformed protobuf.
  const contentType = text(headers['content-type']);
  if (contentType?.startsWith(GRPC_CONTENT_TYPE)) {
    const subtype = (contentType.slice(GRPC_CONTENT_TYPE.length).split(';')[0] as string).trim().toLowerCase();
    if (subtype !== '' && subtype !== '+proto') {
      return `${status.UNIMPLEMENTED} this server reads protobuf messages only (content-type application/grpc or application/grpc+proto), and the call declared "${shown(contentType)}"`;
    }
  }
  const timeout = text(headers['grpc-timeout']);
  if (timeout !== undefined) {
    const verdict = timeoutVerdict(timeout);
    if (verdict !== 'keep') delete headers['grpc-timeout'];
    if (verdict === 'malformed') return `${status.INVALID_ARGUMENT} grpc-timeout "${shown(timeout)}" is not 1-8 digits and a unit (H, M, S, m, u, n)`;
  }
  return undefined;
}

/** Checks every call's headers on every listening server of a grpc-js server (call after bind). */
export function checkIncomingHeaders(server: Server, logger: Logger, bytesMax: number = HEADER_LIST_BYTES_MAX): void {
  for (const s of listeningServers(server, logger, 'call headers are not checked (64 KiB each, compressed messages inflated, deadlines past 24.8 days end calls at once)')) {
    // Merged into the settings each new connection is offered (grpc-js's maxConcurrentStreams stays).
    s.updateSettings({ maxHeaderListSize: bytesMax });
    s.prependListener('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      const header = checkHeaders(headers, bytesMax);
      const refusal = peerRefusal(stream) ?? header;
      if (refusal !== undefined) headers[REFUSAL_KEY] = refusal;
    });
  }
}

/**
 * The refusal of every call on a TLS connection whose certificate speaks for no one of the network
 * (peerCertificateProblem: a CA's, an intermediate's), or undefined; its headers are checked all
 * the same (what a client sent under REFUSAL_KEY is dropped, no message is inflated).
 */
function peerRefusal(stream: ServerHttp2Stream): string | undefined {
  const socket = stream.session?.socket;
  if (socket === undefined || typeof (socket as { getPeerCertificate?: unknown }).getPeerCertificate !== 'function') return undefined;
  const why = peerStanding(socket as TLSSocket).refusal;
  return why === undefined ? undefined : `${status.UNAUTHENTICATED} ${why}`;
}

const identityOnly = (metadata: Metadata): Metadata => {
  metadata.set('grpc-accept-encoding', 'identity');
  return metadata;
};

/** Ends a call checkHeaders refused, before any handler; every answer advertises identity encoding only. */
export const refuseMarkedCalls: ServerInterceptor = (_method, call: ServerInterceptingCallInterface) =>
  new ServerInterceptingCall(
    call,
    new ResponderBuilder()
      .withStart((next) =>
        next(
          new ServerListenerBuilder()
            .withOnReceiveMetadata((metadata: Metadata, pass: (metadata: Metadata) => void) => {
              const refusal = metadata.get(REFUSAL_KEY)[0];
              metadata.remove(REFUSAL_KEY);
              if (refusal === undefined) {
                pass(metadata);
                return;
              }
              const space = String(refusal).indexOf(' ');
              const code = Number(String(refusal).slice(0, space)) as status;
              // Headers first: a client learns grpc-accept-encoding from them, not from a trailers-only answer.
              if (code === status.UNIMPLEMENTED) call.sendMetadata(identityOnly(new Metadata()));
              endCall(call, code, String(refusal).slice(space + 1));
            })
            .build(),
        ),
      )
      .withSendMetadata((metadata, next) => next(identityOnly(metadata)))
      .build(),
  );
