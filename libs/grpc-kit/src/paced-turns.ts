// Work done for clients that must not crowd out a node's own: a few at once, the rest waiting in
// turn (a bounded number, and fewer of one client), at a rate of bytes (a token bucket charged
// with what each piece of work produced). A caller that left before its turn is not worked for,
// and gives its place back as soon as the place is wanted.
import { status } from '@grpc/grpc-js';
import type { Caller } from './caller';
import { CountsByKey } from './counts-by-key';
import { GrpcError } from './grpc-errors';
import { TokenBucket } from './token-bucket';

export interface PacedTurnsOptions {
  /** What the work is done on, for refusals ("this acceptor's chosen history"). */
  readonly subject: string;
  readonly atOnce: number;
  readonly waitingMax: number;
  readonly waitingPerClientMax: number;
  readonly bytesPerSecond: number;
  readonly burstBytes: number;
  /** The clock and the wait (tests give their own). */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

interface Waiter {
  readonly caller: Caller;
  readonly turn: () => void;
  readonly leave: (e: Error) => void;
}

export class PacedTurns {
  private readonly bucket: TokenBucket;
  private readonly sleep: (ms: number) => Promise<void>;
  private working = 0;
  private readonly waiting: Waiter[] = [];
  private readonly waitingOf: CountsByKey;

  constructor(private readonly o: PacedTurnsOptions) {
    this.bucket = new TokenBucket(o.bytesPerSecond, o.burstBytes, o.now);
    this.waitingOf = new CountsByKey(o.waitingPerClientMax);
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Runs `work` for `caller` in its turn, once the rate allows; its result's bytes (`bytesOf`) are counted. */
  async run<T>(caller: Caller, work: () => T | Promise<T>, bytesOf: (result: T) => number): Promise<T> {
    if (this.working >= this.o.atOnce) await this.waitTurn(caller);
    else this.working++;
    try {
      for (let wait = this.bucket.msUntil(); wait > 0 && !caller.gone(); wait = this.bucket.msUntil()) await this.sleep(wait);
      if (caller.gone()) throw this.left();
      const result = await work();
      this.bucket.spend(bytesOf(result));
      return result;
    } finally {
      this.passTurn();
    }
  }

  /** The turn passes straight to the next waiter that is still there: `working` stays counted for it. */
  private passTurn(): void {
    for (let next = this.waiting.shift(); next; next = this.waiting.shift()) {
      this.unwait(next);
      if (!next.caller.gone()) return next.turn();
      next.leave(this.left());
    }
    this.working--;
  }

  /** Callers that left while waiting give their places back (at most waitingMax to look at). */
  private dropLeft(): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const w = this.waiting[i] as Waiter;
      if (!w.caller.gone()) continue;
      this.waiting.splice(i, 1);
      this.unwait(w);
      w.leave(this.left());
    }
  }

  private unwait(w: Waiter): void {
    this.waitingOf.give(w.caller.key);
  }

  private left(): GrpcError {
    return new GrpcError(status.CANCELLED, `the caller left before its read of ${this.o.subject} had its turn`);
  }

  /** Waits for a turn; throws, holding no turn, when there is no place or the caller left first. */
  private async waitTurn(caller: Caller): Promise<void> {
    this.dropLeft();
    const mine = this.waitingOf.of(caller.key);
    if (this.waiting.length >= this.o.waitingMax || mine >= this.o.waitingPerClientMax) {
      const who = mine >= this.o.waitingPerClientMax ? `${mine} reads of ${caller.key}` : `${this.waiting.length} reads`;
      throw new GrpcError(
        status.RESOURCE_EXHAUSTED,
        `${who} wait already for ${this.o.subject} (at most ${this.o.atOnce} at once, ${Math.round(this.o.bytesPerSecond / (1024 * 1024))} MiB a second): retry shortly`,
      );
    }
    this.waitingOf.take(caller.key);
    await new Promise<void>((turn, leave) => this.waiting.push({ caller, turn, leave }));
  }
}
