import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePortRange } from '@paxos/test-cluster';
import { runCheck } from './check';
import { dataDir, writeLayout } from './network-dir';

describe('npm run check: an acceptor that is down because it lost its data', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'check-lost-data-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is told to rejoin, not to --restart-missing (which leaves it down); one whose data is whole is told to restart', async () => {
    const base = await freePortRange(4); // nothing listens: every node is down
    const acceptor = (id: number) => ({ name: `node_${id}`, role: 'acceptor' as const, id, address: `127.0.0.1:${base + id}` });
    writeLayout(dir, { createdAt: 'x', proposer: `127.0.0.1:${base + 3}`, lmfdbCacheDir: '/nonexistent', tls: false, nodes: [acceptor(0), acceptor(1), acceptor(2), { name: 'proposer', role: 'proposer', id: 1, address: `127.0.0.1:${base + 3}` }] });
    for (const id of [0, 1]) {
      mkdirSync(dataDir(dir, `node_${id}`));
      writeFileSync(join(dataDir(dir, `node_${id}`), 'node.json'), JSON.stringify({ nodeId: id, createdAt: 'x', formatVersion: 2, clusterSize: 3 }));
      writeFileSync(join(dataDir(dir, `node_${id}`), 'log-0000000000000001.wal'), 'x');
    }
    mkdirSync(dataDir(dir, 'node_2')); // wiped: a replaced disk
    const lines: string[] = [];
    expect(await runCheck(['--dir', dir, '--deadline-ms', '200', '--compare-slots', '0'], (l) => lines.push(l))).toBe(1);
    expect(lines).toContain(
      `down: acceptor 2 (127.0.0.1:${base + 2}) its process is not running and its data dir ${dataDir(dir, 'node_2')} holds no votes while the other acceptors' do (it lost its data; --restart-missing leaves it down): bring it back with npm run rejoin -- --node 2 --dir ${dir}`,
    );
    expect(lines).toContain(`down: acceptor 0 (127.0.0.1:${base}) its process is not running: npm run launch -- --restart-missing --dir ${dir} starts it again`);
  });
});
