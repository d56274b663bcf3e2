import { createServer } from 'node:net';
import { freePorts, singlePortRange } from './ports';

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

describe('singlePortRange (PAXOS_PORT_RANGE)', () => {
  it('defaults to 24000-32000 and takes a range a shared host allows', () => {
    expect(singlePortRange({})).toEqual({ from: 24_000, to: 32_000 });
    expect(singlePortRange({ PAXOS_PORT_RANGE: '27500-28000' })).toEqual({ from: 27_500, to: 28_000 });
  });

  it('refuses a range that is not one', () => {
    expect(() => singlePortRange({ PAXOS_PORT_RANGE: '28000-27500' })).toThrow(/PAXOS_PORT_RANGE/);
    expect(() => singlePortRange({ PAXOS_PORT_RANGE: 'abc' })).toThrow(/PAXOS_PORT_RANGE/);
  });

  it('is where freePorts draws from', async () => {
    const before = process.env['PAXOS_PORT_RANGE'];
    process.env['PAXOS_PORT_RANGE'] = '27900-28000';
    try {
      const ports = await freePorts(3);
      expect(ports.every((p) => p >= 27_900 && p < 28_000)).toBe(true);
    } finally {
      if (before === undefined) delete process.env['PAXOS_PORT_RANGE'];
      else process.env['PAXOS_PORT_RANGE'] = before;
    }
  });
});
