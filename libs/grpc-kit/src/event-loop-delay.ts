// The event loop's delay as the process's default metrics report it (prom-client's
// nodejs_eventloop_lag_* gauges, from Node's monitorEventLoopDelay), sampled every
// EVENT_LOOP_SAMPLE_MS instead of prom-client's 10 ms, and reported as the delay beyond the tick.
import type { Registry } from 'prom-client';

/**
 * How often the event loop's delay is sampled. At prom-client's default, 10 ms, every idle node
 * woke 100 times a second for it alone: 0.6-0.8 % of a core a process, about 15 % of a core for a
 * network of 23 acceptors and a proposer on one machine, half of what the idle network used. A
 * block of the loop longer than a tick is seen whole at any tick; one shorter is seen in part.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * The gauges that report Node's histogram of the intervals between the sampling timer's callbacks:
 * each interval is the tick plus how late the callback ran, so an idle loop read as "lagging" by
 * the tick (10 ms before; 100 ms now).
 */
const INTERVAL_GAUGES = [
  'nodejs_eventloop_lag_min_seconds',
  'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p90_seconds',
  'nodejs_eventloop_lag_p99_seconds',
] as const;

/**
 * Makes the interval gauges of `registry` report how late the loop ran (the interval less the tick,
 * never below 0), so an idle node reads 0 and a busy one the delay its callbacks met. The stddev
 * and nodejs_eventloop_lag_seconds (a setImmediate timed at each scrape) need no change.
 */
export function reportDelayBeyondTick(registry: Registry, tickMs: number = EVENT_LOOP_SAMPLE_MS): void {
  const tickSeconds = tickMs / 1000;
  for (const name of INTERVAL_GAUGES) {
    const metric = registry.getSingleMetric(name);
    if (metric === undefined) continue; // a runtime without monitorEventLoopDelay
    const read = metric.get.bind(metric);
    metric.get = async () => {
      const m = await read();
      return { ...m, values: m.values.map((v) => ({ ...v, value: Math.max(0, v.value - tickSeconds) })) };
    };
  }
}
