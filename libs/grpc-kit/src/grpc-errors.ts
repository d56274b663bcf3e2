import { Metadata, type ServiceError, status } from '@grpc/grpc-js';

export { status as GrpcStatus };

/** An error that a handler answers with a gRPC status code and a message a person can act on. */
export class GrpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
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

/** A status message cut to STATUS_DETAILS_MAX characters, saying how much was left out. */
export function boundedDetails(details: string): string {
  if (details.length <= STATUS_DETAILS_MAX) return details;
  const more = details.length - (STATUS_DETAILS_MAX - 64);
  return `${details.slice(0, STATUS_DETAILS_MAX - 64)}... (${more} more characters)`;
}

/** The error object grpc-js sends as the call's status. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof GrpcError) return { code: err.code, details: boundedDetails(err.message), metadata: new Metadata() };
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
export function clientDeadlinePassed(err: ServiceError): string | undefined {
  return err.code === status.DEADLINE_EXCEEDED ? /^Deadline exceeded after ([\d.]+)s/.exec(err.details)?.[1] : undefined;
}

/** What a person can act on for each way a connection fails. */
const CONNECTION_ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing listens on the port',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EPIPE: 'connection closed',
};

/**
 * "connection refused: nothing listens on the port (ECONNREFUSED)" for an errno that failed a
 * connection, named by itself or inside grpc-js's text ("No connection established. Last error:
 * Error: connect ECONNREFUSED 127.0.0.1:7122. Resolution note: "); undefined for any other text.
 */
export function connectionFailure(text: string): string | undefined {
  const errno = /\b(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EPIPE)\b/.exec(text)?.[1];
  return errno === undefined ? undefined : `${CONNECTION_ERRNO_TEXT[errno]} (${errno})`;
}

/** "UNAVAILABLE: 11 of 23 acceptors answered, 12 needed" for logs and CLIs. */
export function describeGrpcError(err: unknown): string {
  if (isServiceError(err)) {
    const waited = clientDeadlinePassed(err);
    if (waited !== undefined) return `DEADLINE_EXCEEDED: no answer within ${waited} s (the node paused or overloaded?)`;
    const failed = err.code === status.UNAVAILABLE ? connectionFailure(err.details) : undefined;
    if (failed !== undefined) return `UNAVAILABLE: ${failed}`;
    return `${status[err.code] ?? err.code}: ${err.details}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Ends a call from a server interceptor, before (or instead of) its handler, with a status a person can act on. */
export function endCall(call: { sendStatus(s: { code: status; details: string; metadata: Metadata }): void }, code: status, details: string): void {
  call.sendStatus({ code, details: boundedDetails(details), metadata: new Metadata() });
}
