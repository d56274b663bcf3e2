import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultCacheDir } from '@paxos/lmfdb-client';
import { asksForJson, failureJson, runCheck } from './check';
import { shellWord } from './shell-word';
import { LAUNCH_MARKER_ENV, LAUNCH_NAME_ENV } from './processes';

describe('npm run check --json when the check itself fails', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'paxos-check-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers one JSON document naming the error (no network in the dir)', async () => {
    const argv = ['--dir', dir, '--json'];
    const failure = await runCheck(argv, () => undefined).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    expect(asksForJson(argv)).toBe(true);
    expect(JSON.parse(failureJson(failure))).toEqual({ error: expect.stringMatching(/^no network described in .*: start one with npm start \(the default dir\) or npm run launch -- --dir .*$/) });
  });

  it('reads --json from the flags only, not past --', () => {
    expect(asksForJson(['--dir', 'd'])).toBe(false);
    expect(asksForJson(['--', '--json'])).toBe(false);
    expect(asksForJson(['--bogus', '--json'])).toBe(true);
  });
});

describe('npm run check on a network that is not running', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'paxos-check-stopped-'));
    // Ports nothing listens on (1-3): the nodes of a network that does not run.
    const acceptor = (i: number) => ({ name: `node_${i}`, role: 'acceptor', id: i, address: `127.0.0.1:${1 + i}`, source: i, metricsAddress: `127.0.0.1:${2001 + i}` });
    const layout = {
      createdAt: '',
      nodes: [acceptor(0), acceptor(1), acceptor(2), { name: 'proposer', role: 'proposer', id: 1, address: '127.0.0.1:101', metricsAddress: '127.0.0.1:2102' }],
      proposer: '127.0.0.1:101',
      lmfdbCacheDir: defaultCacheDir(),
      tls: false,
      statusPage: '127.0.0.1:2201',
    };
    writeFileSync(join(dir, 'network.json'), JSON.stringify(layout));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('after npm run stop (no process, no pid file), says in one line that it is stopped and the launch that starts it again; exit 1', async () => {
    const lines: string[] = [];
    expect(await runCheck(['--dir', dir], (l) => lines.push(l))).toBe(1);
    expect(lines).toEqual([
      `stopped: the network in ${dir} is stopped (none of its processes runs, and no pid file is left); start it again with npm run launch -- --dir ${dir} --nodes 3 --base-port 1 --insecure`,
    ]);
    const json: string[] = [];
    expect(await runCheck(['--dir', dir, '--json'], (l) => json.push(l))).toBe(1);
    expect(JSON.parse(json.join('\n'))).toEqual({ stopped: true, serving: false, alive: 0, clusterSize: 3, start: `npm run launch -- --dir ${dir} --nodes 3 --base-port 1 --insecure` });
  });

  it('a network whose processes were killed (their pid files left) still gets its table, each node with how to start it again', async () => {
    writeFileSync(join(dir, 'node_0.pid'), '999999999\n');
    const lines: string[] = [];
    expect(await runCheck(['--dir', dir, '--deadline-ms', '200'], (l) => lines.push(l))).toBe(1);
    expect(lines.some((l) => l.startsWith('stopped:'))).toBe(false);
    expect(lines).toContain(`down: acceptor 0 (127.0.0.1:1) its process is not running: npm run launch -- --restart-missing --dir ${dir} starts it again`);
  });

  it('names an acceptor whose process is still shutting down after a SIGTERM (its port closed first), not only its log', async () => {
    // A process of the network (its marker, its pid file) that has logged its graceful shutdown and not yet ended.
    const script = `process.stderr.write(JSON.stringify({ level: 30, pid: process.pid, signal: 'SIGTERM', msg: 'shutting down' }) + '\\n'); setTimeout(() => {}, 30000);`;
    const log = openSync(join(dir, 'node_1.log'), 'a');
    const node = spawn(process.execPath, ['-e', script], { env: { ...process.env, [LAUNCH_MARKER_ENV]: dir, [LAUNCH_NAME_ENV]: 'node_1' }, stdio: ['ignore', log, log] });
    const gone = new Promise((r) => node.once('exit', r));
    try {
      await new Promise((r) => node.once('spawn', r));
      writeFileSync(join(dir, 'node_1.pid'), `${node.pid}\n`);
      // Until its log says so (a node started on a loaded machine may take more than the 5 s of
      // polls there were, and check then read a log without the line). 25 s only names the wait.
      const until = performance.now() + 25_000;
      while (!readFileSync(join(dir, 'node_1.log'), 'utf8').includes('shutting down')) {
        if (performance.now() > until) throw new Error(`the stand-in node ${node.pid} logged no "shutting down" within 25 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const lines: string[] = [];
      await runCheck(['--dir', dir, '--deadline-ms', '200', '--compare-slots', '0'], (l) => lines.push(l));
      expect(lines).toContain(
        `down: acceptor 1 (127.0.0.1:2) its process ${node.pid} is shutting down (SIGTERM, its log says): it no longer answers and ends within 20 s; then npm run launch -- --restart-missing --dir ${dir} starts it again`,
      );
    } finally {
      node.kill('SIGKILL');
      await gone;
    }
  });
});

describe('the launch command check prints for a stopped network', () => {
  it('quotes a dir a shell would split or expand, so the printed command runs as shown', () => {
    expect(shellWord('/tmp/net-1')).toBe('/tmp/net-1');
    const dir = "/tmp/my net's $HOME";
    const quoted = shellWord(dir);
    expect(spawnSync('sh', ['-c', `printf %s ${quoted}`], { encoding: 'utf8' }).stdout).toBe(dir);
  });
});
