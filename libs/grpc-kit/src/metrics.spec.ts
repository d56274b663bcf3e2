import { Counter, Registry } from 'prom-client';
import { createLogger } from './logger';
import { METRICS_RENDER_EVERY_MS, startMetricsServer } from './metrics';

const logger = createLogger('metrics-test');
logger.level = 'silent';

describe('the metrics port', () => {
  it('renders at most once per METRICS_RENDER_EVERY_MS however often it is scraped', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'test_events_total', help: 'events', registers: [registry] });
    let renders = 0;
    const metrics = registry.metrics.bind(registry);
    registry.metrics = () => {
      renders++;
      return metrics();
    };
    const server = await startMetricsServer('127.0.0.1', 0, registry, logger);
    const scrape = async () => (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    try {
      counter.inc();
      const started = Date.now();
      const first = await Promise.all(Array.from({ length: 20 }, scrape));
      // One render per window the 20 scrapes spanned (one, on any but a very loaded machine).
      expect(renders).toBeLessThanOrEqual(1 + Math.floor((Date.now() - started) / METRICS_RENDER_EVERY_MS));
      expect(first[0]).toMatch(/^test_events_total 1$/m);
      counter.inc();
      await new Promise((r) => setTimeout(r, METRICS_RENDER_EVERY_MS));
      const before = renders;
      expect(await scrape()).toMatch(/^test_events_total 2$/m);
      expect(renders).toBe(before + 1);
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
