/** Latency figures of one load run, in milliseconds. */
export interface LoadResult {
  readonly completed: number;
  readonly errors: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly firstError?: string;
}

/**
 * The nearest-rank percentile of ascending samples: the smallest sample with at least p of them at
 * or below it (p in (0, 1]). No samples have no percentile: NaN, which JSON prints as null (a run
 * that completed nothing reports no latency rather than 0 ms).
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (!(p > 0 && p <= 1)) throw new RangeError(`a percentile is taken at p in (0, 1], got ${p}`);
  if (sorted.length === 0) return NaN;
  // p * n in floating point may land a hair above an integer (0.07 * 100 = 7.000000000000001).
  const rank = Math.ceil(p * sorted.length - 1e-9);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** Latencies kept per run; past it, samples are kept at random positions (reservoir). */
const SAMPLES_MAX = 200_000;

/**
 * Runs `concurrency` loops, each awaiting `call(i)` back to back, for durationMs; counts what
 * completed and what failed, and keeps a bounded sample of latencies.
 */
export async function runLoad(call: (seq: number) => Promise<unknown>, concurrency: number, durationMs: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let completed = 0;
  let errors = 0;
  let seq = 0;
  let firstError: string | undefined;
  const started = process.hrtime.bigint();
  const until = performance.now() + durationMs;
  const loop = async () => {
    while (performance.now() < until) {
      const t0 = process.hrtime.bigint();
      try {
        await call(seq++);
        completed += 1;
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (latencies.length < SAMPLES_MAX) latencies.push(ms);
        else latencies[Math.floor(Math.random() * SAMPLES_MAX)] = ms;
      } catch (e) {
        errors += 1;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  return {
    completed,
    errors,
    seconds,
    perSecond: completed / seconds,
    p50Ms: percentile(latencies, 0.5),
    p95Ms: percentile(latencies, 0.95),
    p99Ms: percentile(latencies, 0.99),
    ...(firstError ? { firstError } : {}),
  };
}
