// Node's HTTP/2 server takes a call's headers up to 64 KiB (and 128 entries), and grpc-js keeps
// them, as metadata, for as long as the call is open: 4,000 calls that each sent 60 KB of headers and
// nothing more held 190 MB of a server's memory (20 MB with small headers), so the 16,384 calls
// --max-calls allows could hold about 800 MB where the bounds count about 12 KB a call. gRPC's own
// servers take 8-16 KiB of metadata; no process of the network sends more than a few hundred bytes.
// So every server holds a call to 16 KiB of headers: it advertises the bound (HTTP/2
// SETTINGS_MAX_HEADER_LIST_SIZE; node then resets a call with more ENHANCE_YOUR_CALM, which a grpc-js
// client reports as RESOURCE_EXHAUSTED), and, since node applies the setting only once the client
// has acknowledged it (a client that does not, or that sends its calls before, is held to 64 KiB),
// a call whose headers are larger all the same has them taken out before grpc-js reads them and is
// answered RESOURCE_EXHAUSTED before any handler.
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import {
  type Metadata,
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

/** Bytes of headers one call may send, counted as HTTP/2 does: each name and value, and 32 more an entry. */
export const HEADER_LIST_BYTES_MAX = 16 * 1024;

/** Where the size of headers over the bound is kept for the interceptor; always set by the server, never the client's. */
export const OVERSIZED_HEADERS_KEY = 'x-paxos-oversized-headers';

/** Headers kept of a call whose headers are over the bound: what grpc-js needs to route and answer it. */
const KEPT = new Set([':method', ':path', ':scheme', 'content-type']);

/** The size of a header list as HTTP/2 counts it. */
export function headerListBytes(headers: IncomingHttpHeaders): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) bytes += name.length + String(v ?? '').length + 32;
  }
  return bytes;
}

/** Applies the bound to every listening server of a grpc-js server (call after bind, after the other header checks: it runs before them). */
export function boundHeaderLists(server: Server, logger: Logger, bytes: number = HEADER_LIST_BYTES_MAX): void {
  for (const s of listeningServers(server, logger, 'call headers are not bounded below 64 KiB')) {
    // Merged into the settings each new connection is offered (grpc-js's maxConcurrentStreams stays).
    s.updateSettings({ maxHeaderListSize: bytes });
    s.prependListener('stream', (_stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      delete headers[OVERSIZED_HEADERS_KEY];
      const size = headerListBytes(headers);
      if (size <= bytes) return;
      for (const name of Object.keys(headers)) if (!KEPT.has(name)) delete headers[name];
      headers[OVERSIZED_HEADERS_KEY] = String(size);
    });
  }
}

/** Ends a call whose headers were over the bound with RESOURCE_EXHAUSTED, before any handler. */
export const rejectOversizedHeaders: ServerInterceptor = (_method, call: ServerInterceptingCallInterface) =>
  new ServerInterceptingCall(
    call,
    new ResponderBuilder()
      .withStart((next) =>
        next(
          new ServerListenerBuilder()
            .withOnReceiveMetadata((metadata: Metadata, pass: (metadata: Metadata) => void) => {
              const size = metadata.get(OVERSIZED_HEADERS_KEY)[0];
              if (size === undefined) {
                pass(metadata);
                return;
              }
              endCall(call, status.RESOURCE_EXHAUSTED, `the call's headers are ${String(size)} bytes, more than the ${HEADER_LIST_BYTES_MAX} a call may send: send less metadata`);
            })
            .build(),
        ),
      )
      .build(),
  );
