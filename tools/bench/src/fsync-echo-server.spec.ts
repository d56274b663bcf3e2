import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '@paxos/test-cluster';
import { pacedAccepts } from './acceptor-stream';
import { startFsyncEchoServer } from './fsync-echo-server';

describe('the floor under one acceptor (--acceptor)', () => {
  it('answers paced accepts after writing each value to its file, and the figures come back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fsync-echo-'));
    try {
      const [port] = await freePorts(1);
      const server = await startFsyncEchoServer(port as number, dir);
      // 10 counted accepts after 1 warm-up, one value of 200 bytes each.
      const r = await pacedAccepts(`127.0.0.1:${server.port}`, process.pid, 10, 1, 0n).finally(() => server.stop());
      expect(statSync(join(dir, 'fsync-echo.bin')).size).toBe(11 * 200);
      expect(r.p50Ms).toBeGreaterThan(0);
      expect(r.cpuMsPerAccept).toBeGreaterThanOrEqual(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
