import { Registry } from 'prom-client';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type ClientHttp2Session, type ClientHttp2Stream, connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHealth } from './health-probe';
import { createLogger } from './logger';
import { MessageFraming, partialMessageBoundsFor } from './partial-message-bounds';
import { type RunningServer, startGrpcServer } from './server';
import { ensureNetworkCertificates } from './pki';
import { INSECURE, loadTls, tlsFilesIn } from './tls';

const logger = createLogger('partial-message-bounds-test');
logger.level = 'silent';

const prefix = (length: number) => {
  const b = Buffer.alloc(5);
  b.writeUInt32BE(length, 1);
  return b;
};

/** The bytes one unfinished call below has sent (its 5-byte prefix and 59,999 bytes of 60,000): what the server counts for it. */
const HELD = 60_004;
/** The RST_STREAM code each stream was closed with (0: open, or closed without one). */
const codes = (streams: readonly ClientHttp2Stream[]) => streams.map((st) => st.rstCode ?? 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the server has read every byte of the unfinished calls `streams` and the client has
 * every reset the server sent them, and returns their codes. Until then the server counts bytes of
 * calls partly read (not a whole number of HELD), or fewer calls than the client sees open (resets
 * on their way); once it counts exactly HELD for each stream the client sees open, all is settled.
 * Throws after 10 s.
 */
async function settled(running: RunningServer, streams: readonly ClientHttp2Stream[]): Promise<number[]> {
  const until = Date.now() + 10_000;
  // Bounded by the deadline.
  for (;;) {
    const found = codes(streams);
    const open = found.filter((c) => c === 0).length;
    if (running.arriving.totalBytes() === open * HELD) return found;
    if (Date.now() > until) throw new Error(`not settled after 10 s: the server counts ${running.arriving.totalBytes()} bytes, the client sees ${open} of ${streams.length} unfinished calls open (${open * HELD} bytes)`);
    await sleep(10);
  }
}

/** Waits until every one of `streams` has its answer or was closed; throws after 10 s. */
async function answered(streams: readonly ClientHttp2Stream[]): Promise<void> {
  const until = Date.now() + 10_000;
  // Bounded by the deadline.
  while (!streams.every((st) => st.closed || answers.has(st))) {
    if (Date.now() > until) throw new Error(`${streams.filter((st) => !st.closed && !answers.has(st)).length} of ${streams.length} calls neither answered nor closed after 10 s`);
    await sleep(10);
  }
}
/** Streams whose response headers arrived. */
const answers = new WeakSet<ClientHttp2Stream>();

describe('the bytes of a message still arriving, read from the gRPC framing', () => {
  it('counts a message until its last byte, across chunks, and nothing between messages', () => {
    const f = new MessageFraming();
    const message = Buffer.concat([prefix(10), Buffer.alloc(10, 7)]);
    expect(f.feed(message.subarray(0, 3))).toBe(3);
    expect(f.feed(message.subarray(3, 9))).toBe(6);
    expect(f.partial).toBe(9);
    // The last byte ends it: what it held is given back.
    expect(f.feed(message.subarray(9))).toBe(-9);
    expect(f.partial).toBe(0);
    // Two whole messages, an empty one, and the start of a fourth in one chunk.
    const chunk = Buffer.concat([message, prefix(0), message, prefix(1000), Buffer.alloc(20)]);
    expect(f.feed(chunk)).toBe(25);
    expect(f.partial).toBe(25);
  });
});

describe('a server bounds the messages clients leave unfinished', () => {
  // 64 KiB messages: about 1 MiB per connection, 5 MiB in all.
  const bounds = partialMessageBoundsFor(64 * 1024);
  const BEGINNING = 60_005; // what one unfinished call below holds
  let running: RunningServer;
  const sessions: ClientHttp2Session[] = [];
  beforeAll(async () => {
    running = await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 64 * 1024, transport: INSECURE, services: [], logger });
  });
  afterAll(async () => {
    for (const s of sessions) s.destroy();
    await running.shutdown(100);
  });

  const session = () => {
    const s = connect(`http://127.0.0.1:${running.port}`);
    s.on('error', () => undefined);
    sessions.push(s);
    return s;
  };
  /** A Health/Check call whose 60,000-byte request never gets its last byte (or does, when `finish`). */
  const call = (s: ClientHttp2Session, finish = false): ClientHttp2Stream => {
    const stream = s.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('error', () => undefined);
    stream.once('response', () => answers.add(stream));
    stream.write(Buffer.concat([prefix(60_000), Buffer.alloc(finish ? 60_000 : 59_999)]));
    if (finish) stream.end();
    return stream;
  };
  const RESET = 11; // ENHANCE_YOUR_CALM
  /** Waits (up to 10 s) for the server to give back what closed connections held. */
  const settle = async () => {
    const until = Date.now() + 10_000;
    while (running.arriving.totalBytes() !== 0 && Date.now() < until) await sleep(20);
  };

  it('resets the streams of one connection past its share, and serves everyone else', async () => {
    const s = session();
    const found = await settled(running, Array.from({ length: 24 }, () => call(s)));
    expect(found.filter((c) => c !== 0 && c !== RESET)).toEqual([]);
    const kept = found.filter((c) => c === 0).length;
    expect(kept).toBeGreaterThanOrEqual(1);
    expect(kept * BEGINNING).toBeLessThanOrEqual(bounds.perConnectionBytes);
    expect(running.arriving.totalBytes()).toBeLessThanOrEqual(kept * BEGINNING);
    expect((await readHealth(`127.0.0.1:${running.port}`, 5000)).serving).toBe(true);
    // A connection that goes gives its share back.
    s.destroy();
    await settle();
    expect(running.arriving.totalBytes()).toBe(0);
  });

  it('counts nothing for finished messages, many at once', async () => {
    const s = session();
    const streams = Array.from({ length: 12 }, () => call(s, true));
    await answered(streams);
    expect(codes(streams).filter((c) => c === RESET)).toEqual([]);
    await settle();
    expect(running.arriving.totalBytes()).toBe(0);
    s.destroy();
  });

  it('past the bound of all connections, resets the messages left unfinished longest, so calls arriving now get through', async () => {
    // Unfinished beginnings on 6 connections of 15 each: 90, past the 5 MiB (87 beginnings) in all.
    const stale = Array.from({ length: 6 }, () => session()).map((s) => Array.from({ length: 15 }, () => call(s)));
    const found = await settled(running, stale.flat());
    const kept = found.filter((c) => c === 0).length;
    expect(kept * BEGINNING).toBeLessThanOrEqual(bounds.totalBytes);
    expect(found.filter((c) => c === RESET).length).toBeGreaterThanOrEqual(90 - Math.floor(bounds.totalBytes / BEGINNING));
    // Whole calls arriving now (5 at once, on a new connection) push the oldest unfinished out, not themselves.
    const fresh = session();
    const whole = Array.from({ length: 5 }, () => call(fresh, true));
    await answered(whole);
    expect(codes(whole)).toEqual([0, 0, 0, 0, 0]);
    // The fresh calls were read whole (and gave back what they held): the stale ones left settle.
    const afterwards = await settled(running, stale.flat());
    expect(afterwards.filter((c) => c === RESET).length).toBeGreaterThan(found.filter((c) => c === RESET).length);
    for (const s of sessions) s.destroy();
    await settle();
    expect(running.arriving.totalBytes()).toBe(0);
  });
});

