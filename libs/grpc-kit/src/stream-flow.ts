import type { ServerDuplexStream, ServiceError } from '@grpc/grpc-js';

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

  constructor(
    private readonly call: ServerDuplexStream<Req, Res>,
    private readonly inFlightMax: number,
  ) {
    call.on('end', () => {
      this.inputDone = true;
      this.maybeEnd();
    });
    call.on('error', () => {
      this.ended = true;
    });
    call.on('cancelled', () => {
      this.ended = true;
    });
  }

  /** True once the stream ended (answers written, or an error, or the client went away). */
  get closed(): boolean {
    return this.ended;
  }

  /** `count` requests were read and await answers. */
  started(count: number): void {
    this.inFlight += count;
    this.update();
  }

  /** Writes a message that answers `count` requests. */
  answer(message: Res, count: number): void {
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
    this.ended = true;
    this.call.emit('error', err);
  }

  private update(): void {
    if (this.ended) return;
    if (this.writeBlocked || this.inFlight >= this.inFlightMax) this.call.pause();
    else this.call.resume();
  }

  private maybeEnd(): void {
    if (!this.inputDone || this.inFlight > 0 || this.ended) return;
    this.ended = true;
    this.call.end();
  }
}
