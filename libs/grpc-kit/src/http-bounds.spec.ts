import { createServer } from 'node:http';
import { connect } from 'node:net';
import { PIPELINED_ANSWERS_MAX, pipelinedAnswersBound } from './http-bounds';

/** Sends `n` pipelined GETs in one write, reads everything until the server closes (or 2 s pass): the answers read. */
function pipeline(port: number, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(n)));
    let got = '';
    const answers = () => got.split('HTTP/1.1 200').length - 1;
    const timer = setTimeout(() => s.destroy(), 2000);
    s.on('data', (b: Buffer) => (got += b.toString('latin1')))
      .on('close', () => {
        clearTimeout(timer);
        resolve(answers());
      })
      .on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
  });
}

describe('requests sent ahead of their answers', () => {
  it('closes a connection with more answers waiting than the bound, instead of queueing one for each', async () => {
    const bound = pipelinedAnswersBound();
    const server = createServer((req, res) => {
      if (!bound(req, res)) return;
      // Answered a turn later, as the metrics port answers a render.
      void Promise.resolve().then(() => res.writeHead(200).end('x'.repeat(1000)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      expect(await pipeline(port, 100)).toBeLessThanOrEqual(PIPELINED_ANSWERS_MAX);
      // One request at a time, as browsers and scrapers send them, is answered every time.
      expect(await pipeline(port, 1)).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
