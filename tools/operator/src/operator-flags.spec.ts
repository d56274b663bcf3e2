import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@paxos/grpc-kit';
import { runLaunch } from './launch';
import { clientTransport, writeLayout } from './network-dir';
import { runRead } from './read';
import { runSubmit } from './submit';
import { runCheck } from './check';

describe('operator flags and messages', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'paxos-flags-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('launch takes --metrics-port, which --restart-missing refuses like the other layout flags', async () => {
    const lines: string[] = [];
    await runLaunch(['--help'], (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/--metrics-port <n>/);
    await expect(runLaunch(['--restart-missing', '--dir', dir, '--metrics-port', '27200'], () => undefined)).rejects.toThrow(/--metrics-port cannot change it/);
  });

  it('--restart-missing refuses a stopped network (no process runs, no pid file left), naming the launch that starts it', async () => {
    // A restart that waited (paused, or queued behind the stop's lock) brought back a network just stopped.
    writeLayout(dir, { createdAt: 'x', proposer: '127.0.0.1:27300', lmfdbCacheDir: '/nonexistent', tls: false, nodes: [{ name: 'node_0', role: 'acceptor', id: 0, address: '127.0.0.1:27200' }, { name: 'proposer', role: 'proposer', id: 1, address: '127.0.0.1:27300' }] });
    const refused = runLaunch(['--restart-missing', '--dir', dir], () => undefined);
    await expect(refused).rejects.toThrow(ConfigError);
    await expect(refused).rejects.toThrow(new RegExp(`the network in ${dir} is stopped .*start it again with npm run launch -- --dir ${dir} --nodes 1 --base-port 27200 --lmfdb-cache /nonexistent --insecure$`));
  });

  it("read's --help says its exit codes, as submit's README line does", async () => {
    const lines: string[] = [];
    await runRead(['--help'], (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/exit 0 read, 2 bad input, 3 not found, 4 no answer, no quorum or one of the node.s bounds on reads .*, 1 other/);
  });

  it("submit's and check's --help say their exit codes too", async () => {
    const submit: string[] = [];
    await runSubmit(['--help'], (l) => submit.push(l));
    expect(submit.join('\n')).toMatch(/exit 0 chosen, 2 bad input .*, 3 refused .*, 4 not chosen yet .*, 1 other/);
    const check: string[] = [];
    await runCheck(['--help'], (l) => check.push(l));
    expect(check.join('\n')).toMatch(/exit 0 only when .*, 2 when .*, 1 otherwise/);
  });

  it('read refuses numbers above uint64, a malformed --address and --node with --address, before any call', async () => {
    const out = () => undefined;
    await expect(runRead(['log', '--dir', dir, '--address', '127.0.0.1:1', '--from', '18446744073709551616'], out)).rejects.toThrow('--from "18446744073709551616" must be an integer in 0..18446744073709551615');
    await expect(runRead(['proposal', '18446744073709551616', '--dir', dir, '--address', '127.0.0.1:1'], out)).rejects.toThrow(ConfigError);
    await expect(runRead(['log', '--dir', dir, '--address', 'nonsense'], out)).rejects.toThrow('--address: "nonsense" is not host:port');
    await expect(runRead(['log', '--dir', dir, '--node', '0', '--address', '127.0.0.1:1'], out)).rejects.toThrow(/give one/);
    // A word only `proposal` takes, and a second address, were ignored: the read answered something else than asked.
    await expect(runRead(['leaderboard', 'extra', '--dir', dir, '--address', '127.0.0.1:1'], out)).rejects.toThrow(new ConfigError('read leaderboard takes no "extra" after it'));
    await expect(runRead(['proposals', '40', '--dir', dir, '--address', '127.0.0.1:1'], out)).rejects.toThrow(/--from N says where to start/);
    await expect(runRead(['log', '--dir', dir, '--address', '127.0.0.1:1,127.0.0.1:2'], out)).rejects.toThrow('--address names 2 nodes: give the one to read from');
    // The nodes answer at most 1,000 changes: a larger --history was sent and refused by every node (INVALID_ARGUMENT).
    await expect(runRead(['leaderboard', '--dir', dir, '--address', '127.0.0.1:1', '--history', '1001'], out)).rejects.toThrow(/--history.*1000/);
  });

  it('read refuses a flag of another read, before any call, rather than answer without it', async () => {
    // `leaderboard --max 5` printed every row and `proposals --history 3` no change, exit 0.
    const out = () => undefined;
    const at = ['--dir', dir, '--address', '127.0.0.1:1'];
    await expect(runRead(['leaderboard', ...at, '--max', '5'], out)).rejects.toThrow(new ConfigError('read leaderboard takes no --max: --max is for read proposals and log'));
    await expect(runRead(['leaderboard', ...at, '--from', '3'], out)).rejects.toThrow(new ConfigError('read leaderboard takes no --from: --from is for read proposals and log'));
    await expect(runRead(['proposals', ...at, '--history', '3'], out)).rejects.toThrow(new ConfigError('read proposals takes no --history: --history is for read leaderboard'));
    await expect(runRead(['proposal', '7', ...at, '--from', '3', '--max', '2'], out)).rejects.toThrow(new ConfigError('read proposal takes no --from or --max: --from is for read proposals and log; --max is for read proposals and log'));
    await expect(runRead(['log', ...at, '--history', '1'], out)).rejects.toThrow(ConfigError);
  });

  it('a missing client certificate names what the operator tools can do, not node flags they lack', () => {
    writeLayout(dir, {
      createdAt: '',
      nodes: [{ name: 'node_0', role: 'acceptor', id: 0, address: '127.0.0.1:27000' }, { name: 'proposer', role: 'proposer', id: 1, address: '127.0.0.1:27100' }],
      proposer: '127.0.0.1:27100',
      lmfdbCacheDir: join(dir, 'lmfdb'),
      tls: true,
    });
    mkdirSync(join(dir, 'tls'));
    let message = '';
    try {
      clientTransport(dir);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      message = (e as Error).message;
    }
    expect(message).toMatch(/does not exist: the operator tools present the network's client-cli certificate/);
    expect(message).not.toMatch(/--insecure|--tls-ca/);
  });
});
