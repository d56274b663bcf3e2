// Waiters for conditions on the proposer's state (the read barrier's stages), woken when that
// state moves rather than each on its own timer.
import { status } from '@grpc/grpc-js';
import { GrpcError } from '@paxos/grpc-kit';

/**
 * How often waiting conditions are looked at when nothing pokes the list: the caller left, a
 * deadline passed, or state moved by a path that does not poke (each costs at most this long).
 */
export const WAIT_FALLBACK_MS = 10;

interface Waiter {
  readonly done: () => boolean;
  readonly until: number;
  readonly what: string;
  readonly gone: () => boolean;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** The read was cancelled by its client. */
export function callerGone(): GrpcError {
  return new GrpcError(status.CANCELLED, 'the read was cancelled by its client before its barrier was reached');
}

/**
 * Conditions waited for. poke() (the proposer's state moved: a core output, a delivery, ready)
 * looks at every waiter once in the next turn of the event loop, however often it was called in
 * this one (never for pokes made while looking: a waiter that asks the proposer to lead would
 * otherwise wake the list in every turn until phase 1 ends); a shared timer looks every
 * WAIT_FALLBACK_MS while any waits. Each waiter is bounded by
 * its deadline, and the list by the calls that wait on it (the servers' call bounds).
 */
export class WaitList {
  private readonly waiting = new Set<Waiter>();
  private scheduled = false;
  /** Waiters are being looked at: pokes that their own done() causes (a read asking to lead) wait for the next look. */
  private looking = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly stopped: () => boolean) {}

  /** Waiters now. */
  get size(): number {
    return this.waiting.size;
  }

  /**
   * Resolves once `done()` holds; rejects with what `done()` throws, with DEADLINE_EXCEEDED (naming
   * `what`) at `until` (performance.now() time) or when the proposer stopped, or with CANCELLED
   * once `gone()`.
   */
  wait(done: () => boolean, until: number, what: string, gone: () => boolean = () => false): Promise<void> {
    try {
      if (done()) return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.add({ done, until, what, gone, resolve, reject });
      this.timer ??= setInterval(() => this.lookAll(), WAIT_FALLBACK_MS);
    });
  }

  /** The state waiters look at moved: every waiter looks again, once, in the next turn. */
  poke(): void {
    if (this.scheduled || this.looking || this.waiting.size === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.lookAll();
    });
  }

  private lookAll(): void {
    const now = performance.now();
    const stopped = this.stopped();
    this.looking = true;
    try {
      // Bounded by the waiters at the start (a waiter's done() adds none).
      for (const w of [...this.waiting]) this.look(w, now, stopped);
    } finally {
      this.looking = false;
    }
    if (this.waiting.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private look(w: Waiter, now: number, stopped: boolean): void {
    let outcome: { readonly ok: true } | { readonly err: unknown } | undefined;
    try {
      if (w.done()) outcome = { ok: true };
      else if (w.gone()) outcome = { err: callerGone() };
      else if (now >= w.until || stopped) outcome = { err: new GrpcError(status.DEADLINE_EXCEEDED, `read not answered in time: ${w.what}`) };
    } catch (e) {
      outcome = { err: e };
    }
    if (outcome === undefined) return;
    this.waiting.delete(w);
    if ('ok' in outcome) w.resolve();
    else w.reject(outcome.err);
  }
}
