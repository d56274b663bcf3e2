import { createServer } from 'node:net';
import { freePorts } from './ports';

describe('freePorts', () => {
  it('returns distinct loopback ports that can be bound', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    // Below the kernel's ephemeral range: no outgoing connection takes one before its node binds it.
    expect(ports.every((p) => p >= 1024 && p < 32_768)).toBe(true);
    for (const port of ports) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
      await new Promise((r) => server.close(r));
    }
  });
});
