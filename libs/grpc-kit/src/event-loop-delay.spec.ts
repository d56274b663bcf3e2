// The module object itself (a namespace import is a copy, and a spy on it reaches no caller).
import perfHooks from 'node:perf_hooks';
import { Gauge, Registry } from 'prom-client';
import { EVENT_LOOP_SAMPLE_MS, reportDelayBeyondTick } from './event-loop-delay';
import { createMetricsRegistry } from './metrics';

function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no ${name} in the exposition`);
  return Number(line.split(' ').pop());
}

describe('the event loop delay metrics', () => {
  it('sample the loop every EVENT_LOOP_SAMPLE_MS, not 100 times a second', () => {
    const monitor = jest.spyOn(perfHooks, 'monitorEventLoopDelay');
    try {
      createMetricsRegistry('node-under-test');
      expect(monitor).toHaveBeenCalledWith({ resolution: EVENT_LOOP_SAMPLE_MS });
      expect(EVENT_LOOP_SAMPLE_MS).toBeGreaterThanOrEqual(100);
    } finally {
      monitor.mockRestore();
    }
  });

  it('report the delay beyond the tick: an interval of exactly one tick is no delay, a longer one the excess', async () => {
    const registry = new Registry();
    const p50 = new Gauge({ name: 'nodejs_eventloop_lag_p50_seconds', help: 'p50', registers: [registry] });
    const max = new Gauge({ name: 'nodejs_eventloop_lag_max_seconds', help: 'max', registers: [registry] });
    const stddev = new Gauge({ name: 'nodejs_eventloop_lag_stddev_seconds', help: 'stddev', registers: [registry] });
    p50.set(0.1);
    max.set(0.45);
    stddev.set(0.02);
    reportDelayBeyondTick(registry, 100);
    const text = await registry.metrics();
    expect(sample(text, 'nodejs_eventloop_lag_p50_seconds')).toBe(0);
    expect(sample(text, 'nodejs_eventloop_lag_max_seconds')).toBeCloseTo(0.35, 9);
    expect(sample(text, 'nodejs_eventloop_lag_stddev_seconds')).toBe(0.02);
  });

  it('show a blocked loop as its block', async () => {
    const registry = createMetricsRegistry('node-under-test');
    await registry.metrics(); // starts the interval the next scrape reports
    await new Promise((r) => setTimeout(r, 3 * EVENT_LOOP_SAMPLE_MS));
    const blockedUntil = performance.now() + 400;
    while (performance.now() < blockedUntil) {
      // the loop is blocked
    }
    await new Promise((r) => setTimeout(r, 2 * EVENT_LOOP_SAMPLE_MS));
    const text = await registry.metrics();
    expect(sample(text, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.3);
    expect(sample(text, 'nodejs_eventloop_lag_min_seconds')).toBeLessThan(sample(text, 'nodejs_eventloop_lag_max_seconds'));
    expect(sample(text, 'nodejs_eventloop_lag_min_seconds')).toBeGreaterThanOrEqual(0);
  });
});
