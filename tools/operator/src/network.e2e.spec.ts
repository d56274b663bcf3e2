import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePortRange } from '@paxos/test-cluster';
import { runCheck } from './check';
import { runLaunch } from './launch';
import { runningProcesses } from './launch-network';
import { pidFile } from './network-dir';
import { isAlive, readPid } from './processes';
import { runRead } from './read';
import { runRejoin } from './rejoin';
import { runStop } from './stop';
import { EXIT, runSubmit } from './submit';

jest.setTimeout(240_000);

const NODES = 23;

describe('a 23-node network end to end (real processes)', () => {
  let dir: string;
  let cache: string;
  let base: number;
  const lines: string[] = [];
  const out = (l: string) => lines.push(l);
  const submit = async (n: number, extra: string[] = []) => {
    lines.length = 0;
    const code = await runSubmit([String(n), '--dir', dir, ...extra], out);
    return { code, text: lines.join('\n') };
  };
  const acceptorPid = (i: number) => readPid(pidFile(dir, `node_${i}`)) as number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'paxos-net-'));
    cache = join(dir, 'lmfdb');
    base = await freePortRange(102); // the acceptors' ports, the proposer's (base + 100) and the status page's (base + 101)
  });

  afterAll(async () => {
    await runStop(['--dir', dir, '--grace-ms', '2000'], () => undefined);
    if (!process.env['KEEP_TEST_CLUSTER']) rmSync(dir, { recursive: true, force: true });
  });

  it('launches 23 acceptors and a proposer on the shipped snapshot, and refuses to launch twice', async () => {
    const code = await runLaunch(['--dir', dir, '--lmfdb-cache', cache, '--base-port', String(base), '--status-port', String(base + 101)], out);
    expect(code).toBe(0);
    // The proposer's port follows the base port, so networks on other base ports never collide.
    expect(JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8')).proposer).toBe(`127.0.0.1:${base + 100}`);
    expect(lines.join('\n')).toContain('launched 23/23, quorum 12, crash tolerance 11, Byzantine tolerance 0');
    expect(lines.join('\n')).toContain(`status page: http://127.0.0.1:${base + 101}/`);
    expect(readdirSync(cache).filter((f) => /^source_\d\.json$/.test(f))).toHaveLength(10);
    expect(runningProcesses(dir)).toHaveLength(NODES + 2); // and the status page
    await expect(runLaunch(['--dir', dir, '--lmfdb-cache', cache, '--base-port', String(base)], out)).rejects.toThrow(/already running/);
  });

  it('chooses a proposal with a true claim, and refuses a false claim and a wrong hash', async () => {
    const ok = await submit(1, ['--claim', '0:11.a2:jinv=-122023936/161051', '--claim', '0:11.a2:ap:5=1']);
    expect(ok.code).toBe(EXIT.chosen);
    // Each claim says how it is known: looked up in the record, or computed.
    expect(ok.text).toContain('claim 0:11.a2:jinv=-122023936/161051: true (looked up): 11.a2: jinv is -122023936/161051 (looked up in the record)');
    expect(ok.text).toContain('claim 0:11.a2:ap:5=1: true (computed): 11.a2: a_5 = 1, computed by counting 5 points over F_5');
    expect(ok.text).toMatch(/consensus: chosen in slot \d+/);
    expect(ok.text).toMatch(/leaderboard after slot \d+ \(\d+ slots? applied\):\n.*framework.*\n\s+monster-harmonic\/baseline\s+98\.50?\s/);
    lines.length = 0;
    expect(await runRead(['proposal', '1', '--dir', dir], out)).toBe(0);
    expect(lines.join('\n')).toMatch(/proposal 1: slot \d+.*\n[\s\S]*claim 0:11\.a2:jinv=-122023936\/161051, verified by the proposer and acceptors (0, 10|0, 20|10, 20)(, 20)? \(source 0\)/);
    const wrongClaim = await submit(2, ['--claim', '0:11.a2:jinv=1/1']);
    expect(wrongClaim).toMatchObject({ code: EXIT.refused, text: expect.stringContaining('11.a2: jinv is -122023936/161051, the claim says 1/1') });
    // A computed claim that is false is refused with what was computed.
    const wrongAp = await submit(2, ['--claim', '0:11.a2:ap:7=2']);
    expect(wrongAp).toMatchObject({ code: EXIT.refused, text: expect.stringContaining('refused: FAILED_PRECONDITION: claims[0] (source 0, 11.a2, ap:7) is false: 11.a2: a_7 = -2, computed by counting 10 points over F_7; the claim says 2') });
    const wrongHash = await submit(3, ['--hash', 'ab'.repeat(32)]);
    expect(wrongHash).toMatchObject({ code: EXIT.refused, text: expect.stringMatching(/leaderboard_sha256 is a?b/) });
  });

  it('keeps choosing with 11 acceptors killed, and fails with UNAVAILABLE at 12', async () => {
    for (let i = 0; i < 11; i++) process.kill(acceptorPid(i), 'SIGKILL');
    const chosen = await submit(4);
    expect(chosen.code).toBe(EXIT.chosen);
    process.kill(acceptorPid(11), 'SIGKILL');
    const refused = await submit(5, ['--deadline-ms', '8000']);
    expect(refused.code).toBe(EXIT.unavailable);
    expect(refused.text).toMatch(/UNAVAILABLE: 11 of 23 acceptors (answered|connected to this proposer), 12 needed/);
  });

  it('brings the killed nodes back: all 23 alive and at the same committed index, the log readable from slot 0', async () => {
    const proposerPid = readPid(pidFile(dir, 'proposer')) as number;
    process.kill(proposerPid, 'SIGKILL');
    // kill() returns before the process is gone: restart-missing restarts only what is gone.
    for (let i = 0; i < 100 && isAlive(proposerPid); i++) await new Promise((r) => setTimeout(r, 50));
    const code = await runLaunch(['--dir', dir, '--restart-missing'], out);
    expect(code).toBe(0);
    // The 12 restarted acceptors come back at their own committed index (their history is on
    // disk) and catch up on what was chosen while they were down; check --settle-ms waits for it.
    lines.length = 0;
    expect(await runCheck(['--dir', dir, '--settle-ms', '60000', '--deadline-ms', '2000'], out)).toBe(0);
    expect(lines.join('\n')).toContain('alive: 23/23; quorum 12 is alive');
    expect(lines.join('\n')).toContain(`proposer 127.0.0.1:${base + 100}: serving`);
    expect(lines.join('\n')).toMatch(/consensus: 23 of 23 alive acceptors hold the latest chosen slot \(committed index ([2-9]|\d{2,})\)/);
    // Every slot so far (fewer than check's 64) read from every acceptor holds one value.
    expect(lines.join('\n')).toMatch(/agreement: slots 0\.\.\d+ hold the same values on 23 acceptors/);
    // The restarted proposer and a restarted acceptor read the whole log from slot 0.
    for (const from of [[], ['--node', '0']]) {
      lines.length = 0;
      expect(await runRead(['log', '--from', '0', '--dir', dir, ...from], out)).toBe(0);
      expect(lines[0]).toMatch(/^slot 0 /);
      expect(lines.join('\n')).toContain('application/x-protobuf; messageType=harmonic.v1.MonsterHarmonicProposal');
    }
  });

  it('keeps an acceptor that lost its data down, and rejoin brings it back under its floor until it has learned the log', async () => {
    const pid = acceptorPid(22);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    rmSync(join(dir, 'node_22.data'), { recursive: true, force: true });
    lines.length = 0;
    expect(await runLaunch(['--dir', dir, '--restart-missing'], out)).toBe(1);
    expect(lines.join('\n')).toContain(`its data dir ${join(dir, 'node_22.data')} holds no data while the other acceptors' do, so it lost its data`);
    expect(lines.join('\n')).toContain(`npm run rejoin -- --node 22 --dir ${dir}`);

    lines.length = 0;
    expect(await runRejoin(['--node', '22', '--dir', dir, '--margin-slots', '3', '--grace-ms', '2000'], out)).toBe(0);
    const said = lines.join('\n');
    expect(said).toMatch(/proposer\s+pid \d+: (terminated|killed)/);
    const floor = /floor of acceptor 22: promise (\d+\.\d+), and it votes only once it has learned every chosen slot below (\d+) \(read from 22 acceptors\)/.exec(said);
    expect(floor).not.toBeNull();
    expect(JSON.parse(readFileSync(join(dir, 'node_22.data', 'node.json'), 'utf8')).rejoin).toEqual({ promised: floor?.[1], catchUpTo: floor?.[2] });
    // A second rejoin (as after one cut short) keeps the recorded floor and starts only what is down: nothing here.
    lines.length = 0;
    expect(await runRejoin(['--node', '22', '--dir', dir, '--grace-ms', '2000'], out)).toBe(0);
    expect(lines.join('\n')).toMatch(/acceptor 22 rejoined already: its floor is in \S+node\.json and it runs \(pid \d+\); starting the nodes that are down/);
    expect(lines.join('\n')).not.toMatch(/floor of acceptor 22|terminated|killed/);
    lines.length = 0;
    await runCheck(['--dir', dir, '--compare-slots', '0'], out);
    expect(lines.join('\n')).toMatch(/acceptor 22 .* does not vote yet: it lost its data and rejoined; it learns the chosen log up to slot \d+ first/);
    // Slots chosen past its floor: it learns them and votes again.
    for (let n = 10; n < 10 + 3 + 2; n++) expect((await submit(n)).code).toBe(EXIT.chosen);
    lines.length = 0;
    expect(await runCheck(['--dir', dir, '--settle-ms', '60000', '--deadline-ms', '2000'], out)).toBe(0);
    expect(lines.join('\n')).not.toContain('does not vote yet');
    expect(lines.join('\n')).toMatch(/agreement: slots 0\.\.\d+ hold the same values on 23 acceptors/);
  });

  it('stop leaves no process behind', async () => {
    const pids = runningProcesses(dir).map((p) => p.pid);
    expect(pids).toHaveLength(NODES + 2);
    await runStop(['--dir', dir], out);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(runningProcesses(dir)).toEqual([]);
  });
});
