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

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] as number;
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
