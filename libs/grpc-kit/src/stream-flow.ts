import { type ServerDuplexStream, type ServiceError, status } from '@grpc/grpc-js';
import { type AnswerBudget, messageBytes } from './answer-budget';
import { callerKey } from './caller';

/**
 * Bytes counted for each request read and not yet answered (its answer's place) and added to each
 * answer's estimate (what a queued message costs beside its fields): a client that sends on many
 * streams and reads nothing reaches its share after a message per stream, not after thousands.
 */
const ANSWER_RESERVE_BYTES = 256;
/** How often a stream paused for its client's share looks again (its own answers may all be gone). */
const BUDGET_RECHECK_MS = 100;

/**
 * Flow control of one bidirectional server stream whose requests are answered as they settle
 * (an acceptor's Prepare and Accept streams, a proposer's ProposeStream and ProposeBulk): reading
 * pauses while `inFlightMax` requests await their answers or while the client does not read what
 * was written; the stream ends once the client's input ended and every answer has been written.
 *
 * With `answers` (the server's AnswerBudget), the answers written and not yet taken by the client
 * (HTTP/2 flow control) and the requests read and not yet answered count against its client's
 * share with its unary answers: while the client holds its share, none of its streams reads another
 * request. Without it a client that never reads held every answer of every stream it opened.
 */
export class StreamFlow<Req, Res> {
  private inFlight = 0;
  private inputDone = false;
  private ended = false;
  private writeBlocked = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private lastActivity = performance.now();
  /** Set by failAfterAnswers: the status the stream ends with once every request read is answered. */
  private pendingFailure: Partial<ServiceError> | undefined;
  /** Bytes this stream holds in `answers` (requests read and unanswered, answers not yet taken). */
  private held = 0;
  private dropped = false;
  private readonly peer: string | undefined;
  private recheck: NodeJS.Timeout | undefined;

  /**
   * With `idle`, a stream with nothing in flight and no request for `idle.ms` is closed with
   * UNAVAILABLE and `idle.message` (a client opens a new one when it needs it).
   */
  constructor(
    private readonly call: ServerDuplexStream<Req, Res>,
    private readonly inFlightMax: number,
    private readonly idle?: { readonly ms: number; readonly message: string },
    private readonly answers?: AnswerBudget,
    /**
     * Bytes counted in `answers` for each request read and not yet answered: what one costs the
     * server while it is awaited (its decoded message and what waits on it), at least the place
     * its answer takes. A service whose requests cost more while awaited says so here.
     */
    private readonly awaitedBytes = ANSWER_RESERVE_BYTES,
  ) {
    if (answers) this.peer = callerKey(call as unknown as Parameters<typeof callerKey>[0]);
    call.on('end', () => {
      this.inputDone = true;
      this.maybeEnd();
    });
    call.on('error', () => this.close(true));
    call.on('cancelled', () => this.close(true));
    if (idle) this.armIdle(idle.ms);
  }

  /**
   * `dropped`: the call ended with an error or was cancelled, and grpc-js drops what its client did
   * not take (no write completes after that): its bytes are given back now. A stream that ends
   * normally keeps them until each answer is taken (grpc-js sends the status after the last).
   */
  private close(dropped = false): void {
    this.ended = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.recheck) clearTimeout(this.recheck);
    this.recheck = undefined;
    if (dropped && !this.dropped) {
      this.dropped = true;
      this.hold(-this.held);
    }
  }

  private hold(bytes: number): void {
    if (!this.answers || this.peer === undefined || bytes === 0) return;
    this.held += bytes;
    this.answers.adjust(this.peer, bytes);
  }

  private armIdle(ms: number): void {
    this.idleTimer = setTimeout(() => {
      if (this.ended || !this.idle) return;
      const quiet = performance.now() - this.lastActivity;
      if (this.inFlight === 0 && quiet >= this.idle.ms) this.fail({ code: status.UNAVAILABLE, details: this.idle.message });
      else this.armIdle(Math.max(50, this.idle.ms - (this.inFlight === 0 ? quiet : 0)));
    }, ms);
    this.idleTimer.unref?.();
  }

  /** True once the stream ended (answers written, or an error, or the client went away). */
  get closed(): boolean {
    return this.ended;
  }

  /** True while requests are read and answered (not ended, and not ending with failAfterAnswers). */
  get accepting(): boolean {
    return !this.ended && this.pendingFailure === undefined;
  }

  /** `count` requests were read and await answers. */
  started(count: number): void {
    this.lastActivity = performance.now();
    this.inFlight += count;
    if (!this.ended) this.hold(count * this.awaitedBytes);
    this.update();
  }

  /** Writes a message that answers `count` requests. */
  answer(message: Res, count: number): void {
    this.lastActivity = performance.now();
    this.inFlight -= count;
    if (this.ended) return;
    let taken: (() => void) | undefined;
    if (this.answers) {
      const bytes = messageBytes(message) + ANSWER_RESERVE_BYTES;
      this.hold(bytes - count * this.awaitedBytes);
      // Given back once grpc-js handed the message to HTTP/2 (the client took it into its window).
      taken = () => {
        if (this.dropped) return;
        this.hold(-bytes);
        this.update();
      };
    }
    if (!this.call.write(message, taken) && !this.writeBlocked) {
      this.writeBlocked = true;
      this.call.once('drain', () => {
        this.writeBlocked = false;
        this.update();
      });
    }
    this.update();
    this.maybeEnd();
  }

  /** Ends the stream with an error status. */
  fail(err: Partial<ServiceError>): void {
    if (this.ended) return;
    this.close(true);
    this.call.emit('error', err);
  }

  /**
   * Ends the stream with an error status once every request read so far has its answer written
   * (no more are read): a bad message must not cost the answers to the good ones before it.
   */
  failAfterAnswers(err: Partial<ServiceError>): void {
    if (!this.accepting) return;
    this.pendingFailure = err;
    this.call.pause();
    this.maybeEnd();
  }

  private update(): void {
    if (this.ended) return;
    const full = this.answers !== undefined && this.peer !== undefined && this.answers.full(this.peer);
    if (this.pendingFailure !== undefined || this.writeBlocked || this.inFlight >= this.inFlightMax || full) this.call.pause();
    else this.call.resume();
    if (full && !this.recheck) {
      this.recheck = setTimeout(() => {
        this.recheck = undefined;
        this.update();
      }, BUDGET_RECHECK_MS);
      this.recheck.unref?.();
    }
  }

  private maybeEnd(): void {
    if (this.pendingFailure !== undefined && this.inFlight <= 0) {
      this.fail(this.pendingFailure);
      return;
    }
    if (!this.inputDone || this.inFlight > 0 || this.ended) return;
    this.close();
    this.call.end();
  }
}
