import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, releasePorts, singlePortRange } from './ports';

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
    releasePorts(ports);
  });
});

describe('freePorts reservations across processes', () => {
  const saved = { range: process.env['PAXOS_PORT_RANGE'], dir: process.env['PAXOS_PORT_RESERVATIONS'] };
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'port-reservations-'));
    process.env['PAXOS_PORT_RESERVATIONS'] = dir;
    process.env['PAXOS_PORT_RANGE'] = '27950-27954';
  });
  afterEach(() => {
    for (const [key, value] of [['PAXOS_PORT_RANGE', saved.range], ['PAXOS_PORT_RESERVATIONS', saved.dir]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('skips ports a live process holds, takes over one whose owner is gone, and gives back only its own', async () => {
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    const live = process.ppid;
    for (const [port, owner] of [[27950, live], [27951, live], [27952, gone], [27953, live]]) writeFileSync(join(dir, String(port)), String(owner));
    const ports = await freePorts(1);
    expect(ports).toEqual([27952]);
    expect(readFileSync(join(dir, '27952'), 'utf8')).toBe(String(process.pid));
    // Every port of the range is held now, one of them by this process.
    await expect(freePorts(1)).rejects.toThrow(/no 1 free ports/);
    releasePorts([27950, 27952]);
    expect(existsSync(join(dir, '27952'))).toBe(false);
    expect(readFileSync(join(dir, '27950'), 'utf8')).toBe(String(live));
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
      releasePorts(ports);
    } finally {
      if (before === undefined) delete process.env['PAXOS_PORT_RANGE'];
      else process.env['PAXOS_PORT_RANGE'] = before;
    }
  });
});
