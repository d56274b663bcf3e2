import { Metadata, ResponderBuilder, type ServerInterceptingCallInterface, ServerInterceptingCall, type ServerInterceptor, type ServiceError, status } from '@grpc/grpc-js';
import { printable } from './printable';

export { status as GrpcStatus };

/** An error that a handler answers with a gRPC status code and a message a person can act on. */
export class GrpcError extends Error {
  /**
   * `trailers`: machine-readable facts the message also says in words (ASCII keys and values),
   * sent as the call's trailing metadata so that a program need not parse the message.
   */
  constructor(
    readonly code: status,
    message: string,
    readonly trailers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = `GrpcError(${status[code]})`;
  }
}

/**
 * Longest status message sent. The message travels in an HTTP/2 trailer: one far longer (a message
 * that quotes a huge input) is never delivered, and a client without a deadline waits forever.
 */
export const STATUS_DETAILS_MAX = 4096;

/** Half of a UTF-16 surrogate pair without its other half (a pair cut apart by a slice). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` with every lone surrogate replaced by U+FFFD: text that can be encoded (as UTF-8, or by encodeURI). */
export const wellFormed = (text: string): string => text.replace(LONE_SURROGATE, '\ufffd');

/**
 * A status message as it may leave a server: cut to STATUS_DETAILS_MAX characters (saying how
 * much was left out), well-formed, and with the characters that drive a terminal written as
 * visible escapes (printable). grpc-js sends it through encodeURI, which throws on a lone
 * surrogate: that call then never ended (a client without a deadline waited for ever), and a
 * handler answering from a promise threw out of it (an unhandled rejection ends the process).
 * Messages quote clients' text (a label, a claimed value cut to 200 characters, a service name),
 * and whoever reads them prints them.
 */
export function boundedDetails(details: string): string {
  const text = printable(wellFormed(details));
  if (text.length <= STATUS_DETAILS_MAX) return text;
  const more = text.length - (STATUS_DETAILS_MAX - 64);
  return wellFormed(`${text.slice(0, STATUS_DETAILS_MAX - 64)}... (${more} more characters)`);
}

/**
 * Every status a server sends, whoever sends it (a handler, an interceptor, grpc-js itself), with
 * its message through boundedDetails. The first (innermost) of a server's interceptors, so that
 * the others' statuses pass through it too.
 */
export const boundStatusDetails: ServerInterceptor = (_method, call: ServerInterceptingCallInterface) =>
  new ServerInterceptingCall(
    call,
    new ResponderBuilder()
      .withSendStatus((st, next) => {
        const said = requestCountStatus(st.code, st.details) ?? st;
        const details = typeof said.details === 'string' ? boundedDetails(said.details) : said.details;
        next(details === st.details && said === st ? st : { ...st, ...said, details });
      })
      .build(),
  );

/**
 * grpc-js's status for a call of a one-request method that sent no request message, or two:
 * UNIMPLEMENTED, "for server streaming method", for a method that exists and may be unary. The
 * request is what is wrong: INVALID_ARGUMENT, said so. Undefined for any other status.
 */
function requestCountStatus(code: status | undefined, details: string | undefined): { code: status; details: string } | undefined {
  if (code !== status.UNIMPLEMENTED || details === undefined) return undefined;
  const m = /^Received (no|a second) request message for server streaming method (\S+)$/.exec(details);
  if (m === null) return undefined;
  return {
    code: status.INVALID_ARGUMENT,
    details: m[1] === 'no' ? `the call ended without a request message: ${m[2]} takes exactly one` : `a second request message arrived: ${m[2]} takes exactly one`,
  };
}

/** The error object grpc-js sends as the call's status. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof GrpcError) {
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(err.trailers)) metadata.set(key, value);
    return { code: err.code, details: boundedDetails(err.message), metadata };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: status.INTERNAL, details: boundedDetails(`internal error: ${message}`), metadata: new Metadata() };
}

export function isServiceError(err: unknown): err is ServiceError {
  return typeof err === 'object' && err !== null && 'code' in err && 'details' in err;
}

/**
 * The seconds a client waited ("10.000") when its own deadline passed, from grpc-js's text
 * ("Deadline exceeded after 10.000s,name resolution: 0.015s,...,Waiting for LB pick"), which names
 * its internal stages, not what a person can do; undefined for any other error (a server's own
 * DEADLINE_EXCEEDED keeps its message).
 */
