import { spawnSync } from 'node:child_process';
import { promises as fsp, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AcceptorStorage } from './acceptor-storage';
import { DataDirError } from './errors';
import { change, tempDir } from './storage-test-helpers';

describe('data dir ownership and writability', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('writes node.json on first start and refuses a dir of another node id, saying what to change', async () => {
    const { storage } = await AcceptorStorage.open({ dataDir: dir, nodeId: 5 });
    await storage.append(change(0));
    await storage.close();
    const nodeFile = JSON.parse(readFileSync(path.join(dir, 'node.json'), 'utf8'));
    expect(nodeFile).toEqual({ nodeId: 5, createdAt: expect.any(String), formatVersion: 2 });

    const err = await AcceptorStorage.open({ dataDir: dir, nodeId: 6 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirError);
    expect((err as Error).message).toMatch(/belongs to node 5 .* but this acceptor is node 6\. Give node 6 a data dir of its own/);
  });

  it('refuses a node.json that parses to no object (null, a number, an array) with a DataDirError, not a TypeError', async () => {
    const { storage } = await AcceptorStorage.open({ dataDir: dir, nodeId: 5 });
    await storage.append(change(0));
    await storage.close();
    for (const text of ['null', '5', '[]', '"x"']) {
      writeFileSync(path.join(dir, 'node.json'), text);
      const err = await AcceptorStorage.open({ dataDir: dir, nodeId: 5 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataDirError);
      expect((err as Error).message).toContain(path.join(dir, 'node.json'));
    }
  });

  it('tells an operator to restore a damaged node.json of a dir that holds votes, never to point the node at another dir', async () => {
    const { storage } = await AcceptorStorage.open({ dataDir: dir, nodeId: 5, clusterSize: 3 });
    await storage.append(change(0));
    await storage.close();
    const file = path.join(dir, 'node.json');
    const good = readFileSync(file, 'utf8');
    for (const text of ['{"nodeId": 5,', '{}', 'null', good.replace('"clusterSize": 3', '"clusterSize": -1'), good.replace('"formatVersion": 2', '"formatVersion": 9')]) {
      writeFileSync(file, text);
      const err = await AcceptorStorage.open({ dataDir: dir, nodeId: 5 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataDirError);
      expect((err as Error).message).toMatch(/restore/);
      expect((err as Error).message).not.toMatch(/(?<!do not )point the node at (another|a new) data dir/);
    }
    writeFileSync(file, good.replace('"nodeId": 5', '"nodeId": 4'));
    const err = await AcceptorStorage.open({ dataDir: dir, nodeId: 5 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/if this is node 5's dir and node.json was changed, restore its nodeId/);
  });

  it('records the network size and refuses a start with another one (the quorums would not intersect)', async () => {
    const { storage } = await AcceptorStorage.open({ dataDir: dir, nodeId: 1, clusterSize: 3 });
    await storage.append(change(0));
    await storage.close();
    expect(JSON.parse(readFileSync(path.join(dir, 'node.json'), 'utf8'))).toMatchObject({ nodeId: 1, clusterSize: 3 });
    const err = await AcceptorStorage.open({ dataDir: dir, nodeId: 1, clusterSize: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirError);
    expect((err as Error).message).toMatch(/was made for a network of 3 acceptors .* started with --cluster-size 5\. Changing the number of acceptors .* Start it with --cluster-size 3 if that is its network's size; if the network has 5 acceptors and node.json was changed, restore its clusterSize/);
    // The dir holds this acceptor's votes: never the advice to start it on an empty dir (a node.json damaged by a flipped bit reads as another size).
    expect((err as Error).message).not.toMatch(/give it an empty data dir/);
    await (await AcceptorStorage.open({ dataDir: dir, nodeId: 1, clusterSize: 3 })).storage.close();
  });

  it('records a rejoin floor in a new dir only, keeps it across restarts, and refuses another one or one for a dir with data', async () => {
    const floor = { promised: { round: 1733480000000n, proposerId: 2 }, catchUpTo: 1500n };
    const first = await AcceptorStorage.open({ dataDir: dir, nodeId: 4, clusterSize: 5, rejoin: floor });
    expect(first.recovered.rejoin).toEqual(floor);
    await first.storage.close();
    expect(JSON.parse(readFileSync(path.join(dir, 'node.json'), 'utf8'))).toMatchObject({ rejoin: { promised: '1733480000000.2', catchUpTo: '1500' } });
    // Restarted without the flags (launch -- --restart-missing) or with the same ones: the recorded floor holds.
    for (const again of [{}, { rejoin: floor }]) {
      const { storage, recovered } = await AcceptorStorage.open({ dataDir: dir, nodeId: 4, clusterSize: 5, ...again });
      expect(recovered.rejoin).toEqual(floor);
      await storage.close();
    }
    const other = await AcceptorStorage.open({ dataDir: dir, nodeId: 4, clusterSize: 5, rejoin: { ...floor, catchUpTo: 9n } }).catch((e: unknown) => e);
    expect((other as Error).message).toMatch(/rejoined with the floor promised 1733480000000\.2, catch up to 1500/);

    const { dir: used, cleanup: cleanUsed } = tempDir();
    try {
      const { storage } = await AcceptorStorage.open({ dataDir: used, nodeId: 4 });
      await storage.append(change(0));
      await storage.close();
      const refused = await AcceptorStorage.open({ dataDir: used, nodeId: 4, rejoin: floor }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(DataDirError);
      expect((refused as Error).message).toMatch(/already holds node 4's data .* only for an acceptor whose data was lost/);
      const plain = await AcceptorStorage.open({ dataDir: used, nodeId: 4 });
      expect(plain.recovered.rejoin).toBeUndefined();
      await plain.storage.close();
    } finally {
      cleanUsed();
    }
  });

  it('stamps a dir made before the size was recorded with the size it is started with', async () => {
    const { storage } = await AcceptorStorage.open({ dataDir: dir, nodeId: 2 });
    await storage.close();
    await (await AcceptorStorage.open({ dataDir: dir, nodeId: 2, clusterSize: 23 })).storage.close();
    expect(JSON.parse(readFileSync(path.join(dir, 'node.json'), 'utf8'))).toMatchObject({ nodeId: 2, clusterSize: 23 });
    await expect(AcceptorStorage.open({ dataDir: dir, nodeId: 2, clusterSize: 5 })).rejects.toThrow(/made for a network of 23 acceptors/);
  });

  it('refuses a data dir that cannot be created or written', async () => {
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    const err = await AcceptorStorage.open({ dataDir: path.join(file, 'sub'), nodeId: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirError);
    expect((err as Error).message).toMatch(/cannot create the acceptor data dir .*a-file\/sub .*writable directory/);
    await expect(AcceptorStorage.open({ dataDir: file, nodeId: 1 })).rejects.toBeInstanceOf(DataDirError);
  });

  it('refuses a dir of votes that is not writable, saying to mend it rather than start elsewhere', async () => {
    const { storage } = await AcceptorStorage.open({ dataDir: dir, nodeId: 3 });
    await storage.append(change(0));
    await storage.close();
    // Read-only for its owner; root writes through modes, so there the immutable flag (ext4) is set.
    await fsp.chmod(dir, 0o500);
    let immutable = false;
    try {
      const probe = path.join(dir, 'probe');
      const writable = await fsp.writeFile(probe, 'x').then(() => fsp.unlink(probe).then(() => true), () => false);
      if (writable) immutable = spawnSync('chattr', ['+i', dir]).status === 0;
      if (writable && !immutable) {
        console.log('data dir spec: this user writes through modes and chattr is not available here: the unwritable dir is not tried');
        return;
      }
      const err = await AcceptorStorage.open({ dataDir: dir, nodeId: 3 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataDirError);
      expect((err as Error).message).toMatch(/is not writable .*start it again on this dir: it holds this acceptor's promises and votes/);
      expect((err as Error).message).not.toMatch(/point the data dir at/);
    } finally {
      if (immutable) spawnSync('chattr', ['-i', dir]);
      await fsp.chmod(dir, 0o700);
    }
  });

  it('refuses a dir that can be neither written nor listed (another owner, mode 0700) without advising another dir', async () => {
    const { storage } = await AcceptorStorage.open({ dataDir: dir, nodeId: 3 });
    await storage.append(change(0));
    await storage.close();
    // As the acceptor's user sees a dir of votes chowned to another user: root passes modes, so
    // the two refusals are made here.
    const denied = (syscall: string) => Object.assign(new Error(`EACCES: permission denied, ${syscall} '${dir}'`), { code: 'EACCES' });
    const open = jest.spyOn(fsp, 'open').mockRejectedValueOnce(denied('open'));
    const readdir = jest.spyOn(fsp, 'readdir').mockRejectedValueOnce(denied('scandir'));
    try {
      const err = await AcceptorStorage.open({ dataDir: dir, nodeId: 3 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataDirError);
      expect((err as Error).message).toMatch(/is not writable .*start it again on this dir/);
      expect((err as Error).message).not.toMatch(/point the data dir at/);
    } finally {
      open.mockRestore();
      readdir.mockRestore();
    }
  });

  it('refuses log files without node.json, and a dir open twice', async () => {
    const { storage } = await AcceptorStorage.open({ dataDir: dir, nodeId: 2 });
    await expect(AcceptorStorage.open({ dataDir: dir, nodeId: 2 })).rejects.toThrow(/already open in this process/);
    await storage.close();
    await fsp.rm(path.join(dir, 'node.json'));
    await expect(AcceptorStorage.open({ dataDir: dir, nodeId: 2 })).rejects.toThrow(/no node\.json/);
  });
});
