// grpc-js inflates a compressed request message (grpc-encoding gzip or deflate) into memory up to
// the server's receive bound before it can say no, and starts every message it is sent at once: a
// 4 KB gzip message inflates to a proposer's whole 4 MiB, so 500 such calls on one connection (2 MB
// on the wire, far within the bounds on messages still arriving, which count wire bytes) held
// 1.7 GB of the server's memory and 26 s of its CPU. No process of the network compresses, so a
// server takes uncompressed messages only:
// - a call that declares an encoding other than identity is answered UNIMPLEMENTED before any of
//   its messages is read (as the gRPC protocol asks of an encoding a server does not take), with
//   headers saying grpc-accept-encoding: identity, from which a client that compresses by default
//   (grpc-js's 'grpc.default_compression_algorithm') learns to send its next calls uncompressed;
// - before grpc-js reads a call's headers its declared encoding is replaced by one grpc-js does not
//   know, so a message flagged compressed is never inflated, whatever the call declared (grpc-js
//   answers it UNIMPLEMENTED; under identity it used to take the bytes as uncompressed);
// - every answer with headers advertises grpc-accept-encoding: identity (grpc-js's own says
//   identity,deflate,gzip).
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

/** Where the encoding a call declared is kept for the interceptor (grpc-js takes grpc-encoding out of the metadata); always set by the server, never the client's. */
export const DECLARED_ENCODING_KEY = 'x-paxos-declared-grpc-encoding';

/** What grpc-js is told a call's messages are encoded with: no encoding it knows, so it inflates nothing. */
export const REFUSED_ENCODING = 'none (this server takes uncompressed messages only)';

/** A declared encoding as printable ASCII of at most 64 characters (for details and metadata). */
const printable = (v: string): string => v.replace(/[^ -~]/g, '?').slice(0, 64);

/** Makes every listening server of a grpc-js server keep compressed request messages from grpc-js's inflater (call after bind). */
export function refuseCompressedMessages(server: Server, logger: Logger): void {
  for (const s of listeningServers(server, logger, 'compressed messages are not refused (each is inflated up to the receive bound)')) {
    s.prependListener('stream', (_stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      const declared = headers['grpc-encoding'];
      const text = Array.isArray(declared) ? declared.join(',') : declared;
      if (text === undefined || text === 'identity') delete headers[DECLARED_ENCODING_KEY];
      else headers[DECLARED_ENCODING_KEY] = printable(text);
      headers['grpc-encoding'] = REFUSED_ENCODING;
    });
  }
}

/** Refuses a call that declared a compressed encoding, and tells every client this server takes identity only. */
export const uncompressedOnly: ServerInterceptor = (_method, call: ServerInterceptingCallInterface) =>
  new ServerInterceptingCall(
    call,
    new ResponderBuilder()
      .withStart((next) =>
        next(
          new ServerListenerBuilder()
            .withOnReceiveMetadata((metadata: Metadata, pass: (metadata: Metadata) => void) => {
              const declared = metadata.get(DECLARED_ENCODING_KEY)[0];
              metadata.remove(DECLARED_ENCODING_KEY);
              if (declared === undefined) {
                pass(metadata);
                return;
              }
              // Headers first: a client learns grpc-accept-encoding from them, not from a trailers-only answer.
              call.sendMetadata(identityOnly(new Metadata()));
              endCall(call, status.UNIMPLEMENTED, `this server takes uncompressed messages only, and the call declared grpc-encoding "${String(declared)}": send it without compression`);
            })
            .build(),
        ),
      )
      .withSendMetadata((metadata, next) => next(identityOnly(metadata)))
      .build(),
  );

const identityOnly = (metadata: Metadata): Metadata => {
  metadata.set('grpc-accept-encoding', 'identity');
  return metadata;
};