export function clientDeadlinePassed(err: Pick<ServiceError, 'code' | 'details'>): string | undefined {
  return err.code === status.DEADLINE_EXCEEDED ? /^Deadline exceeded after ([\d.]+)s/.exec(err.details)?.[1] : undefined;
}

/** How late past its deadline a call may be noticed before the caller counts as held rather than the server slow. */
const DEADLINE_HELD_MS = 1000;

/**
 * The seconds waited (as clientDeadlinePassed) when the client's own deadline of `deadlineMs` was
 * noticed more than a second after it passed: grpc-js notices it on the caller's timers, so the
 * caller did not run meanwhile (SIGSTOP, a starved machine) and the server may have answered in
 * time. Undefined otherwise.
 */
export function deadlineNoticedLate(err: Pick<ServiceError, 'code' | 'details'>, deadlineMs: number): string | undefined {
  const waited = clientDeadlinePassed(err);
  return waited !== undefined && Number(waited) * 1000 > deadlineMs + DEADLINE_HELD_MS ? waited : undefined;
}

/** What a person can act on for each way a connection fails, at the address when the text names it. */
const CONNECTION_ERRNO_TEXT: Record<string, (at: string | undefined) => string> = {
  ECONNREFUSED: (at) => `connection refused: nothing listens on ${at ?? 'the port'}`,
  ECONNRESET: (at) => `connection reset${at ? ` by ${at}` : ''}`,
  EHOSTUNREACH: (at) => `host unreachable${at ? `: ${at}` : ''}`,
  ENETUNREACH: (at) => `network unreachable${at ? `: ${at}` : ''}`,
  ENOTFOUND: (at) => `host name not found${at ? `: ${at}` : ''}`,
  EPIPE: (at) => `connection closed${at ? ` by ${at}` : ''}`,
};

/**
 * "connection refused: nothing listens on 127.0.0.1:7122 (ECONNREFUSED)" for an errno that failed
 * a connection, named inside grpc-js's text ("No connection established. Last error: Error:
 * connect ECONNREFUSED 127.0.0.1:7122. Resolution note: ") or by itself ("ECONNREFUSED": then
 * "nothing listens on the port"); undefined for any other text.
 */
export function connectionFailure(text: string): string | undefined {
  const m = /\b(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EPIPE)\b(?: ([^\s,]+:\d+)\b)?/.exec(text);
  const errno = m?.[1];
  return errno === undefined ? undefined : `${CONNECTION_ERRNO_TEXT[errno]?.(m?.[2])} (${errno})`;
}

/**
 * A failed call's status message as a person reads it: a client deadline without grpc-js's
 * internal stages, a failed connection by its cause and address; any other message as the server
 * sent it. Every operator tool describes failures through this (or describeGrpcError).
 */
export function describeStatusDetails(code: status, details: string): string {
  const waited = clientDeadlinePassed({ code, details });
  if (waited !== undefined) return `no answer within ${waited} s (the node paused or overloaded?)`;
  const unresolved = unresolvedAddress(code, details);
  if (unresolved !== undefined) return `no such host: the name in ${unresolved} resolves to no address (a typo in the address?)`;
  const failed = code === status.UNAVAILABLE ? connectionFailure(details) : undefined;
  return failed ?? details;
}

/** Whether a call failed before it reached the server: no connection could be made (or its host name named no address). */
export function notConnected(code: status, details: string): boolean {
  return code === status.UNAVAILABLE && (/^No connection established/.test(details) || unresolvedAddress(code, details) !== undefined);
}

/** The host:port a call was made to when its host name resolved to no address; undefined otherwise. */
export function unresolvedAddress(code: status, details: string): string | undefined {
  if (code !== status.UNAVAILABLE) return undefined;
  return /^Name resolution failed for target (?:dns:)?(\S+)/.exec(details)?.[1];
}

/** "UNAVAILABLE: 11 of 23 acceptors answered, 12 needed" for logs and CLIs. */
export function describeGrpcError(err: unknown): string {
  if (isServiceError(err)) return `${status[err.code] ?? err.code}: ${describeStatusDetails(err.code, err.details)}`;
  return err instanceof Error ? err.message : String(err);
}

/** Ends a call from a server interceptor, before (or instead of) its handler, with a status a person can act on. */
export function endCall(call: { sendStatus(s: { code: status; details: string; metadata: Metadata }): void }, code: status, details: string): void {
  call.sendStatus({ code, details: boundedDetails(details), metadata: new Metadata() });
}
