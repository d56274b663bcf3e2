// Clients' reads of the chosen history (Learn from a client certificate, ReadService.ReadLog) run
// on the event loop that answers votes: each reads up to 4 MiB from the history and encodes it,
// milliseconds of work, and a client that asks as fast as it reads its answers could keep an
// acceptor from voting. Those reads therefore go one at a time at a bounded rate of bytes; a read
// waits for its turn (at most READS_WAITING_MAX wait, 8 of one client; more are RESOURCE_EXHAUSTED),
// and is dropped if its caller left meanwhile. Proposers' reads (catch-up, learning), and every
// Learn on plaintext (where proposers have no certificate to be told by), are not paced.
import { status } from '@grpc/grpc-js';
import { type Caller, GrpcError, TokenBucket } from '@paxos/grpc-kit';

/** Bytes of history clients may read a second, and at once after a quiet while. */
export const CLIENT_HISTORY_BYTES_PER_SECOND = 64 * 1024 * 1024;
export const CLIENT_HISTORY_BYTES_BURST = 64 * 1024 * 1024;
/** Clients' history reads waiting for their turn at most, and of one client (so one cannot take every place). */
export const READS_WAITING_MAX = 64;
export const READS_WAITING_PER_CLIENT_MAX = 8;

export class HistoryReadPacer {
  private readonly bucket: TokenBucket;
  private reading = false;
  private readonly waiting: (() => void)[] = [];
  private readonly waitingOf = new Map<string, number>();

  constructor(
    perSecond = CLIENT_HISTORY_BYTES_PER_SECOND,
    burst = CLIENT_HISTORY_BYTES_BURST,
    now?: () => number,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.bucket = new TokenBucket(perSecond, burst, now);
  }

  /**
   * Runs `read` in its turn, once the rate allows; its result's bytes (`bytesOf`) are counted. A
   * caller that left (cancelled, past its deadline) before its turn is not read for.
   */
  async run<T>(read: () => T, bytesOf: (result: T) => number, caller: Caller): Promise<T> {
    if (this.reading) {
      const mine = this.waitingOf.get(caller.key) ?? 0;
      if (this.waiting.length >= READS_WAITING_MAX || mine >= READS_WAITING_PER_CLIENT_MAX) {
        throw new GrpcError(
          status.RESOURCE_EXHAUSTED,
          `${mine >= READS_WAITING_PER_CLIENT_MAX ? `${mine} reads of ${caller.key}` : `${this.waiting.length} reads`} of this acceptor's chosen history wait already (clients read at most ${CLIENT_HISTORY_BYTES_PER_SECOND / (1024 * 1024)} MiB a second here): retry shortly, or read from the proposer`,
        );
      }
      this.waitingOf.set(caller.key, mine + 1);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      const left = (this.waitingOf.get(caller.key) ?? 1) - 1;
      if (left > 0) this.waitingOf.set(caller.key, left);
      else this.waitingOf.delete(caller.key);
    }
    this.reading = true;
    try {
      for (let wait = this.bucket.msUntil(); wait > 0 && !caller.gone(); wait = this.bucket.msUntil()) await this.sleep(wait);
      if (caller.gone()) throw new GrpcError(status.CANCELLED, 'the caller left before its read of the chosen history had its turn');
      const result = read();
      this.bucket.spend(bytesOf(result));
      return result;
    } finally {
      const next = this.waiting.shift();
      // The turn passes straight to the next read; `reading` stays set for it.
      if (next) next();
      else this.reading = false;
    }
  }
}
