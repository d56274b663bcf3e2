import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { boundConnections, HANDSHAKING_MAX, HANDSHAKING_PER_HOST_MAX } from './connection-bounds';
import { createLogger } from './logger';
import { ensureNetworkCertificates } from './pki';
import { type RunningServer, startGrpcServer } from './server';
import { channelCredentials, loadTls, tlsFilesIn } from './tls';

const logger = createLogger('connection-bounds-test');
logger.level = 'silent';

describe('the connections a TLS server takes', () => {
  let dir: string;
  let running: RunningServer;
  const open: grpc.Client[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'conn-bounds-'));
    ensureNetworkCertificates(dir, ['acceptor-0', 'proposer-1', 'client-a', 'client-b']);
    running = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1024,
      transport: loadTls(tlsFilesIn(dir, 'acceptor-0')),
      maxConnections: 3,
      maxConnectionsPerClient: 2,
      services: [],
      logger,
    });
  });

  afterAll(async () => {
    for (const c of open) c.close();
    await running.shutdown(100);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A new connection (its own channel) with `name`'s certificate: SERVING, or the status code it met. */
  const connect = (name: string): Promise<string> => {
    const client = new grpc.Client(`127.0.0.1:${running.port}`, channelCredentials(loadTls(tlsFilesIn(dir, name)), 'acceptor-0'), { 'grpc.channel_id_salt': open.length } as object);
    open.push(client);
    const pass = (b: Buffer) => b;
    return new Promise((resolve) =>
      // grpc.health.v1.Health/Check of the whole server: an empty request; SERVING is field 1 = 1.
      client.makeUnaryRequest('/grpc.health.v1.Health/Check', pass, pass, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (e, answer) =>
        resolve(e ? String(grpc.status[e.code]) : answer?.[1] === 1 ? 'SERVING' : `answer ${answer?.toString('hex')}`),
      ),
    );
  };

  it('holds one client to its share and clients to theirs, while proposers still get in', async () => {
    expect(await connect('client-a')).toBe('SERVING');
    expect(await connect('client-a')).toBe('SERVING');
    // A third connection of client-a is closed as it arrives.
    expect(await connect('client-a')).toBe('UNAVAILABLE');
    expect(await connect('client-b')).toBe('SERVING');
    // Three client connections are open: a fourth client connection is refused...
    expect(await connect('client-b')).toBe('UNAVAILABLE');
    // ...but the network's own processes have places of their own.
    expect(await connect('proposer-1')).toBe('SERVING');
    expect(await connect('proposer-1')).toBe('SERVING');
  });

  /** connect(name), again while refused (the server may not have seen the closes yet), for up to 10 s: the last answer. */
  const connectWithin10s = async (name: string): Promise<string> => {
    const until = Date.now() + 10_000;
    // Bounded by the deadline.
    for (;;) {
      const answer = await connect(name);
      if (answer === 'SERVING' || Date.now() > until) return answer;
      open.pop()?.close();
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('gives a client its places back when it closes its connections', async () => {
    for (const c of open.splice(0)) c.close();
    expect(await connectWithin10s('client-a')).toBe('SERVING');
    expect(await connectWithin10s('client-b')).toBe('SERVING');
  });
});

describe('connections still in their TLS handshake', () => {
  it('keeps one host whose connections never start TLS to its share of the places, so other hosts still get in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conn-bounds-'));
    ensureNetworkCertificates(dir, ['acceptor-0', 'client-a']);
    const warned: string[] = [];
    const capturing = pino({ level: 'warn' }, { write: (line: string) => warned.push(line) });
    const running = await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1024, transport: loadTls(tlsFilesIn(dir, 'acceptor-0')), services: [], logger: capturing });
    let open = 0;
    let closed = 0;
    // As many bare TCP connections as the whole pool, from one host (127.0.0.2), sending nothing.
    const bare = Array.from({ length: HANDSHAKING_MAX }, () =>
      createConnection({ port: running.port, host: '127.0.0.1', localAddress: '127.0.0.2' }, () => open++)
        .resume()
        .on('error', () => undefined)
        .on('close', () => closed++),
    );
    const client = new grpc.Client(`127.0.0.1:${running.port}`, channelCredentials(loadTls(tlsFilesIn(dir, 'client-a')), 'acceptor-0'));
    try {
      while (open + closed < HANDSHAKING_MAX) await new Promise((r) => setTimeout(r, 20));
      while (closed < HANDSHAKING_MAX - HANDSHAKING_PER_HOST_MAX) await new Promise((r) => setTimeout(r, 20));
      expect(closed).toBe(HANDSHAKING_MAX - HANDSHAKING_PER_HOST_MAX);
      const pass = (b: Buffer) => b;
      const answer = await new Promise<string>((resolve) =>
        client.makeUnaryRequest('/grpc.health.v1.Health/Check', pass, pass, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (e, a) =>
          resolve(e ? String(grpc.status[e.code]) : a?.[1] === 1 ? 'SERVING' : 'other'),
        ),
      );
      expect(answer).toBe('SERVING');
      // The connections closed in their handshake are said in the log (their client saw only UNAVAILABLE).
      expect(warned.some((l) => /TLS connections closed in their handshake/.test(l) && /"host":"127\.0\.0\.2"/.test(l))).toBe(true);
    } finally {
      client.close();
      for (const b of bare) b.destroy();
      await running.shutdown(100);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('connections from the host a client shares with silent ones', () => {
  it('lets the client in ahead of bare connections that take every place of its host and are opened again as each is closed', async () => {
    // On loopback every process is one host: a full share of bare connections, opened again as
    // each was closed, kept every client and proposer there out when the newest was the one closed.
    const dir = mkdtempSync(join(tmpdir(), 'conn-bounds-'));
    ensureNetworkCertificates(dir, ['acceptor-0', 'client-a']);
    const running = await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1024, transport: loadTls(tlsFilesIn(dir, 'acceptor-0')), services: [], logger });
    let stopped = false;
    let opened = 0;
    const bare = new Set<ReturnType<typeof createConnection>>();
    const open = (): void => {
      if (stopped) return;
      opened++;
      const c = createConnection({ port: running.port, host: '127.0.0.1' })
        .on('error', () => undefined)
        .on('close', () => {
          bare.delete(c);
          open();
        });
      bare.add(c);
    };
    for (let i = 0; i < HANDSHAKING_PER_HOST_MAX; i++) open();
    const client = new grpc.Client(`127.0.0.1:${running.port}`, channelCredentials(loadTls(tlsFilesIn(dir, 'client-a')), 'acceptor-0'));
    try {
      await new Promise((r) => setTimeout(r, 200));
      const pass = (b: Buffer) => b;
      const answer = await new Promise<string>((resolve) =>
        client.makeUnaryRequest('/grpc.health.v1.Health/Check', pass, pass, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (e, a) =>
          resolve(e ? `${grpc.status[e.code]}: ${e.details}` : a?.[1] === 1 ? 'SERVING' : 'other'),
        ),
      );
      expect(answer).toBe('SERVING');
      // The bare ones were closed to make room, and came back: their share stays theirs to hold.
      expect(opened).toBeGreaterThan(HANDSHAKING_PER_HOST_MAX);
    } finally {
      stopped = true;
      client.close();
      for (const b of bare) b.destroy();
      await running.shutdown(100);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('places of connections in their TLS handshake', () => {
  it('gives a place back when a connection from the same address and port came before the first one closed', async () => {
    // A connection reset and opened again at once from the same local port: the server sees the
    // new one before the old one's close. Each must give its own place back, or such pairs leave
    // the host one place (one handshake at a time, for every client and proposer behind it) for good.
    const dir = mkdtempSync(join(tmpdir(), 'conn-bounds-'));
    ensureNetworkCertificates(dir, ['acceptor-0']);
    const running = await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1024, transport: loadTls(tlsFilesIn(dir, 'acceptor-0')), services: [], logger });
    const from = { host: '127.0.0.1', port: running.port, localAddress: '127.0.0.6' };
    try {
      for (let i = 0; i < HANDSHAKING_PER_HOST_MAX + 4; i++) {
        await new Promise<void>((resolve) => {
          const first = createConnection({ ...from, localPort: 0 }, () => {
            const localPort = first.localPort;
            first.resetAndDestroy();
            const again = createConnection({ ...from, localPort }, () => again.destroy());
            again.on('error', () => resolve()).on('close', () => resolve());
          }).on('error', () => undefined);
        });
      }
      // Connections from that host now are let in (they start no TLS, so they wait for their handshake),
      // once the server has seen the last closes: tried again for up to 10 s while some are closed at once.
      const until = Date.now() + 10_000;
      let closedAtOnce: boolean[];
      // Bounded by the deadline.
      for (;;) {
        const probes = Array.from({ length: 4 }, () => createConnection(from).on('error', () => undefined));
        closedAtOnce = await Promise.all(
          probes.map(
            (s) =>
              new Promise<boolean>((resolve) => {
                s.on('close', () => resolve(true));
                setTimeout(() => resolve(false), 300);
              }),
          ),
        );
        for (const s of probes) s.destroy();
        if (!closedAtOnce.includes(true) || Date.now() > until) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(closedAtOnce).toEqual([false, false, false, false]);
    } finally {
      await running.shutdown(100);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the connections a plaintext server takes', () => {
  it('closes a connection that sends no HTTP/2 preface, so silent sockets cannot keep clients out', async () => {
    const server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    boundConnections(server, { max: 3, perClientMax: 3, prefaceMs: 2000 }, false, logger);
    /** A call to a method the server does not have: UNIMPLEMENTED once connected. */
    const call = () => {
      const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.channel_id_salt': Math.random() } as object);
      const pass = (b: Buffer) => b;
      return new Promise<string>((resolve) =>
        client.makeUnaryRequest('/x.Y/Z', pass, pass, Buffer.alloc(0), { deadline: Date.now() + 3000 }, (e) => {
          client.close();
          resolve(e ? String(grpc.status[e.code]) : 'OK');
        }),
      );
    };
    let connected = 0;
    let closed = 0;
    const silent = Array.from({ length: 3 }, () =>
      // Each reads what the server sends (and so sees it close) but sends nothing.
      createConnection(port, '127.0.0.1', () => connected++)
        .resume()
        .on('error', () => undefined)
        .on('close', () => closed++),
    );
    /** Waits for `ok` up to 10 s; throws naming `what` after that. */
    const within10s = async (what: string, ok: () => boolean) => {
      const until = Date.now() + 10_000;
      while (!ok()) {
        if (Date.now() > until) throw new Error(`${what}: not within 10 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      // Connected first, so the server accepts them before the call's connection (the kernel queues them in order).
      await within10s('the silent connections connected', () => connected + closed >= 3);
      expect(closed).toBe(0);
      expect(await call()).toBe('UNAVAILABLE');
      // Closed after 2 s without a preface: the places are free again.
      await within10s('the silent connections closed by the server', () => closed === 3);
      expect(await call()).toBe('UNIMPLEMENTED');
    } finally {
      for (const s of silent) s.destroy();
      server.forceShutdown();
    }
  });
});
