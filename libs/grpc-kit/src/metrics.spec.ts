import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { hostKeyOf } from './address-bounds';
import { createLogger } from './logger';
import { METRICS_CONNECTIONS_MAX, METRICS_CONNECTIONS_PER_HOST_MAX, METRICS_RENDER_EVERY_MS, startMetricsServer } from './metrics';
import { sendOnOneConnection } from './testing';

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
      // As many at once as one host has connections (fetch opens one for each; past the host's
      // share, a new connection takes the place of one whose request has not arrived yet).
      const first = await Promise.all(Array.from({ length: METRICS_CONNECTIONS_PER_HOST_MAX }, scrape));
      // One render per window the scrapes spanned (one, on any but a very loaded machine).
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

  it('answers another method on /metrics 405 naming the ones it serves, and HEAD as GET without the body', async () => {
    const registry = new Registry();
    new Counter({ name: 'test_events_total', help: 'events', registers: [registry] });
    const server = await startMetricsServer('127.0.0.1', 0, registry, logger);
    try {
      const post = await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST', body: 'x' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD');
      expect(await post.text()).toContain('GET /metrics');
      const head = await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toContain('text/plain');
      expect(await head.text()).toBe('');
      // On every path: the status page's rule (GET and HEAD, nothing else); HEAD elsewhere is GET's 404.
      for (const method of ['POST', 'OPTIONS', 'PUT', 'DELETE']) {
        const other = await fetch(`http://127.0.0.1:${server.port}/`, { method });
        expect([method, other.status, other.headers.get('allow')]).toEqual([method, 405, 'GET, HEAD']);
      }
      const headElsewhere = await fetch(`http://127.0.0.1:${server.port}/`, { method: 'HEAD' });
      expect(headElsewhere.status).toBe(404);
      expect(await headElsewhere.text()).toBe('');
    } finally {
      await server.close();
    }
  });

  it('on a loopback address, answers only a Host header naming loopback, as the status page (DNS rebinding)', async () => {
    const registry = new Registry();
    new Counter({ name: 'test_events_total', help: 'events', registers: [registry] });
    const server = await startMetricsServer('127.0.0.1', 0, registry, logger);
    /** The status of GET (or HEAD) /metrics sent with this Host header (fetch would set its own). */
    const withHost = (host: string, method = 'GET') =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, path: '/metrics', method, headers: { host } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await withHost('evil.example')).toBe(421);
      expect(await withHost(`evil.example:${server.port}`, 'HEAD')).toBe(421);
      expect(await withHost(`127.0.0.1:${server.port}`)).toBe(200);
      expect(await withHost(`localhost:${server.port}`)).toBe(200);
      expect(await withHost(`LOCALHOST`, 'HEAD')).toBe(200);
    } finally {
      await server.close();
    }
  });
  it('answers a request with two Host headers or an HTTP/1.1 one with none 400, and CONNECT 405 naming GET and HEAD', async () => {
    const server = await startMetricsServer('127.0.0.1', 0, new Registry(), logger);
    try {
      // Node keeps the first Host and drops the rest: the loopback check would see one name of two.
      const twoHosts = await sendOnOneConnection(server.port, ['GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n']);
      expect(twoHosts.statusLines).toEqual(['HTTP/1.1 400 Bad Request']);
      expect((await sendOnOneConnection(server.port, ['GET /metrics HTTP/1.1\r\n\r\n'])).statusLines).toEqual(['HTTP/1.1 400 Bad Request']);
      // HTTP/1.0 has no Host to send: on loopback it is the loopback check's 421, as before.
      expect((await sendOnOneConnection(server.port, ['GET /metrics HTTP/1.0\r\n\r\n'])).statusLines).toEqual(['HTTP/1.1 421 Misdirected Request']);
      const connectAnswer = await sendOnOneConnection(server.port, ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n']);
      expect(connectAnswer).toEqual({ statusLines: ['HTTP/1.1 405 Method Not Allowed'], closedByServer: true });
      // The port still answers afterwards.
      expect((await sendOnOneConnection(server.port, ['GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'])).statusLines).toEqual(['HTTP/1.1 200 OK']);
    } finally {
      await server.close();
    }
  });
  it('reads a small request body it does not want and answers, and closes a connection whose body goes on past UNREAD_BODY_BYTES_MAX', async () => {
    const registry = new Registry();
    new Counter({ name: 'test_events_total', help: 'events', registers: [registry] });
    const server = await startMetricsServer('127.0.0.1', 0, registry, logger);
    try {
      const get = 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
      // A small body is read (and dropped): its answer, and the next request's, come as they should.
      expect((await sendOnOneConnection(server.port, [`POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello${get}`])).statusLines).toEqual([
        'HTTP/1.1 405 Method Not Allowed',
        'HTTP/1.1 200 OK',
      ]);
      // A body that goes on and on: the port stops reading it (Node read and dropped all of it, up to the request timeout).
      const endless = await sendOnOneConnection(server.port, [`POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000000000\r\n\r\n`, ...Array.from({ length: 64 }, () => 'x'.repeat(16 * 1024))]);
      expect(endless.closedByServer).toBe(true);
      const chunked = await sendOnOneConnection(server.port, [`GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n`, ...Array.from({ length: 64 }, () => `4000\r\n${'x'.repeat(16 * 1024)}\r\n`)]);
      expect(chunked.closedByServer).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('places per host', () => {
  it('counts IPv4 hosts by address and IPv6 hosts by their /64', () => {
    expect(hostKeyOf('10.0.0.7')).toBe('10.0.0.7');
    expect(hostKeyOf('::ffff:10.0.0.7')).toBe('10.0.0.7');
    expect(hostKeyOf('2001:db8:0:1::5')).toBe(hostKeyOf('2001:0db8:0000:0001:ffff:1:2:3'));
    expect(hostKeyOf('2001:db8:0:1::5')).not.toBe(hostKeyOf('2001:db8:0:2::5'));
    expect(hostKeyOf('::1')).toBe('0:0:0:0::/64');
    expect(hostKeyOf(undefined)).toBe('unknown');
  });

  it('keeps one host that opens connections and sends nothing to its share of a metrics port, and a scrape from it or another host still answered', async () => {
    const server = await startMetricsServer('127.0.0.1', 0, new Registry(), logger);
    const idle: Socket[] = Array.from({ length: METRICS_CONNECTIONS_MAX }, () => connect({ host: '127.0.0.1', port: server.port, localAddress: '127.0.0.2' }));
    let closed = 0;
    for (const s of idle) s.on('close', () => closed++).on('error', () => undefined);
    /** The status of one scrape from `from` on a connection of its own. */
    const scrape = (from: string) =>
      new Promise<number>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: server.port, localAddress: from }, () => s.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
        let got = '';
        s.on('data', (b: Buffer) => (got += b.toString())).on('close', () => resolve(Number(got.slice(9, 12)))).on('error', reject);
      });
    try {
      // Each past the host's share takes the place of its oldest (on loopback, where every client
      // is one host, 8 silent connections kept the status page and Prometheus from scraping otherwise).
      const beyond = METRICS_CONNECTIONS_MAX - METRICS_CONNECTIONS_PER_HOST_MAX;
      for (const end = Date.now() + 4000; closed < beyond && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
      expect(closed).toBe(beyond);
      expect(await scrape('127.0.0.3')).toBe(200);
      expect(await scrape('127.0.0.2')).toBe(200);
    } finally {
      for (const s of idle) s.destroy();
      await server.close();
    }
  });
});
