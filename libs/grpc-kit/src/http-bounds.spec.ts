import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { httpRefusal } from './address-bounds';
import { boundHttpConnections, PIPELINED_ANSWERS_MAX, pipelinedAnswersBound } from './http-bounds';

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

describe('places on an HTTP port when they are all taken', () => {
  /** A server bounded by boundHttpConnections: /hang is never answered (an answer under way), anything else at once. */
  async function boundedServer(max: number, perHostMax?: number): Promise<{ server: Server; port: number; hanging: Array<() => void>; stuck: Set<Socket> }> {
    const hanging: Array<() => void> = [];
    /** Connections whose /big answer the client has not taken: their socket's write buffer is full. */
    const stuck = new Set<Socket>();
    const server = createServer((req, res) => {
      if (req.url === '/hang') hanging.push(() => res.end('late'));
      else if (req.url === '/big') {
        res.writeHead(200).end('x'.repeat(256 * 1024));
        if (req.socket.writableNeedDrain) stuck.add(req.socket);
      } else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    boundHttpConnections(server, {
      max,
      refusal: httpRefusal('every place has an answer under way', 5),
      ...(perHostMax === undefined ? {} : { perHost: { max: perHostMax, refusal: httpRefusal('your host holds its places', 5) } }),
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { server, port: (server.address() as { port: number }).port, hanging, stuck };
  }
  const stop = async (server: Server, held: Socket[]) => {
    for (const s of held) s.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };

  /** A connection from `from` that has sent `sent` (half a request's headers, or a whole request); resolves once it is open. */
  type Held = Socket & { got: string; gone: boolean };
  const opened = (port: number, sent: string, from = '127.0.0.1') =>
    new Promise<Held>((resolve) => {
      const s: Held = Object.assign(connect({ host: '127.0.0.1', port, localAddress: from }), { got: '', gone: false });
      s.on('connect', () => {
        s.write(sent);
        resolve(s);
      });
      s.on('data', (b: Buffer) => (s.got += b.toString()));
      s.on('close', () => (s.gone = true));
      s.on('error', () => undefined);
    });
  /** The status line of one whole request on a connection of its own from `from` ('' if the connection closed first). */
  const statusOf = (port: number, path = '/', from = '127.0.0.1') =>
    new Promise<string>((resolve) => {
      const s = connect({ host: '127.0.0.1', port, localAddress: from }, () => s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
      let got = '';
      s.on('data', (b: Buffer) => {
        got += b.toString();
        if (got.includes('\r\n\r\n')) {
          s.destroy();
          resolve(got.split('\r\n')[0] as string);
        }
      });
      s.on('close', () => resolve(got.split('\r\n')[0] ?? ''));
      s.on('error', () => undefined);
    });
  const HALF = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Still: coming\r\n';
  /** Until `done()` or 5 s pass (a test that waits on a close the bound never makes fails, rather than hangs). */
  const until = async (done: () => boolean) => {
    for (const end = Date.now() + 5000; !done() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
  };

  it('gives a new connection the place of the oldest one that has not sent a whole request\'s headers, instead of refusing it', async () => {
    const { server, port } = await boundedServer(4);
    const half: Held[] = [];
    for (let i = 0; i < 4; i++) half.push(await opened(port, HALF));
    try {
      expect(await statusOf(port)).toBe('HTTP/1.1 200 OK');
      await until(() => half[0]?.gone === true);
      // The oldest was closed, with nothing written to it; the newer ones keep their places.
      expect(half.map((s) => s.gone)).toEqual([true, false, false, false]);
      expect(half[0]?.got).toBe('');
    } finally {
      await stop(server, half);
    }
  });

  it('closes one that sent half a request first, then one kept alive after its answer, then one that sent nothing', async () => {
    const { server, port, hanging } = await boundedServer(4);
    const keptAlive = await opened(port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await until(() => keptAlive.got.includes('ok'));
    // Nothing sent (as a request on its way, for its first milliseconds), then two half requests.
    const silent = await opened(port, '');
    const half = [await opened(port, HALF), await opened(port, HALF)];
    const held = [keptAlive, silent, ...half];
    try {
      // The kept-alive and the silent one have waited longer, but a half request goes first.
      expect(await statusOf(port)).toBe('HTTP/1.1 200 OK');
      await until(() => half[0]?.gone === true);
      expect([keptAlive, silent, ...half].map((s) => s.gone)).toEqual([false, false, true, false]);
      // Requests that stay under way take the other places: the other half request's, the
      // kept-alive one's, and only then the silent one's. (Each once the server has its request:
      // one that has not is the newest silent one, and the next takes its place.)
      for (let i = 1; i <= 3; i++) {
        held.push(await opened(port, 'GET /hang HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
        await until(() => hanging.length === i);
      }
      await until(() => keptAlive.gone && half[1]?.gone === true);
      expect([keptAlive.gone, silent.gone, half[1]?.gone]).toEqual([true, false, true]);
      held.push(await opened(port, 'GET /hang HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
      await until(() => hanging.length === 4 && silent.gone);
      expect(silent.gone).toBe(true);
      expect(held.slice(4).map((s) => s.gone)).toEqual([false, false, false, false]);
    } finally {
      for (const h of hanging) h();
      await stop(server, held);
    }
  });

  it('keeps the places of answers under way, and refuses a new connection when every place has one', async () => {
    const { server, port, hanging } = await boundedServer(3);
    const busy: Held[] = [];
    try {
      for (let i = 1; i <= 3; i++) {
        busy.push(await opened(port, 'GET /hang HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
        await until(() => hanging.length === i);
      }
      const refused = await opened(port, HALF);
      await until(() => refused.gone);
      expect(refused.got).toMatch(/^HTTP\/1.1 503/);
      expect(refused.got).toContain('every place has an answer under way');
      expect(busy.map((s) => s.gone)).toEqual([false, false, false]);
      // An answered one waits again: its place is taken by the next connection.
      hanging[0]?.();
      await until(() => busy[0]?.got.includes('late') === true);
      expect(await statusOf(port)).toBe('HTTP/1.1 200 OK');
      await until(() => busy[0]?.gone === true);
      expect(busy.map((s) => s.gone)).toEqual([true, false, false]);
      busy.push(refused);
    } finally {
      for (const h of hanging) h();
      await stop(server, busy);
    }
  });

  it('gives a new connection the place of one whose client sends requests and never reads the answers', async () => {
    const { server, port, stuck } = await boundedServer(2);
    const hogs: Held[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const s = await opened(port, 'GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(40));
        s.pause(); // never reads
        hogs.push(s);
      }
      await until(() => stuck.size === 2);
      expect(stuck.size).toBe(2);
      expect(await statusOf(port)).toBe('HTTP/1.1 200 OK');
      // Closed by the server (the client, paused, sees nothing of it until it reads): one of the two.
      expect([...stuck].filter((s) => s.destroyed)).toHaveLength(1);
    } finally {
      await stop(server, hogs);
    }
  });

  it('takes an idle connection\'s place before that of an answer its client reads slowly', async () => {
    const { server, port, stuck } = await boundedServer(2);
    const held: Held[] = [];
    try {
      // Behind by more than the kernel's buffers hold (as a viewer on a slow link can be, for a while).
      const slow = await opened(port, 'GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(40));
      slow.pause();
      held.push(slow);
      await until(() => stuck.size === 1);
      const idle = await opened(port, '');
      held.push(idle);
      expect(await statusOf(port)).toBe('HTTP/1.1 200 OK');
      await until(() => idle.gone);
      expect(idle.gone).toBe(true);
      expect([...stuck].filter((s) => s.destroyed)).toHaveLength(0);
    } finally {
      await stop(server, held);
    }
  });

  it('makes room within a host at its bound, from that host\'s waiting connections only; refuses it when all of its have answers under way', async () => {
    // Loopback addresses stand for hosts here.
    const { server, port, hanging } = await boundedServer(8, 2);
    const other = await opened(port, HALF, '127.0.0.3');
    const half = [await opened(port, HALF, '127.0.0.2'), await opened(port, HALF, '127.0.0.2')];
    const held = [other, ...half];
    try {
      // A request from the full host takes its own oldest half request's place, not the other host's older one.
      expect(await statusOf(port, '/', '127.0.0.2')).toBe('HTTP/1.1 200 OK');
      await until(() => half[0]?.gone === true);
      expect([other.gone, ...half.map((s) => s.gone)]).toEqual([false, true, false]);
      for (let i = 1; i <= 2; i++) {
        held.push(await opened(port, 'GET /hang HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', '127.0.0.2'));
        await until(() => hanging.length === i);
      }
      const refused = await opened(port, HALF, '127.0.0.2');
      held.push(refused);
      await until(() => refused.gone);
      expect(refused.got).toMatch(/^HTTP\/1.1 503/);
      expect(refused.got).toContain('your host holds its places');
      expect(await statusOf(port, '/', '127.0.0.4')).toBe('HTTP/1.1 200 OK');
    } finally {
      for (const h of hanging) h();
      await stop(server, held);
    }
  });
});
