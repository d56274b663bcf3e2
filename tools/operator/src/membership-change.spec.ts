import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refuseMembershipChange } from './launch-network';
import { dataDir, writeLayout } from './network-dir';

describe('launch on a dir that holds a network of another size', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'membership-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const put = (id: number, nodeJson?: object) => {
    mkdirSync(dataDir(dir, `node_${id}`), { recursive: true });
    writeFileSync(join(dataDir(dir, `node_${id}`), 'log-0000000000000001.wal'), 'x');
    if (nodeJson) writeFileSync(join(dataDir(dir, `node_${id}`), 'node.json'), JSON.stringify(nodeJson));
  };
  const threeNodes = () => [0, 1, 2].forEach((id) => put(id, { nodeId: id, createdAt: 'x', formatVersion: 2, clusterSize: 3 }));

  it('refuses another --nodes than network.json has, and takes the same', () => {
    threeNodes();
    const node = (id: number) => ({ name: `node_${id}`, role: 'acceptor' as const, id, address: `127.0.0.1:${7100 + id}` });
    writeLayout(dir, { createdAt: 'x', proposer: '127.0.0.1:7200', lmfdbCacheDir: '/x', nodes: [node(0), node(1), node(2), { name: 'proposer', role: 'proposer', id: 1, address: '127.0.0.1:7200' }] });
    expect(() => refuseMembershipChange(dir, 5)).toThrow(/a network of 3 acceptors; launching 5 on it is refused.*Launch with --nodes 3/);
    expect(() => refuseMembershipChange(dir, 3)).not.toThrow();
  });

  it('without network.json, the size the acceptors recorded in node.json continues the network: the advice "--nodes N" is taken', () => {
    threeNodes();
    put(3); // an acceptor that lost node.json (or all its data) says nothing of the size
    expect(() => refuseMembershipChange(dir, 4)).toThrow(/a network of 3 acceptors; launching 4 on it is refused.*Launch with --nodes 3 /);
    expect(() => refuseMembershipChange(dir, 3)).not.toThrow();
    writeFileSync(join(dir, 'network.json'), ''); // cut short or emptied: as missing
    expect(() => refuseMembershipChange(dir, 3)).not.toThrow();
  });

  it('without network.json, acceptors that disagree on the size (or record none) are refused with what to restore', () => {
    threeNodes();
    put(3, { nodeId: 3, createdAt: 'x', formatVersion: 2, clusterSize: 5 });
    expect(() => refuseMembershipChange(dir, 3)).toThrow(/neither its network.json .* nor their node.json files .* agree .* Restore .*network.json and launch again/);
    rmSync(dir, { recursive: true });
    mkdirSync(dir);
    put(0);
    expect(() => refuseMembershipChange(dir, 1)).toThrow(/Restore .*network.json and launch again/);
  });
});
