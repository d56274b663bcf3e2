import { createServer, type Server } from 'node:net';
import { isServing, tcpAnswer } from './health-probe';
import { createLogger } from './logger';
import { startGrpcServer } from './server';
import { INSECURE } from './tls';

const logger = createLogger('health-probe-test');
logger.level = 'silent';

const listening = (): Promise<Server> =>
  new Promise((resolve) => {
    const s = createServer((socket) => socket.destroy());
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
const portOf = (s: Server) => (s.address() as { port: number }).port;

describe('the health probe of a starting node', () => {
  it('finds a port nothing listens on with a bare TCP connect, and leaves the rest to the Check', async () => {
    const s = await listening();
    const port = portOf(s);
    expect(await tcpAnswer(`127.0.0.1:${port}`, 1000)).toBe('maybe');
    await new Promise<void>((r) => s.close(() => r()));
    expect(await tcpAnswer(`127.0.0.1:${port}`, 1000)).toBe('refused');
    expect(await tcpAnswer(`[::1]:${port}`, 1000)).toMatch(/refused|maybe/);
    // Not host:port (a name for gRPC's resolver, a port out of range): the Check decides.
    expect(await tcpAnswer(`dns:///localhost:${port}`, 1000)).toBe('maybe');
    expect(await tcpAnswer('127.0.0.1:70000', 1000)).toBe('maybe');
    // A name may stand for several addresses: the Check tries them all.
    expect(await tcpAnswer(`localhost:${port}`, 1000)).toBe('maybe');
    expect(await isServing(`127.0.0.1:${port}`, 1000)).toBe(false);
  });

  it('is SERVING for a gRPC server, and not for a TCP server that is no gRPC one', async () => {
    const server = await startGrpcServer({ host: '127.0.0.1', port: 0, maxReceiveBytes: 1 << 20, transport: INSECURE, logger, services: [] });
    const other = await listening();
    try {
      expect(await isServing(`127.0.0.1:${server.port}`, 2000)).toBe(true);
      expect(await isServing(`127.0.0.1:${portOf(other)}`, 1000)).toBe(false);
    } finally {
      other.close();
      await server.shutdown(0);
    }
  });
});
