import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lostData } from './launch-network';
import { dataDir, type NetworkLayout } from './network-dir';

describe('launch leaves down an acceptor whose votes are gone', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lost-data-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const layout: NetworkLayout = {
    createdAt: '2026-01-01T00:00:00Z',
    proposer: '127.0.0.1:7200',
    lmfdbCacheDir: '/nonexistent',
    nodes: [0, 1, 2].map((id) => ({ name: `node_${id}`, role: 'acceptor' as const, id, address: `127.0.0.1:${7100 + id}` })),
  };
  const put = (name: string, files: Record<string, string>) => {
    mkdirSync(dataDir(dir, name), { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dataDir(dir, name), f), text);
  };
  const node = (id: number, extra: object = {}) => JSON.stringify({ nodeId: id, createdAt: 'x', formatVersion: 1, ...extra });

  it('a new network (no acceptor holds votes) starts every acceptor', () => {
    put('node_0', { 'node.json': node(0) }); // a first start cut short before its log was made
    expect([...lostData(dir, layout).keys()]).toEqual([]);
  });

  it('a dir that kept node.json but lost its vote log is lost, as an empty one is', () => {
    put('node_0', { 'node.json': node(0), 'log-0000000000000001.wal': 'x' });
    put('node_1', { 'node.json': node(1), 'snapshot.bin': 'x' });
    put('node_2', { 'node.json': node(2) });
    expect([...lostData(dir, layout).keys()]).toEqual(['node_2']);
    rmSync(dataDir(dir, 'node_2'), { recursive: true });
    expect([...lostData(dir, layout).keys()]).toEqual(['node_2']);
  });

  it('a dir that holds its vote log but lost node.json is started, not called lost: the acceptor refuses it naming node.json', () => {
    put('node_0', { 'node.json': node(0), 'log-0000000000000001.wal': 'x' });
    put('node_1', { 'log-0000000000000003.wal': 'x', 'snapshot.bin': 'x' });
    put('node_2', { 'node.json': node(2), 'log-0000000000000001.wal': 'x' });
    // Called lost, launch told the operator to rejoin it, and rejoin told them to start it as it is.
    expect([...lostData(dir, layout).keys()]).toEqual([]);
    // Whatever the acceptor itself takes for data counts: a checkpoint caught in its rename, the chosen history.
    rmSync(dataDir(dir, 'node_1'), { recursive: true });
    put('node_1', { 'snapshot.bin.tmp': 'x' });
    expect([...lostData(dir, layout).keys()]).toEqual([]);
    rmSync(dataDir(dir, 'node_1'), { recursive: true });
    mkdirSync(join(dataDir(dir, 'node_1'), 'history'), { recursive: true });
    expect([...lostData(dir, layout).keys()]).toEqual([]);
  });

  it('a new network whose launch was killed while it started the acceptors starts those it never started', () => {
    put('node_0', { 'node.json': node(0), 'log-0000000000000001.wal': 'x' }); // started before the kill
    expect([...lostData(dir, { ...layout, acceptorsStarting: true }).keys()]).toEqual([]);
    // Once launch has started every acceptor (the mark removed), one without data lost it.
    expect([...lostData(dir, layout).keys()]).toEqual(['node_1', 'node_2']);
  });

  it('a rejoin under way (node.json with its floor, no log yet) is started under its floor', () => {
    put('node_0', { 'node.json': node(0), 'log-0000000000000001.wal': 'x' });
    put('node_1', { 'node.json': node(1), 'log-0000000000000001.wal': 'x' });
    put('node_2', { 'node.json': node(2, { rejoin: { promised: '5.1', catchUpTo: '70' } }) });
    expect([...lostData(dir, layout).keys()]).toEqual([]);
  });
});
