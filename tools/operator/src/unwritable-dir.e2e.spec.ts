import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePortRange } from '@paxos/test-cluster';
import { runLaunch } from './launch';
import { type NetworkLayout, readLayout, writeLayout } from './network-dir';
import { isAlive, LAUNCH_MARKER_ENV, LAUNCH_NAME_ENV, markedProcesses } from './processes';
import { runStop } from './stop';

/**
 * A network dir whose disk filled up or was remounted read-only while the network ran: writes and
 * removals of its files fail (the dir's lock, a SQLite file that already exists, is still taken).
 * Injected at node:fs, for the paths `failing` names.
 */
let failing: { prefix: string; code: 'EROFS' | 'ENOSPC'; only?: RegExp } | undefined;
const fails = (path: unknown): boolean =>
  failing !== undefined && typeof path === 'string' && path.startsWith(failing.prefix) && !path.includes('network-lock') && (failing.only === undefined || failing.only.test(path));
const refuse = (syscall: string, path: unknown): never => {
  const code = failing?.code ?? 'EROFS';
  throw Object.assign(new Error(`${code}: ${code === 'EROFS' ? 'read-only file system' : 'no space left on device'}, ${syscall} '${String(path)}'`), { code, syscall });
};
/** Files opened on a failing path (writes through their fd fail, as a full disk's do once the file is made). */
const failingFds = new Set<number>();
jest.mock('node:fs', () => {
  const real = jest.requireActual<typeof import('node:fs')>('node:fs');
  return {
    ...real,
    openSync: (path: unknown, ...rest: unknown[]) => {
      const fd = (real.openSync as (...a: unknown[]) => number)(path, ...rest);
      if (fails(path)) failingFds.add(fd);
      return fd;
    },
    closeSync: (fd: number) => {
      failingFds.delete(fd);
      real.closeSync(fd);
    },
    writeFileSync: (path: unknown, ...rest: unknown[]) =>
      fails(path) || (typeof path === 'number' && failingFds.has(path)) ? refuse('write', path) : (real.writeFileSync as (...a: unknown[]) => void)(path, ...rest),
    rmSync: (path: unknown, ...rest: unknown[]) => (fails(path) && failing?.code === 'EROFS' ? refuse('unlink', path) : (real.rmSync as (...a: unknown[]) => void)(path, ...rest)),
  };
});

jest.setTimeout(120_000);

const layout: NetworkLayout = {
  createdAt: '',
  nodes: [
    { name: 'node_0', role: 'acceptor', id: 0, address: '127.0.0.1:7100' },
    { name: 'proposer', role: 'proposer', id: 1, address: '127.0.0.1:7200' },
  ],
  proposer: '127.0.0.1:7200',
  lmfdbCacheDir: '/tmp/lmfdb',
};

