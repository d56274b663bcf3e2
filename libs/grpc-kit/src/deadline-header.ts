// grpc-js turns a call's grpc-timeout into a timer with `ms | 0` and setTimeout, so a deadline past
// 2^31 ms (24.8 days) wraps: a WatchChosen or Health Watch with a 25- to 49-day deadline ended at once
// DEADLINE_EXCEEDED, a longer one at some arbitrary earlier time, and the reads' remaining time
// (read-service.ts) went negative. And a malformed grpc-timeout was answered INTERNAL, a server
// fault, where it is the client's. So before grpc-js reads a call's headers, a timeout beyond what
// a timer holds is dropped (the client still ends the call at its deadline; the server then has
// none), and a malformed one is taken out and the call answered INVALID_ARGUMENT before any handler.
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

/** Where a malformed grpc-timeout is kept for the interceptor; always set by the server, never the client's. */
export const MALFORMED_TIMEOUT_KEY = 'x-paxos-malformed-grpc-timeout';

/** The longest timer setTimeout holds (longer ones fire at once). */
export const TIMER_MS_MAX = 2 ** 31 - 1;

/** What grpc-js accepts as a grpc-timeout (its own pattern), and its units in ms. */
const TIMEOUT = /(\d{1,8})\s*([HMSmun])/;
const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };

/**
 * The grpc-timeout header to leave for grpc-js: 'keep', 'drop' (beyond a timer), or 'malformed'.
 */
export function timeoutVerdict(value: string): 'keep' | 'drop' | 'malformed' {
  const m = TIMEOUT.exec(value);
  if (!m) return 'malformed';
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number) > TIMER_MS_MAX ? 'drop' : 'keep';
}

/** Makes every listening server of a grpc-js server check grpc-timeout before grpc-js reads it (call after bind). */
export function checkDeadlineHeaders(server: Server, logger: Logger): void {
  for (const s of listeningServers(server, logger, 'grpc-timeout is not checked (deadlines past 24.8 days end calls at once)')) {
    s.prependListener('stream', (_stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      delete headers[MALFORMED_TIMEOUT_KEY];
      const given = headers['grpc-timeout'];
      if (given === undefined) return;
      const value = Array.isArray(given) ? given.join(',') : given;
      const verdict = timeoutVerdict(value);
      if (verdict === 'keep') return;
      delete headers['grpc-timeout'];
      if (verdict === 'malformed') headers[MALFORMED_TIMEOUT_KEY] = value.replace(/[^ -~]/g, '?').slice(0, 64);
    });
  }
}

/** Ends a call whose grpc-timeout was malformed with INVALID_ARGUMENT, before any handler. */
export const rejectMalformedTimeout: ServerInterceptor = (_method, call: ServerInterceptingCallInterface) =>
  new ServerInterceptingCall(
    call,
    new ResponderBuilder()
      .withStart((next) =>
        next(
          new ServerListenerBuilder()
            .withOnReceiveMetadata((metadata: Metadata, pass: (metadata: Metadata) => void) => {
              const malformed = metadata.get(MALFORMED_TIMEOUT_KEY)[0];
              if (malformed === undefined) {
                pass(metadata);
                return;
              }
              endCall(call, status.INVALID_ARGUMENT, `grpc-timeout "${String(malformed)}" is not 1-8 digits and a unit (H, M, S, m, u, n)`);
            })
            .build(),
        ),
      )
      .build(),
  );
