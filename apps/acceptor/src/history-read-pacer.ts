// Clients' reads of the chosen history (Learn from a client certificate, ReadService.ReadLog) run
// on the event loop that answers votes: each reads up to 4 MiB from the history and encodes it,
// milliseconds of work, and a client that asks as fast as it reads its answers could keep an
// acceptor from voting. Those reads therefore go one at a time at a bounded rate of bytes; a read
// waits for its turn (at most READS_WAITING_MAX wait, more are RESOURCE_EXHAUSTED). Proposers'
// reads (catch-up, learning) are not paced.
import { status } from '@grpc/grpc-js';
import { GrpcError, TokenBucket } from '@paxos/grpc-kit';

/** Bytes of history clients may read a second, and at once after a quiet while. */
export const CLIENT_HISTORY_BYTES_PER_SECOND = 64 * 1024 * 1024;
export const CLIENT_HISTORY_BYTES_BURST = 64 * 1024 * 1024;
/** Clients' history reads waiting for their turn at most. */
export const READS_WAITING_MAX = 64;

export class HistoryReadPacer {
  private readonly bucket: TokenBucket;
  private reading = false;
  private readonly waiting: (() => void)[] = [];

  constructor(
    perSecond = CLIENT_HISTORY_BYTES_PER_SECOND,
    burst = CLIENT_HISTORY_BYTES_BURST,
    now?: () => number,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.bucket = new TokenBucket(perSecond, burst, now);
  }

  /** Runs `read` in its turn, once the rate allows; its result's bytes (`bytesOf`) are counted. */
  async run<T>(read: () => T, bytesOf: (result: T) => number): Promise<T> {
    if (this.reading) {
      if (this.waiting.length >= READS_WAITING_MAX) {
        throw new GrpcError(status.RESOURCE_EXHAUSTED, `${this.waiting.length} reads of this acceptor's chosen history wait already (clients read at most ${CLIENT_HISTORY_BYTES_PER_SECOND / (1024 * 1024)} MiB a second here): retry shortly, or read from the proposer`);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.reading = true;
    try {
      for (let wait = this.bucket.msUntil(); wait > 0; wait = this.bucket.msUntil()) await this.sleep(wait);
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
