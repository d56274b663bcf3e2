// A call whose status the server has sent is over for the server, and the call bounds give its place
// back, but grpc-js leaves its HTTP/2 stream open until the client half-closes it, keeping the call's
// objects: a client that never does (a unary call refused before its end, a stream ended with an
// error while the client still sends, a call refused at --max-calls) left about 9 KB a call, 70 MB
// for 8,000 on 8 connections, and only the 1,024 streams a connection allows bounded them. So, as
// HTTP/2 allows (RFC 9113 section 8.1) and grpc-go does, a stream the client has not half-closed a
// while after its status went out is reset with NO_ERROR. Not at once: node's client drops trailers
// that arrive together with the reset, and a grpc-js client then reports INTERNAL "Call ended without
// gRPC status" instead of the status it was sent (grpc-js and node clients close such a stream
// themselves as soon as they read the status, so they never wait for this).
import { constants, type ServerHttp2Stream } from 'node:http2';
import type { Server } from '@grpc/grpc-js';
import type { Logger } from './logger';
import { listeningServers } from './listening-servers';

/** How long after its status a stream the client keeps open is reset. */
export const FINISHED_STREAM_GRACE_MS = 5000;

/** Whether the server has sent the stream's status (trailers, or a trailers-only answer). */
const statusSent = (stream: ServerHttp2Stream): boolean => stream.sentTrailers !== undefined || stream.sentHeaders?.['grpc-status'] !== undefined;

/** Resets each call's stream that the client keeps open `graceMs` after the server sent its status (call after bind). */
export function endFinishedCalls(server: Server, logger: Logger, graceMs: number = FINISHED_STREAM_GRACE_MS): void {
  for (const s of listeningServers(server, logger, 'streams kept open by clients after their status are not reset')) {
    s.on('stream', (stream: ServerHttp2Stream) => {
      let timer: NodeJS.Timeout | undefined;
      // On the server's end of the stream: its trailers are sent in grpc-js's 'wantTrailers'
      // listener (after this one), a trailers-only answer before 'finish'.
      const check = () =>
        setImmediate(() => {
          if (timer !== undefined || stream.closed || stream.destroyed || stream.readableEnded || !statusSent(stream)) return;
          timer = setTimeout(() => {
            if (!stream.closed && !stream.destroyed) stream.close(constants.NGHTTP2_NO_ERROR);
          }, graceMs);
          timer.unref();
          stream.once('close', () => clearTimeout(timer));
        });
      stream.once('wantTrailers', check);
      stream.once('finish', check);
    });
  }
}
