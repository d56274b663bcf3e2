/** Figures of one load run; latencies in milliseconds. */
export interface LoadResult {
  /** Calls answered within the measured window (the throughput's numerator). */
  readonly completed: number;
  /** Calls made in the window and answered after it closed: in the latencies, not in the throughput. */
  readonly late: number;
  /** Calls that failed, whenever they failed. */
  readonly errors: number;
  /** The measured window. */
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly firstError?: string;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (!(p > 0 && p <= 1)) throw new RangeError(`a percentile is taken at p in (0, 1], got ${p}`);
  if (sorted.length === 0) return NaN;
  // p * n in floating point may land a hair above an integer (0.07 * 100 = 7.000000000000001).
  const rank = Math.ceil(p * sorted.length - 1e-9);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** Latencies kept per run; past it, a uniform random sample of them is kept (reservoir). */
const SAMPLES_MAX = 200_000;

/**
 * A uniform sample of at most `max` of the latencies added (Vitter's algorithm R): the n-th one
 * replaces a kept one with probability max/n, so early and late samples are kept alike.
 */
export class LatencySample {
  private seen = 0;
  readonly kept: number[] = [];

  constructor(
    private readonly max = SAMPLES_MAX,
    private readonly random: () => number = Math.random,
  ) {}

  add(ms: number): void {
    this.seen += 1;
    if (this.kept.length < this.max) {
      this.kept.push(ms);
      return;
    }
    const j = Math.floor(this.random() * this.seen);
    if (j < this.max) this.kept[j] = ms;
  }
}

export interface LoadOptions {
  /**
   * Called once when the measured window closes, before the calls still out are waited for (so a
   * CPU meter read here covers the same span as the throughput).
   */
  readonly atWindowEnd?: () => void;
}

/**
 * Runs `concurrency` loops, each awaiting `call(i)` back to back (a closed loop), making calls for
 * durationMs. The throughput counts the answers that arrived within that window, over its length;
 * the calls still out when it closes are waited for, their latencies kept (the tail is theirs) but
 * their answers not counted. Failures count as errors, never as throughput.
 */
export async function runLoad(call: (seq: number) => Promise<unknown>, concurrency: number, durationMs: number, options: LoadOptions = {}): Promise<LoadResult> {
  const sample = new LatencySample();
  let completed = 0;
  let late = 0;
  let errors = 0;
  let seq = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const until = started + durationMs;
  let windowEnded = false;
  const endWindow = () => {
    if (windowEnded) return;
    windowEnded = true;
    options.atWindowEnd?.();
  };
  const timer = setTimeout(endWindow, durationMs);
  const loop = async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      try {
        await call(seq++);
        const t1 = performance.now();
        sample.add(t1 - t0);
        if (t1 <= until) completed += 1;
        else late += 1;
      } catch (e) {
        errors += 1;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, loop));
  } finally {
    clearTimeout(timer);
    endWindow();
  }
  const seconds = durationMs / 1000;
  const latencies = sample.kept.sort((a, b) => a - b);
  return {
    completed,
    late,
    errors,
    seconds,
    perSecond: completed / seconds,
    p50Ms: percentile(latencies, 0.5),
    p95Ms: percentile(latencies, 0.95),
    p99Ms: percentile(latencies, 0.99),
    ...(firstError ? { firstError } : {}),
  };
}

/**
 * A warm-up run that must get answers: a target that answers none of its calls (down, refusing,
 * or stalled past the calls' deadlines) is an error naming it and its first failure, rather than
 * a table of zeros and exit 0.
 */
export async function warmUp(what: string, call: (seq: number) => Promise<unknown>, concurrency: number, durationMs: number): Promise<LoadResult> {
  const r = await runLoad(call, concurrency, durationMs);
  if (r.completed + r.late === 0) {
    throw new Error(`${what} answered none of ${r.errors} calls in ${durationMs} ms of warm-up${r.firstError ? `; the first failure: ${r.firstError}` : ''}`);
  }
  return r;
}
