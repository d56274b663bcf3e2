import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, printable } from '@paxos/grpc-kit';
import { runLaunch } from './launch';
import { runningProcesses } from './launch-network';
import { layoutProblem, lockNetworkDir, readLayout } from './network-dir';
import { LAUNCH_MARKER_ENV, LAUNCH_NAME_ENV } from './processes';
import { endingCause, lastLogLine } from './processes';
import { runStop } from './stop';

const acceptor = (i: number) => ({ name: `node_${i}`, role: 'acceptor', id: i, address: `127.0.0.1:${7100 + i}` });
const layout = (over: Record<string, unknown> = {}) => ({
  createdAt: '',
  nodes: [acceptor(0), acceptor(1), acceptor(2), { name: 'proposer', role: 'proposer', id: 1, address: '127.0.0.1:7200' }],
  proposer: '127.0.0.1:7200',
  lmfdbCacheDir: '/tmp/lmfdb',
  ...over,
});

describe('the network dir', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'paxos-dir-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('takes only a network.json that launch could have written, and names the file and the field', () => {
    expect(layoutProblem(layout())).toBeUndefined();
    expect(layoutProblem({ nodes: 5 })).toBe('"nodes" is not a list');
    expect(layoutProblem(layout({ nodes: [{ ...acceptor(0), name: '../escape' }, layout().nodes[3]] }))).toBe('acceptor 0 must be named node_0 with id 0');
    expect(layoutProblem(layout({ nodes: [acceptor(0), { ...acceptor(1), address: '10.0.0.1:7101' }, layout().nodes[3]] }))).toBe('node_1 has no loopback address host:port');
    expect(layoutProblem(layout({ nodes: [acceptor(0)] }))).toMatch(/exactly one proposer/);
    expect(layoutProblem(layout({ proposer: '127.0.0.1:7300' }))).toMatch(/"proposer" differs from its node/);
    expect(layoutProblem(layout({ acceptorsStarting: true }))).toBeUndefined();
    expect(layoutProblem(layout({ acceptorsStarting: 'yes' }))).toBe('"acceptorsStarting" is not true');
    writeFileSync(join(dir, 'network.json'), JSON.stringify(layout()).slice(0, 100));
    expect(() => readLayout(dir)).toThrow(new RegExp(`^${join(dir, 'network.json')} is not valid JSON .*: restore it`));
    writeFileSync(join(dir, 'network.json'), '{"nodes":5}');
    expect(() => readLayout(dir)).toThrow(`${join(dir, 'network.json')} does not describe a network launch made: "nodes" is not a list`);
    // A file where the dir should be is said to be one (not "network.json is missing", nor a launch into the file).
    const file = join(dir, 'not a dir');
    writeFileSync(file, 'x');
    expect(() => readLayout(file)).toThrow(new ConfigError(`the network dir ${file} is a file, not a directory; give --dir (or PAXOS_NETWORK_DIR) a directory, or a path that does not exist yet`));
    // The launch it suggests can be pasted into a shell: a dir with a space is quoted.
    const spaced = join(dir, 'my net');
    expect(() => readLayout(spaced)).toThrow(`npm run launch -- --dir '${spaced}'`);
  });

  it('stop leaves a dir launch never wrote into as it was: other programs\' pid files stay, no lock file is made', async () => {
    writeFileSync(join(dir, 'mydaemon.pid'), `${process.pid}\n`);
    writeFileSync(join(dir, 'other.pid'), 'junk\n');
    const lines: string[] = [];
    expect(await runStop(['--dir', dir], (l) => lines.push(l))).toBe(0);
    expect(lines).toEqual([`no network is running in ${dir} (no network.json and no pid files there)`]);
    expect(readdirSync(dir).sort()).toEqual(['mydaemon.pid', 'other.pid']);
    // With a network described, foreign pid files still stay: only launch's names are touched.
    writeFileSync(join(dir, 'network.json'), JSON.stringify(layout()));
    writeFileSync(join(dir, 'node_0.pid'), '999999999\n');
    expect(await runStop(['--dir', dir], () => undefined)).toBe(0);
    expect(existsSync(join(dir, 'mydaemon.pid')) && existsSync(join(dir, 'other.pid'))).toBe(true);
    expect(existsSync(join(dir, 'node_0.pid'))).toBe(false);
  });

  it('refuses a network dir that is a file, and makes nothing for a restart in a dir with no network', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    for (const d of [file, join(file, 'below')]) {
      await expect(runStop(['--dir', d], () => undefined)).rejects.toThrow(new ConfigError(`the network dir ${d} ${d === file ? 'is a file, not a directory' : 'cannot be made: a part of that path is a file'}; give --dir (or PAXOS_NETWORK_DIR) a directory${d === file ? ', or a path that does not exist yet' : ''}`));
      await expect(runLaunch(['--dir', d, '--nodes', '1', '--lmfdb-cache', join(dir, 'lmfdb')], () => undefined)).rejects.toBeInstanceOf(ConfigError);
    }
    // An LMFDB cache that is a file: refused before anything is bundled or made.
    const net = join(dir, 'net');
    await expect(runLaunch(['--dir', net, '--nodes', '1', '--lmfdb-cache', file], () => undefined)).rejects.toThrow(
      new ConfigError(`the LMFDB cache ${file} is a file, not a directory; give --lmfdb-cache (or LMFDB_CACHE_DIR) a directory, or a path that does not exist yet`),
    );
    expect(existsSync(net)).toBe(false);
    const typo = join(dir, 'no-such-network');
    const restart = runLaunch(['--restart-missing', '--dir', typo], () => undefined);
    await expect(restart).rejects.toThrow(/no network described in .*no-such-network/);
    // Refused before anything starts: exit 2, as the README says of launch's refusals (it was 1, "a node did not come up").
    await expect(restart).rejects.toBeInstanceOf(ConfigError);
    expect(existsSync(typo)).toBe(false);
  });

  it('makes a damaged lock file again (it guards no data), refuses a held one, and waits for it when asked', async () => {
    writeFileSync(join(dir, 'network-lock.sqlite'), 'not a database at all, just text that is long enough to be read as a header');
    const release = await lockNetworkDir(dir, 'stop the network');
    let released = false;
    try {
      await expect(lockNetworkDir(dir, 'launch')).rejects.toThrow(/cannot launch: another launch, restart or stop is under way/);
      // A refusal: the command exits 2, as for its other refusals.
      await expect(lockNetworkDir(dir, 'launch')).rejects.toBeInstanceOf(ConfigError);
      setTimeout(() => {
        released = true;
        release();
      }, 300);
      (await lockNetworkDir(dir, 'stop the network', 10_000))();
      expect(released).toBe(true);
    } finally {
      if (!released) release();
    }
  });

  it('refuses a launch into a dir where a network runs as a refusal (exit 2), before it starts anything', async () => {
    // A process launch started in this dir (its marker in the environment), with its pid file.
    const node = spawn('sleep', ['30'], { env: { ...process.env, [LAUNCH_MARKER_ENV]: dir }, stdio: 'ignore' });
    try {
      writeFileSync(join(dir, 'node_0.pid'), `${node.pid}\n`);
      const refused = runLaunch(['--dir', dir, '--nodes', '1', '--lmfdb-cache', join(dir, 'lmfdb'), '--insecure'], () => undefined);
      await expect(refused).rejects.toThrow(/a network is already running in .* \(1 processes: node_0 pid \d+\): stop it first/);
      await expect(refused).rejects.toBeInstanceOf(ConfigError);
      expect(readdirSync(dir).sort()).toEqual(['network-lock.sqlite', 'node_0.pid']);
    } finally {
      node.kill('SIGKILL');
    }
  });

  it('a refused launch into a dir it made leaves no dir and no lock file; the next launch, stop and check see no network there', async () => {
    const fresh = join(dir, 'typo', 'net');
    // Flags that describe no network (the proposer's metrics port past 65535): refused once the dir's lock is taken.
    const refused = runLaunch(['--dir', fresh, '--nodes', '1', '--lmfdb-cache', join(dir, 'lmfdb'), '--metrics-port', '65500', '--insecure'], () => undefined);
    await expect(refused).rejects.toBeInstanceOf(ConfigError);
    await expect(refused).rejects.toThrow(/the network these flags describe cannot run/);
    expect(existsSync(fresh)).toBe(false);
    const lines: string[] = [];
    expect(await runStop(['--dir', fresh], (l) => lines.push(l))).toBe(0);
    expect(lines).toEqual([`no network is running in ${fresh} (no network.json and no pid files there)`]);
    expect(existsSync(fresh)).toBe(false);
    // A dir that was there before keeps what it held (another program's file among it).
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await expect(runLaunch(['--dir', dir, '--nodes', '1', '--lmfdb-cache', join(dir, 'lmfdb'), '--metrics-port', '65500', '--insecure'], () => undefined)).rejects.toBeInstanceOf(ConfigError);
    expect(readdirSync(dir)).toContain('notes.txt');
  });

  it('finds a process launch started whose pid file was never written (launch killed between the two), and stop ends it', async () => {
    writeFileSync(join(dir, 'network.json'), JSON.stringify(layout()));
    const orphan = spawn('sleep', ['30'], { env: { ...process.env, [LAUNCH_MARKER_ENV]: dir, [LAUNCH_NAME_ENV]: 'proposer' }, stdio: 'ignore' });
    const gone = new Promise((r) => orphan.once('exit', r));
    try {
      await new Promise((r) => orphan.once('spawn', r));
      expect(runningProcesses(dir)).toEqual([{ name: 'proposer', pid: orphan.pid }]);
      const refused = runLaunch(['--dir', dir, '--nodes', '3', '--lmfdb-cache', join(dir, 'lmfdb'), '--insecure'], () => undefined);
      await expect(refused).rejects.toThrow(/a network is already running in .* \(1 processes: proposer pid \d+\): stop it first/);
      expect(readdirSync(dir)).toContain('proposer.pid');
      const lines: string[] = [];
      expect(await runStop(['--dir', dir, '--grace-ms', '2000'], (l) => lines.push(l))).toBe(0);
      expect(lines.join('\n')).toMatch(/proposer\s+pid \d+: terminated/);
      await gone;
      expect(readdirSync(dir)).not.toContain('proposer.pid');
    } finally {
      orphan.kill('SIGKILL');
    }
  });

  const asRoot = process.getuid?.() === 0 ? it : it.skip;
  asRoot("does not adopt another user's process that carries the marker (root reads every environment)", async () => {
    writeFileSync(join(dir, 'network.json'), JSON.stringify(layout()));
    const planted = spawn('sleep', ['30'], { uid: 65534, gid: 65534, env: { ...process.env, [LAUNCH_MARKER_ENV]: dir, [LAUNCH_NAME_ENV]: 'node_0' }, stdio: 'ignore' });
    const gone = new Promise((r) => planted.once('exit', r));
    try {
      await new Promise((r) => planted.once('spawn', r));
      expect(runningProcesses(dir, { removeStale: true })).toEqual([]);
      expect(readdirSync(dir)).not.toContain('node_0.pid');
    } finally {
      planted.kill('SIGKILL');
      await gone;
    }
  });

    it('gives the line of a log that says why its process ended, not Node\'s version banner', () => {
    mkdirSync(join(dir, 'logs'));
    const log = join(dir, 'logs', 'node_1.log');
    writeFileSync(log, ['{"level":30,"msg":"acceptor ready"}', 'node:internal/modules/cjs/loader:1228', "Error: Cannot find module '/x/dist/apps/acceptor/main.js'", '    at Module._resolveFilename (node:internal)', '', 'Node.js v20.20.2', ''].join('\n'));
    expect(lastLogLine(log)).toBe("Error: Cannot find module '/x/dist/apps/acceptor/main.js'");
    writeFileSync(log, '{"level":50,"msg":"storage failed","err":{"message":"EIO: i/o error"}}\n');
    expect(lastLogLine(log)).toBe('storage failed: EIO: i/o error');
    // Node's own warnings after it are not the reason.
    writeFileSync(
      log,
      [
        '{"level":30,"msg":"status page listening on 127.0.0.1:9300"}',
        '(node:812) [DEP0123] DeprecationWarning: Setting the TLS ServerName to an IP address is not permitted by RFC 6066. This will be ignored in a future version.',
        '(Use `node --trace-deprecation ...` to show where the warning was created)',
        '',
      ].join('\n'),
    );
    expect(lastLogLine(log)).toBe('status page listening on 127.0.0.1:9300');
    expect(lastLogLine(join(dir, 'absent.log'))).toBeUndefined();
  });

  it('names what a process ended on only when its log ends saying why (a refusal to start), not after a kill', () => {
    mkdirSync(join(dir, 'logs'));
    const log = join(dir, 'logs', 'node_2.log');
    writeFileSync(log, '{"level":30,"msg":"acceptor ready"}\n{"level":60,"msg":"storage corruption: refusing to start","err":{"message":"CRC mismatch in 00000003.log at byte 812"}}\n');
    expect(endingCause(log)).toBe('storage corruption: refusing to start: CRC mismatch in 00000003.log at byte 812');
    // Killed with -9 while it served: its last line is an ordinary one, and says nothing.
    writeFileSync(log, '{"level":40,"msg":"client connection refused: at the bound"}\n{"level":30,"msg":"acceptor ready"}\n');
    expect(endingCause(log)).toBeUndefined();
    writeFileSync(log, ['{"level":30,"msg":"acceptor ready"}', "Error: Cannot find module '/x/main.js'", '    at Module._resolveFilename (node:internal)', '', 'Node.js v20.20.2', ''].join('\n'));
    expect(endingCause(log)).toBe("Error: Cannot find module '/x/main.js'");
    expect(endingCause(join(dir, 'absent.log'))).toBeUndefined();
  });

  it('writes control characters from the network as visible escapes', () => {
    expect(printable('evil\u001b]0;PWNED\u0007\u001b[2J id\u009b1m \u202eabc\ttab\nline')).toBe('evil\\u001b]0;PWNED\\u0007\\u001b[2J id\\u009b1m \\u202eabc\ttab\nline');
    // --json output goes through it too: it stays JSON, and parses back to the same text.
    const doc = JSON.stringify({ framework: 'c1\u009b1m del\u007f esc\u001b bidi\u202e' });
    expect(JSON.parse(printable(doc))).toEqual({ framework: 'c1\u009b1m del\u007f esc\u001b bidi\u202e' });
  });
});
