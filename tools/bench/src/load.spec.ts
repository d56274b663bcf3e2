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
  });

  it('takes the nearest rank: p99 of fewer than 100 samples is the largest, never a smaller one', () => {
    expect(percentile([1, 2], 0.99)).toBe(2);
    expect(percentile([1, 2], 0.5)).toBe(1);
    const ten = Array.from({ length: 10 }, (_, i) => i + 1);
    expect(percentile(ten, 0.99)).toBe(10);
    expect(percentile(ten, 0.95)).toBe(10);
    expect(percentile(ten, 0.5)).toBe(5);
    expect(percentile(ten, 0.1)).toBe(1);
    expect(percentile(ten, 1)).toBe(10);
    // 0.07 * 100 is 7.000000000000001 in floating point: still the 7th sample.
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 0.07)).toBe(7);
  });

  it('one sample is every percentile; no sample has none (null in JSON, not 0 ms)', () => {
    expect(percentile([4.2], 0.5)).toBe(4.2);
    expect(percentile([4.2], 0.99)).toBe(4.2);
    expect(percentile([], 0.5)).toBeNaN();
    expect(JSON.stringify({ p50Ms: Number(percentile([], 0.5).toFixed(2)) })).toBe('{"p50Ms":null}');
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 1.5)).toThrow(RangeError);
  });
});
