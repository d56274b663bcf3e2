import { type ServerDuplexStream, type ServiceError, status } from '@grpc/grpc-js';

/**
 * Flow control of one bidirectional server stream whose requests are answered as they settle
 * (an acceptor's Prepare and Accept streams, a proposer's ProposeStream and ProposeBulk): reading
 * pauses while `inFlightMax` requests await their answers or while the client does not read what
 * was written; the stream ends once the client's input ended and every answer has been written.
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

  /**
   * With `idle`, a stream with nothing in flight and no request for `idle.ms` is closed with
   * UNAVAILABLE and `idle.message` (a client opens a new one when it needs it).
   */
  constructor(
    private readonly call: ServerDuplexStream<Req, Res>,
    private readonly inFlightMax: number,
    private readonly idle?: { readonly ms: number; readonly message: string },
  ) {
    call.on('end', () => {
      this.inputDone = true;
      this.maybeEnd();
    });
    call.on('error', () => this.close());
    call.on('cancelled', () => this.close());
    if (idle) this.armIdle(idle.ms);
  }

  private close(): void {
    this.ended = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
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
    this.update();
  }

  /** Writes a message that answers `count` requests. */
  answer(message: Res, count: number): void {
    this.lastActivity = performance.now();
    this.inFlight -= count;
    if (this.ended) return;
    if (!this.call.write(message) && !this.writeBlocked) {
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
    this.close();
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
    if (this.pendingFailure !== undefined || this.writeBlocked || this.inFlight >= this.inFlightMax) this.call.pause();
    else this.call.resume();
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
