import { LatencySample, percentile, runLoad } from './load';

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

describe('the measured window', () => {
  it('counts only the answers that arrive within it, over its length, and ends the window before the tail', async () => {
    // One client, each call answered after 250 ms, a 400 ms window: the first answer (at 250 ms)
    // is in it; the second call, made at 250 ms, is answered at 500 ms, after the window closed.
    let windowEndedAt: number | undefined;
    const started = performance.now();
    const r = await runLoad(() => new Promise((res) => setTimeout(res, 250)), 1, 400, { atWindowEnd: () => (windowEndedAt = performance.now() - started) });
    const endedAt = performance.now() - started;
    expect(r.completed).toBe(1);
    expect(r.late).toBe(1);
    expect(r.seconds).toBe(0.4);
    expect(r.perSecond).toBeCloseTo(2.5);
    expect(r.errors).toBe(0);
    // Both calls' latencies are kept: the late one is part of the tail.
    expect(r.p99Ms).toBeGreaterThanOrEqual(245);
    expect(windowEndedAt).toBeDefined();
    expect(windowEndedAt as number).toBeGreaterThanOrEqual(395);
    expect(windowEndedAt as number).toBeLessThan(endedAt);
  });

  it('a run that completes nothing has no latency and no throughput, and says why', async () => {
    const r = await runLoad(() => Promise.reject(new Error('14 UNAVAILABLE: No connection established')), 4, 50);
    expect(r.completed).toBe(0);
    expect(r.perSecond).toBe(0);
    expect(r.errors).toBeGreaterThan(0);
    expect(r.firstError).toMatch(/UNAVAILABLE/);
    expect(r.p50Ms).toBeNaN();
  });
});

describe('the latency sample', () => {
  it('keeps everything below its bound', () => {
    const s = new LatencySample(10);
    for (let i = 0; i < 7; i++) s.add(i);
    expect(s.kept).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('past its bound keeps a uniform sample, early latencies as likely as late ones', () => {
    // A seeded generator (mulberry32), so the figure is the same every run.
    let seed = 12345;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const s = new LatencySample(1000, random);
    for (let i = 0; i < 20_000; i++) s.add(i);
    expect(s.kept).toHaveLength(1000);
    const mean = s.kept.reduce((a, b) => a + b, 0) / s.kept.length;
    // Uniform over 0..19,999: mean 10,000, standard error about 180.
    expect(mean).toBeGreaterThan(9000);
    expect(mean).toBeLessThan(11_000);
    // A quarter of the kept ones come from the first quarter of the run.
    const early = s.kept.filter((x) => x < 5000).length;
    expect(early).toBeGreaterThan(200);
    expect(early).toBeLessThan(300);
  });
});