describe('with TLS, the network\'s own processes are not counted', () => {
  it("a proposer's streams carry the protocol: none is reset where a client's are", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'partial-tls-'));
    ensureNetworkCertificates(dir, ['acceptor-0', 'proposer-1', 'client-a']);
    const running = await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 64 * 1024, transport: loadTls(tlsFilesIn(dir, 'acceptor-0')), services: [], logger });
    const opened: ClientHttp2Session[] = [];
    const request = (s: ClientHttp2Session) => {
      const st = s.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' });
      st.on('error', () => undefined);
      return st;
    };
    /** 24 unfinished calls on a new connection with `name`'s certificate; `written` resolves once their bytes are on the wire. */
    const unfinished = (name: string) => {
      const files = tlsFilesIn(dir, name);
      const session = connect(`https://localhost:${running.port}`, { ca: readFileSync(files.ca), cert: readFileSync(files.cert), key: readFileSync(files.key) });
      session.on('error', () => undefined);
      opened.push(session);
      const written: Array<Promise<unknown>> = [];
      const streams = Array.from({ length: 24 }, () => {
        const st = request(session);
        written.push(new Promise((r) => st.write(Buffer.concat([prefix(60_000), Buffer.alloc(59_999)]), r)));
        return st;
      });
      return { session, streams, written: Promise.all(written) };
    };
    /** Resolves once a call sent on `session` after everything before it is answered: the server has read all that came before. */
    const heard = (session: ClientHttp2Session) => {
      const st = request(session);
      st.end(prefix(0));
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('a call sent after the unfinished ones was not answered within 10 s')), 10_000);
        st.once('response', () => {
          clearTimeout(timer);
          st.close();
          resolve();
        });
      });
    };
    try {
      // 24 unfinished beginnings of 60,004 bytes: past a connection's 1 MiB. None of the proposer's
      // is reset, though the server has read them all (a call after them on the wire was answered).
      const proposer = unfinished('proposer-1');
      await proposer.written;
      await heard(proposer.session);
      expect(codes(proposer.streams)).toEqual(new Array(24).fill(0));
      const client = unfinished('client-a');
      expect((await settled(running, client.streams)).filter((c) => c === 11).length).toBeGreaterThanOrEqual(24 - Math.floor(partialMessageBoundsFor(64 * 1024).perConnectionBytes / 60_005));
    } finally {
      for (const s of opened) s.destroy();
      await running.shutdown(100);
      for (const d of [dir, `${dir}-ca`]) rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('what the bounds count, in the server\'s metrics', () => {
  it('exports the bytes still arriving and the streams reset', async () => {
    const metrics = new Registry();
    const running = await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 64 * 1024, transport: INSECURE, services: [], logger, metrics });
    const s = connect(`http://127.0.0.1:${running.port}`);
    s.on('error', () => undefined);
    try {
      const streams = Array.from({ length: 24 }, () => {
        const st = s.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' });
        st.on('error', () => undefined);
        st.write(Buffer.concat([prefix(60_000), Buffer.alloc(59_999)]));
        return st;
      });
      await settled(running, streams);
      const value = async (name: string) => (await metrics.getSingleMetric(name)?.get())?.values[0]?.value ?? -1;
      expect(await value('grpc_server_streams_reset_total')).toBeGreaterThanOrEqual(24 - Math.floor(partialMessageBoundsFor(64 * 1024).perConnectionBytes / 60_005));
      const arriving = await value('grpc_server_arriving_message_bytes');
      expect(arriving).toBeGreaterThan(0);
      expect(arriving).toBeLessThanOrEqual(partialMessageBoundsFor(64 * 1024).perConnectionBytes);
    } finally {
      s.destroy();
      await running.shutdown(100);
    }
  });
});
