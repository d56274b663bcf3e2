// Work done for clients that must not crowd out a node's own: a few at once, the rest waiting in
// turn (a bounded number, and fewer of one client), at a rate of bytes (a token bucket charged
// with what each piece of work produced). Turns go round the clients that wait, one each, so a
// client with many reads waiting does not make the others wait behind all of them. A caller that
// left before its turn is not worked for, and gives its place back as soon as the place is wanted.
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
  /** Waiters by client, each client's in arrival order; the clients in the order their turns come round. */
  private readonly waiting = new Map<string, Waiter[]>();
  private waitingCount = 0;
  private readonly waitingOf: CountsByKey;

  constructor(private readonly o: PacedTurnsOptions) {
    this.bucket = new TokenBucket(o.bytesPerSecond, o.burstBytes, o.now);
    this.waitingOf = new CountsByKey(o.waitingPerClientMax);
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /**
   * Runs `work` for `caller` in its turn, once the rate allows; its result's bytes (`bytesOf`) are
   * counted, or, when it fails (its caller left half way, say), what `spentIfFailed` says it cost:
   * otherwise reads ended early by their callers went uncounted, and the rate bounded nothing.
   */
  async run<T>(caller: Caller, work: () => T | Promise<T>, bytesOf: (result: T) => number, spentIfFailed?: () => number): Promise<T> {
    if (this.working >= this.o.atOnce) await this.waitTurn(caller);
    else this.working++;
    try {
      for (let wait = this.bucket.msUntil(); wait > 0 && !caller.gone(); wait = this.bucket.msUntil()) await this.sleep(wait);
      if (caller.gone()) throw this.left();
      let result: T;
      try {
        result = await work();
      } catch (e) {
        this.bucket.spend(spentIfFailed?.() ?? 0);
        throw e;
      }
      this.bucket.spend(bytesOf(result));
      return result;
    } finally {
      this.passTurn();
    }
  }

  /** The turn passes straight to the next waiter that is still there: `working` stays counted for it. */
  private passTurn(): void {
    for (let next = this.nextWaiter(); next; next = this.nextWaiter()) {
      if (!next.caller.gone()) return next.turn();
      next.leave(this.left());
    }
    this.working--;
  }

  /** The first waiter of the client whose turn it is, no longer waiting; that client goes to the back of the round. */
  private nextWaiter(): Waiter | undefined {
    const first = this.waiting.entries().next();
    if (first.done) return undefined;
    const [key, queue] = first.value;
    const next = queue.shift() as Waiter;
    this.waiting.delete(key);
    if (queue.length > 0) this.waiting.set(key, queue);
    this.unwait(next);
    return next;
  }

  /** Callers that left while waiting give their places back (at most waitingMax to look at). */
  private dropLeft(): void {
    for (const [key, queue] of [...this.waiting]) {
      const staying = queue.filter((w) => !w.caller.gone());
      if (staying.length === queue.length) continue;
      if (staying.length > 0) this.waiting.set(key, staying);
      else this.waiting.delete(key);
      for (const w of queue) {
        if (!w.caller.gone()) continue;
        this.unwait(w);
        w.leave(this.left());
      }
    }
  }

  private unwait(w: Waiter): void {
    this.waitingCount--;
    this.waitingOf.give(w.caller.key);
  }

  private left(): GrpcError {
    return new GrpcError(status.CANCELLED, `the caller left before its read of ${this.o.subject} had its turn`);
  }

  /** Waits for a turn; throws, holding no turn, when there is no place or the caller left first. */
  private async waitTurn(caller: Caller): Promise<void> {
    this.dropLeft();
    const mine = this.waitingOf.of(caller.key);
    if (this.waitingCount >= this.o.waitingMax || mine >= this.o.waitingPerClientMax) {
      const who = mine >= this.o.waitingPerClientMax ? `${mine} reads of ${caller.key}` : `${this.waitingCount} reads`;
      throw new GrpcError(
        status.RESOURCE_EXHAUSTED,
        `${who} wait already for ${this.o.subject} (at most ${this.o.atOnce} at once, ${Math.round(this.o.bytesPerSecond / (1024 * 1024))} MiB a second): retry shortly`,
      );
    }
    this.waitingOf.take(caller.key);
    this.waitingCount++;
    await new Promise<void>((turn, leave) => {
      const queue = this.waiting.get(caller.key);
      if (queue) queue.push({ caller, turn, leave });
      else this.waiting.set(caller.key, [{ caller, turn, leave }]);
    });
  }
}
