import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChaos } from './chaos-run';

jest.setTimeout(180_000);

// A short chaos run in npm test: 5 acceptors, a proposer killed and restarted, acceptors killed
// and paused, retrying unary, stream and bulk clients. The seed is printed; `npm run chaos` runs
// longer ones.
describe('chaos (real processes)', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'chaos-test-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    if (!process.env['KEEP_TEST_CLUSTER']) for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const seed = Number(process.env['CHAOS_SEED'] ?? 20261204);
  const lines: string[] = [];

  it(`keeps every guarantee under kill -9, SIGSTOP and restarts (seed ${seed})`, async () => {
    const { report, violations } = await runChaos({ seconds: 15, seed, acceptors: 5, proposers: 1, clients: 9, dir: dir(), unsafeNoSessions: false, log: (l) => lines.push(l) });
    console.log(`chaos seed ${seed}: ${JSON.stringify(report)}`);
    expect(violations).toEqual([]);
    expect(report.acked).toBeGreaterThan(0);
    expect(report.faults.proposerKills + report.faults.acceptorKills + report.faults.acceptorPauses).toBeGreaterThan(0);
  });

  it('fails without client sessions (negative control): commands take effect twice', async () => {
    const { violations } = await runChaos({ seconds: 10, seed, acceptors: 5, proposers: 1, clients: 9, dir: dir(), unsafeNoSessions: true, log: (l) => lines.push(l) });
    expect(violations.length).toBeGreaterThan(0);
  });
});
