// A unary answer waits in the server's memory until its client takes it (HTTP/2 flow control): a
// client that asks and never reads makes the server keep every answer, and Learn or ReadLog answers
// are up to 4 MiB each, so a few hundred unread calls exhaust a node. grpc-js has no bound on this.
// The budget counts the bytes of unary answers sent and not yet taken, per peer (the certificate's
// name; the connection on plaintext) and in all: a peer at its share is refused new unary calls with
// RESOURCE_EXHAUSTED until it takes what it was sent. A call's bytes are counted from its answer
// until its status goes out (grpc-js sends the status once the answer is written) or it is cancelled.
import {
  ResponderBuilder,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerListenerBuilder,
  status,
} from '@grpc/grpc-js';
import { endCall } from './grpc-errors';
import { callerKey } from './caller';

export interface AnswerBudgetLimits {
  /** Bytes of answers not yet taken, all peers together. */
  readonly totalBytes: number;
  /** Bytes of answers not yet taken by one peer. */
  readonly perPeerBytes: number;
}

/** Answers at most this large are never refused after the fact (a write's answer is always delivered). */
const SMALL_ANSWER_BYTES = 64 * 1024;
/** Fields the estimate walks at most in one message (messages are bounded by the send limit anyway). */
const ESTIMATE_FIELDS_MAX = 1_000_000;

/**
 * About how many bytes a message takes on the wire: the bytes and strings it holds plus a few bytes
 * per field. Cheap for small messages, bounded for large ones.
 */
export function messageBytes(message: unknown): number {
  let bytes = 0;
  let fields = 0;
  const stack: unknown[] = [message];
  while (stack.length > 0 && fields < ESTIMATE_FIELDS_MAX) {
    const v = stack.pop();
    fields++;
    if (v instanceof Uint8Array) bytes += v.byteLength + 4;
    else if (typeof v === 'string') bytes += v.length + 4;
    else if (Array.isArray(v)) {
      bytes += 4;
      for (const e of v) stack.push(e);
    } else if (v !== null && typeof v === 'object') {
      bytes += 4;
      for (const e of Object.values(v)) stack.push(e);
    } else bytes += 8;
  }
  return bytes;
}

const MIB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;

/** The bytes of unary answers the server has sent and its peers not yet taken. */
export class AnswerBudget {
  private total = 0;
  private readonly byPeer = new Map<string, number>();

  constructor(readonly limits: AnswerBudgetLimits) {
    if (!(limits.perPeerBytes > 0 && limits.totalBytes >= limits.perPeerBytes)) {
      throw new Error(`answer budget: per-peer ${limits.perPeerBytes} must be positive and at most the total ${limits.totalBytes}`);
    }
  }

  /** Bytes held for all peers. */
  get heldBytes(): number {
    return this.total;
  }

  /** Bytes held for one peer. */
  heldFor(peer: string): number {
    return this.byPeer.get(peer) ?? 0;
  }

  /** Why a new call from this peer (whose answer may be `bytes` large) is refused now, or undefined. */
  refusal(peer: string, bytes = 0): string | undefined {
    const held = this.heldFor(peer);
    if (held > 0 && (held >= this.limits.perPeerBytes || held + bytes > this.limits.perPeerBytes)) {
      return `this server holds ${mib(held)} of answers sent to ${peer} and not yet read (at most ${mib(this.limits.perPeerBytes)} per client, --max-pending-answer-bytes-per-peer): read or cancel the earlier calls, then ask again`;
    }
    if (this.total > 0 && (this.total >= this.limits.totalBytes || this.total + bytes > this.limits.totalBytes)) {
      return `this server holds ${mib(this.total)} of answers its clients have not yet read (at most ${mib(this.limits.totalBytes)}, --max-pending-answer-bytes): ask again shortly`;
    }
    return undefined;
  }

  /** Adds `bytes` (negative: gives them back) to what is held for a peer, without a release function (streams count their own). */
  adjust(peer: string, bytes: number): void {
    this.total += bytes;
    const left = this.heldFor(peer) + bytes;
    if (left > 0) this.byPeer.set(peer, left);
    else this.byPeer.delete(peer);
  }

  /** True while a peer (or all peers together) holds its share: its streams read no more requests. */
  full(peer: string): boolean {
    return this.heldFor(peer) >= this.limits.perPeerBytes || this.total >= this.limits.totalBytes;
  }

  /** Counts an answer's bytes for a peer; the returned function gives them back (once). */
  hold(peer: string, bytes: number): () => void {
    this.total += bytes;
    this.byPeer.set(peer, this.heldFor(peer) + bytes);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= bytes;
      const left = this.heldFor(peer) - bytes;
      if (left > 0) this.byPeer.set(peer, left);
      else this.byPeer.delete(peer);
    };
  }

  /**
   * The server interceptor: unary calls (`unaryPaths`) from a peer over its share are refused with
   * RESOURCE_EXHAUSTED before any handler runs; each unary answer is held until its status is sent
   * or the call is cancelled. A large answer of a read (`readPaths`: asking again is harmless) that
   * would put its peer over the share is replaced by RESOURCE_EXHAUSTED (handlers that answer
   * asynchronously can be many at once); any other answer is always delivered.
   */
  interceptor(unaryPaths: ReadonlySet<string>, readPaths: ReadonlySet<string>): ServerInterceptor {
    return (methodDescriptor, call: ServerInterceptingCallInterface) => {
      const path = methodDescriptor.path;
      // Streams pass untouched (grpc-js only uses the interface; no extra layer on the vote path).
      if (!unaryPaths.has(path)) return call as ServerInterceptingCall;
      const peer = callerKey(call);
      let release: (() => void) | undefined;
      // grpc-js hands a handler's answer on even after the call was cancelled (it is dropped
      // inside): held then, it would never be given back.
      let cancelled = false;
      const refuse = (reason: string) => endCall(call, status.RESOURCE_EXHAUSTED, reason);
      return new ServerInterceptingCall(
        call,
        new ResponderBuilder()
          .withStart((next) =>
            next(
              new ServerListenerBuilder()
                .withOnReceiveMessage((message: unknown, pass: (message: unknown) => void) => {
                  const reason = this.refusal(peer);
                  if (reason !== undefined) {
                    refuse(reason);
                    return;
                  }
                  pass(message);
                })
                .withOnCancel(() => {
                  cancelled = true;
                  release?.();
                })
                .build(),
            ),
          )
          .withSendMessage((message: unknown, next: (message: unknown) => void) => {
            if (cancelled) {
              next(message);
              return;
            }
            const bytes = messageBytes(message);
            if (bytes > SMALL_ANSWER_BYTES && readPaths.has(path)) {
              const reason = this.refusal(peer, bytes);
              if (reason !== undefined) {
                refuse(reason);
                return;
              }
            }
            release?.();
            release = this.hold(peer, bytes);
            next(message);
          })
          .withSendStatus((st, next) => {
            release?.();
            next(st);
          })
          .build(),
      );
    };
  }
}
