import { type AddressInfo, createServer, type Socket } from 'node:net';
import { comparisonOutput, comparisonRatios, etcdClient, type Footprint, median, type Run, summarize } from './etcd-compare';

const run = (system: string, mode: string, concurrency: number, opsPerSecond: number, p50Ms: number, p99Ms: number): Run => ({ system, mode, concurrency, opsPerSecond, p50Ms, p99Ms, errors: 0 });

describe('the etcd comparison', () => {
  it('takes medians over the rounds, odd and even, and leaves out a run without latencies', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(median([NaN, 5, 7])).toBe(6);
  });

  it('summarizes one system, mode and C, with each round in the spread', () => {
    const runs = [run('ours', 'unary', 1, 40, 20, 30), run('ours', 'unary', 256, 900, 200, 400), run('ours', 'unary', 1, 50, 18, 28), run('ours', 'stream', 1, 60, 15, 25)];
    expect(summarize(runs, 'ours', 'unary', 1)).toEqual({ ops: 45, p50: 19, p99: 29, spread: [40, 50] });
  });

  it('sets each ratio between the same quantity at the same C, against etcd with as many members as we have acceptors', () => {
    const runs = [
      run('etcd-3', 'put', 1, 500, 2, 4),
      run('etcd-3', 'put', 256, 4000, 60, 140),
      run('etcd-5', 'put', 1, 100, 10, 20),
      run('etcd-5', 'put', 256, 800, 300, 1400),
      run('ours', 'unary', 1, 40, 20, 30),
      run('ours', 'unary', 256, 1000, 200, 400),
      run('ours', 'stream', 1, 50, 16, 25),
      run('ours', 'stream', 256, 2000, 100, 200),
      run('ours', 'bulk', 1, 60, 14, 20),
      run('ours', 'bulk', 256, 3000, 70, 280),
    ];
    const footprints: Footprint[] = [
      { system: 'etcd-3', quorumReadyMs: 500, restRssMb: 100, restPssMb: 90, pssFromRss: 0 },
      { system: 'etcd-5', quorumReadyMs: 1000, restRssMb: 200, restPssMb: 160, pssFromRss: 0 },
      { system: 'ours', quorumReadyMs: 3000, restRssMb: 300, restPssMb: 120, pssFromRss: 0 },
    ];
    expect(comparisonRatios(runs, footprints, [1, 256], 5)).toEqual({
      'unary C=1 p50 / etcd-5 p50 (target <= 0.6)': 2,
      'unary C=1 p50 / ProposeStream C=1 p50 (target <= 1.2)': 1.25,
      'unary C=256 ops / etcd-3 ops (target >= 1)': 0.25,
      'bulk C=256 ops / etcd-3 ops (target >= 2.5)': 0.75,
      'bulk C=256 p99 / etcd-3 p99 (target < 1)': 2,
      'memory at rest, RSS sum / etcd-5 (target <= 0.8)': 1.5,
      'memory at rest, PSS sum / etcd-5 (target <= 0.8)': 0.75,
      'quorum-ready / etcd-5': 3,
    });
    // Without C=1 and C=256 among the levels only the footprint ratios remain.
    expect(Object.keys(comparisonRatios(runs, footprints, [16], 5))).toEqual(['memory at rest, RSS sum / etcd-5 (target <= 0.8)', 'memory at rest, PSS sum / etcd-5 (target <= 0.8)', 'quorum-ready / etcd-5']);
  });

  it('ends with one JSON line holding the medians, spreads, footprints and ratios; the table is apart, for stderr', () => {
    const runs = [
      run('etcd-3', 'put', 1, 500, 2, 4),
      run('etcd-3', 'put', 1, 520, 2.2, 4.4),
      run('etcd-5', 'put', 1, 100, 10, 20),
      run('etcd-5', 'put', 1, 110, 11, 21),
      run('ours', 'unary', 1, 40, 20, 30),
      run('ours', 'unary', 1, 44, 22, 34),
      run('ours', 'stream', 1, 50, 16, 25),
      run('ours', 'stream', 1, 52, 18, 27),
      // A bulk run that completed nothing: no latencies (NaN), null in the line.
      run('ours', 'bulk', 1, 0, NaN, NaN),
    ];
    const footprints: Footprint[] = [
      { system: 'etcd-3', quorumReadyMs: 500, restRssMb: 100, restPssMb: 90, pssFromRss: 0 },
      { system: 'etcd-5', quorumReadyMs: 1000, restRssMb: 200, restPssMb: 160, pssFromRss: 0 },
      { system: 'ours', quorumReadyMs: 3000, restRssMb: 300, restPssMb: 120, pssFromRss: 0 },
      { system: 'etcd-3', quorumReadyMs: 700, restRssMb: 110, restPssMb: 94, pssFromRss: 0 },
      { system: 'etcd-5', quorumReadyMs: 1200, restRssMb: 220, restPssMb: 170, pssFromRss: 0 },
      { system: 'ours', quorumReadyMs: 3400, restRssMb: 310, restPssMb: 124, pssFromRss: 2 },
    ];
    const { summaryLine, table } = comparisonOutput(runs, footprints, { levels: [1], repeats: 2, acceptors: 5, valueBytes: 200, durationMs: 6000 });
    expect(summaryLine).not.toContain('\n');
    const summary = JSON.parse(summaryLine);
    expect(summary).toMatchObject({ comparison: 'etcd', rounds: 2, acceptors: 5, valueBytes: 200, durationMs: 6000 });
    expect(summary.medians).toEqual([
      { system: 'etcd-3', mode: 'put', concurrency: 1, opsPerSecond: 510, p50Ms: 2.1, p99Ms: 4.2, runsOpsPerSecond: [500, 520] },
      { system: 'etcd-5', mode: 'put', concurrency: 1, opsPerSecond: 105, p50Ms: 10.5, p99Ms: 20.5, runsOpsPerSecond: [100, 110] },
      { system: 'ours', mode: 'unary', concurrency: 1, opsPerSecond: 42, p50Ms: 21, p99Ms: 32, runsOpsPerSecond: [40, 44] },
      { system: 'ours', mode: 'stream', concurrency: 1, opsPerSecond: 51, p50Ms: 17, p99Ms: 26, runsOpsPerSecond: [50, 52] },
      { system: 'ours', mode: 'bulk', concurrency: 1, opsPerSecond: 0, p50Ms: null, p99Ms: null, runsOpsPerSecond: [0] },
    ]);
    expect(summary.footprints).toEqual([
      { system: 'etcd-3', quorumReadyMs: 600, restRssMb: 105, restPssMb: 92, rounds: [{ quorumReadyMs: 500, restRssMb: 100, restPssMb: 90, pssFromRss: 0 }, { quorumReadyMs: 700, restRssMb: 110, restPssMb: 94, pssFromRss: 0 }] },
      { system: 'etcd-5', quorumReadyMs: 1100, restRssMb: 210, restPssMb: 165, rounds: [{ quorumReadyMs: 1000, restRssMb: 200, restPssMb: 160, pssFromRss: 0 }, { quorumReadyMs: 1200, restRssMb: 220, restPssMb: 170, pssFromRss: 0 }] },
      { system: 'ours', quorumReadyMs: 3200, restRssMb: 305, restPssMb: 122, rounds: [{ quorumReadyMs: 3000, restRssMb: 300, restPssMb: 120, pssFromRss: 0 }, { quorumReadyMs: 3400, restRssMb: 310, restPssMb: 124, pssFromRss: 2 }] },
    ]);
    expect(summary.ratios).toEqual(comparisonRatios(runs, footprints, [1], 5));
    expect(summary.ratios['memory at rest, PSS sum / etcd-5 (target <= 0.8)']).toBe(0.739);
    // The table is for a person: not JSON, every figure of the line in it, ending in a newline.
    expect(table.endsWith('\n')).toBe(true);
    expect(table).toMatch(/etcd-3 put\s+C=1\s+510 ops\/s \(runs 500, 520\)\s+p50 2\.1 ms\s+p99 4\.2 ms/);
    expect(table).toMatch(/ours\s+quorum-ready 3\.00 s, 3\.40 s; at rest RSS sum 300 MB, 310 MB, PSS sum 120 MB, 124 MB \(2 processes' PSS unreadable: their RSS\)/);
    expect(table).toContain('memory at rest, RSS sum / etcd-5 (target <= 0.8): 1.452');
    expect(() => JSON.parse(table)).toThrow();
  });

  it('an etcd that does not answer fails each call at its deadline instead of hanging the closed loop', async () => {
    // A member that takes the connection and never speaks (stopped, or wedged).
    const sockets: Socket[] = [];
    const server = createServer((sock) => sockets.push(sock));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const etcd = etcdClient([`http://127.0.0.1:${(server.address() as AddressInfo).port}`], 500);
    try {
      const started = performance.now();
      await expect(etcd.put('k').value('v').exec()).rejects.toThrow(/deadline/i);
      const took = performance.now() - started;
      expect(took).toBeGreaterThanOrEqual(450);
      expect(took).toBeLessThan(5000);
    } finally {
      etcd.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  }, 20_000);
});