describe('stop and launch on a network dir that cannot be written', () => {
  let dir: string;
  const children: Array<ReturnType<typeof spawn>> = [];
  beforeEach(() => (dir = fs.mkdtempSync(join(tmpdir(), 'paxos-unwritable-'))));
  afterEach(() => {
    failing = undefined;
    for (const c of children.splice(0)) c.kill('SIGKILL');
    for (const p of [...markedProcesses(dir), ...markedProcesses(join(dir, 'net'))]) process.kill(p.pid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const started = async (name: string) => {
    const p = spawn('sleep', ['60'], { env: { ...process.env, [LAUNCH_MARKER_ENV]: dir, [LAUNCH_NAME_ENV]: name }, stdio: 'ignore' });
    children.push(p);
    await new Promise((r) => p.once('spawn', r));
    return p;
  };

  it('stop on a read-only dir still ends every process, and says which pid files stay', async () => {
    writeLayout(dir, layout);
    const proposer = await started('proposer');
    fs.writeFileSync(join(dir, 'proposer.pid'), `${proposer.pid}\n`);
    const node0 = await started('node_0'); // its pid file was never written: stop finds it by its environment
    fs.writeFileSync(join(dir, 'node_1.pid'), '999999999\n'); // a process that crashed: a stale pid file
    const gone = Promise.all([proposer, node0].map((p) => new Promise((r) => p.once('exit', r))));
    failing = { prefix: dir, code: 'EROFS' };

    const lines: string[] = [];
    // Stop threw "EROFS: read-only file system, unlink" at the stale pid file, before it ended anything.
    expect(await runStop(['--dir', dir, '--grace-ms', '2000'], (l) => lines.push(l))).toBe(0);
    await gone;
    expect(isAlive(proposer.pid as number) || isAlive(node0.pid as number)).toBe(false);
    expect(lines.join('\n')).toMatch(/node_0\s+pid \d+: terminated/);
    expect(lines.join('\n')).toMatch(/proposer\s+pid \d+: terminated/);
    expect(lines.join('\n')).toMatch(/pid files could not be removed \(EROFS: .*\): they name processes that ended/);
  });

  it('stop on a full disk ends a process whose pid file it cannot write', async () => {
    writeLayout(dir, layout);
    const node0 = await started('node_0');
    fs.writeFileSync(join(dir, 'node_0.pid'), `${node0.pid}\n`);
    const page = await started('status-page'); // no pid file: launch's write of it failed
    const gone = Promise.all([node0, page].map((p) => new Promise((r) => p.once('exit', r))));
    failing = { prefix: dir, code: 'ENOSPC' };

    const lines: string[] = [];
    // Stop threw "ENOSPC: no space left on device, write" writing the status page's pid file, and ended nothing.
    expect(await runStop(['--dir', dir, '--grace-ms', '2000'], (l) => lines.push(l))).toBe(0);
    await gone;
    expect(lines.join('\n')).toMatch(/status-page pid \d+: terminated/);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.pid'))).toEqual([]);
  });

  it('a network.json that cannot be written leaves the one before whole, no copy beside it, and names the file', () => {
    writeLayout(dir, layout);
    failing = { prefix: dir, code: 'ENOSPC' };
    // It said only "ENOSPC: no space left on device, write" and left network.json.tmp behind.
    expect(() => writeLayout(dir, { ...layout, createdAt: 'later' })).toThrow(`cannot write ${join(dir, 'network.json')} (ENOSPC: no space left on device, write '`);
    failing = undefined;
    expect(readLayout(dir)).toEqual(layout);
    expect(fs.readdirSync(dir)).toEqual(['network.json']);
  });

  it('stop removes the temporary pid file a launch killed (or refused by a full disk) left between writing and renaming it', async () => {
    writeLayout(dir, layout);
    fs.writeFileSync(join(dir, 'proposer.pid.999999999.tmp'), '123\n');
    fs.writeFileSync(join(dir, 'notes.pid.999999999.tmp'), 'not launch\'s\n');
    expect(await runStop(['--dir', dir], () => undefined)).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['network-lock.sqlite', 'network.json', 'notes.pid.999999999.tmp']);
  });

  it('a launch whose disk fills up while it starts the processes ends those it started, and names the file it could not write', async () => {
    const base = await freePortRange(102);
    const cache = join(dir, 'lmfdb');
    const net = join(dir, 'net');
    // Room for network.json and the acceptor's pid file, none left for the proposer's.
    failing = { prefix: net, code: 'ENOSPC', only: /proposer\.pid/ };
    const launch = runLaunch(['--dir', net, '--nodes', '1', '--lmfdb-cache', cache, '--base-port', String(base), '--status-port', String(base + 101), '--insecure'], () => undefined);
    // It failed with "ENOSPC: no space left on device, write", leaving the acceptor and the proposer running.
    await expect(launch).rejects.toThrow(/cannot write the pid file .*proposer\.pid \(ENOSPC: .*\): is its disk full or read-only\?; the processes started before it were ended \(node_0 pid \d+ (terminated|killed)\)/);
    expect(markedProcesses(net)).toEqual([]);
    expect(fs.readdirSync(net).filter((f) => f.includes('.pid'))).toEqual([]);
  });
});
