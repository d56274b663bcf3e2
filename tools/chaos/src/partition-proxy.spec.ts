import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePorts, releasePorts } from '@paxos/test-cluster';
import { PartitionProxies } from './partition-proxy';

/** An echo server standing in for an acceptor. */
async function echoServer(): Promise<{ server: Server; port: number }> {
  const [port] = await freePorts(1);
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => server.listen(port as number, '127.0.0.1', () => resolve()));
  return { server, port: port as number };
}

function received(s: Socket): { text: () => string; next: () => Promise<void> } {
  let text = '';
  let wake: (() => void) | undefined;
  s.on('data', (b: Buffer) => {
    text += b.toString();
    wake?.();
  });
  return { text: () => text, next: () => new Promise<void>((r) => (wake = r)) };
}

describe('PartitionProxies', () => {
  const ports: number[] = [];
  let echo: { server: Server; port: number };
  let proxies: PartitionProxies;
  beforeEach(async () => {
    echo = await echoServer();
    proxies = await PartitionProxies.start([1], [echo.port], async () => {
      const [p] = await freePorts(1);
      ports.push(p as number);
      return p as number;
    });
  });
  afterEach(async () => {
    await proxies.close();
    await new Promise<void>((r) => echo.server.close(() => r()));
    releasePorts([...ports, echo.port]);
  });

  const open = async () => {
    const [host, port] = (proxies.acceptorsFor(1)[0] as string).split(':');
    const s = connect(Number(port), host as string);
    await new Promise<void>((r) => s.once('connect', () => r()));
    return s;
  };

  it('forwards both ways through an open link', async () => {
    const s = await open();
    const r = received(s);
    const got = r.next();
    s.write('ping');
    await got;
    expect(r.text()).toBe('ping');
    s.destroy();
  });

  it('holds what was sent across a cut and delivers it on heal', async () => {
    const s = await open();
    const r = received(s);
    proxies.cut(1, 0, 'to-proposer');
    s.write('late');
    await new Promise((res) => setTimeout(res, 100));
    expect(r.text()).toBe('');
    const got = r.next();
    proxies.heal(1, 0, false);
    await got;
    expect(r.text()).toBe('late');
    s.destroy();
  });

  it('resets the connections of a link healed with reset', async () => {
    const s = await open();
    proxies.cut(1, 0, 'both');
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.on('error', () => undefined);
    proxies.heal(1, 0, true);
    await closed;
    expect(s.destroyed).toBe(true);
  });
});
