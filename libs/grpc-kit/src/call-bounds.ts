// Calls open at once. HTTP/2 bounds streams per connection (--max-streams-per-connection) and the
// server bounds connections, but their product is a million calls of about 12 KB each: one client
// opening streams and leaving them open could take 12 GB. Every server therefore counts the calls
// open on it, per client (certificate name; connection on plaintext) and in all, and refuses one
// more with RESOURCE_EXHAUSTED before any handler sees it. A call counts from its metadata until
// its status is sent or it is cancelled.
import {
  type Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerListenerBuilder,
  status,
} from '@grpc/grpc-js';
import { endCall } from './grpc-errors';
import { callerKey } from './caller';
import { CountsByKey } from './counts-by-key';

export interface CallLimits {
  /** Calls open at once on the server. */
  readonly total: number;
  /** Calls open at once from one client. */
  readonly perClient: number;
}

export class CallBounds {
  private open = 0;
  private readonly byClient: CountsByKey;
  /** How to end each call counted now, with a status of the server's choosing (endAll). */
  private readonly enders = new Set<(code: status, details: string) => void>();

  constructor(readonly limits: CallLimits) {
    if (!(limits.perClient > 0 && limits.total >= limits.perClient)) throw new Error(`call bounds: per client ${limits.perClient} must be positive and at most the total ${limits.total}`);
    this.byClient = new CountsByKey(limits.perClient);
  }

  /** Calls open now. */
  get openCalls(): number {
    return this.open;
  }

  /** Why one more call from `client` is refused now, or undefined (then it is counted; `end` gives it back). */
  admit(client: string): string | undefined {
    const mine = this.byClient.of(client);
    if (mine >= this.limits.perClient) {
      return `${client} has ${mine} calls open on this server already (at most ${this.limits.perClient}, --max-calls-per-client): end some (or reuse streams) before opening more`;
    }
    if (this.open >= this.limits.total) return `this server has ${this.open} calls open (at most ${this.limits.total}, --max-calls): retry shortly`;
    this.open++;
    this.byClient.take(client);
    return undefined;
  }

  end(client: string): void {
    this.open--;
    this.byClient.give(client);
  }

  /**
   * Ends every call still open with this status: a server shutting down answers its streams
   * (WatchChosen, ProposeStream, which never end by themselves) and unfinished calls UNAVAILABLE,
   * which clients retry, before it resets their streams, which a grpc-js client reads as
   * CANCELLED, its own cancel.
   */
  endAll(code: status, details: string): void {
    for (const end of [...this.enders]) end(code, details);
  }

  interceptor(): ServerInterceptor {
    return (_method, call: ServerInterceptingCallInterface) => {
      const client = callerKey(call);
      let counted = false;
      const end = () => {
        if (!counted) return;
        counted = false;
        this.enders.delete(ender);
        this.end(client);
      };
      const ender = (code: status, details: string) => {
        end();
        endCall(call, code, details);
      };
      return new ServerInterceptingCall(
        call,
        new ResponderBuilder()
          .withStart((next) =>
            next(
              new ServerListenerBuilder()
                .withOnReceiveMetadata((metadata: Metadata, pass: (m: Metadata) => void) => {
                  const reason = this.admit(client);
                  if (reason !== undefined) {
                    endCall(call, status.RESOURCE_EXHAUSTED, reason);
                    return;
                  }
                  counted = true;
                  this.enders.add(ender);
                  pass(metadata);
                })
                .withOnCancel(end)
                .build(),
            ),
          )
          .withSendStatus((st, next) => {
            end();
            next(st);
          })
          .build(),
      );
    };
  }
}
