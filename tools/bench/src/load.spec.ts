import { percentile, runLoad } from './load';

describe('the load generator', () => {
  it('runs the given concurrency and counts completions and errors', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const r = await runLoad(
      async (seq) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((res) => setImmediate(res));
        inFlight -= 1;
        if (seq % 10 === 9) throw new Error('every tenth fails');
      },
      8,
      100,
    );
    expect(maxInFlight).toBe(8);
    expect(r.completed).toBeGreaterThan(0);
    expect(r.errors).toBeGreaterThan(0);
    expect(r.firstError).toBe('every tenth fails');
    expect(r.p50Ms).toBeLessThanOrEqual(r.p99Ms);
  });

  it('takes percentiles of sorted samples', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 0.5)).toBe(50);
    expect(percentile(xs, 0.99)).toBe(99);
    expect(percentile([], 0.5)).toBe(0);
  });
});
