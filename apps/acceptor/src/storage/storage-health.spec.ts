import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AcceptorStorage } from './acceptor-storage';
import { StorageOverloadedError, StorageUnavailableError } from './errors';
import { change, tempDir } from './storage-test-helpers';

/** Waits for the repair timer to make the storage healthy; throws once 10 s pass without it. */
async function repaired(storage: AcceptorStorage): Promise<void> {
  const until = Date.now() + 10_000;
  while (!storage.healthy) {
    if (Date.now() > until) throw new Error(`storage still unhealthy after 10 s: ${storage.lastError}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Waits for a repair to report the failure `pattern` names; throws once 10 s pass without it (a slow machine's timers run late). */
async function reported(storage: AcceptorStorage, pattern: RegExp): Promise<void> {
  const until = Date.now() + 10_000;
  while (!pattern.test(storage.lastError ?? '')) {
    if (Date.now() > until) throw new Error(`no failure matching ${pattern} after 10 s: ${storage.lastError}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('storage health', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('an fdatasync error makes storage unhealthy, refuses appends, then recovers', async () => {
    let failures = 0;
    const { storage } = await AcceptorStorage.open({
      dataDir: dir,
      nodeId: 4,
      repairIntervalMs: 10,
      testHooks: {
        beforeLogSync: () => {
          if (failures > 0) {
            failures--;
            throw Object.assign(new Error('input/output error'), { code: 'EIO' });
          }
        },
      },
    });
    await storage.append(change(0));
    failures = 1;
    await expect(storage.append(change(1))).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(storage.healthy).toBe(false);
    expect(storage.lastError).toMatch(/fdatasync of .*log-0000000000000001\.wal failed: EIO/);
    await expect(storage.append(change(2))).rejects.toThrow(/storage is unhealthy: .*EIO/);
    await expect(storage.checkpoint({ promised: { round: 1n, proposerId: 1 }, accepted: [], chosen: [], committedIndex: 0n })).rejects.toBeInstanceOf(
      StorageUnavailableError,
    );

    await repaired(storage);
    expect(storage.healthy).toBe(true);
    expect(storage.lastError).toBeUndefined();
    await storage.append(change(3));
    await storage.close();

    const again = await AcceptorStorage.open({ dataDir: dir, nodeId: 4 });
    // The record whose fdatasync failed was never acknowledged and was truncated away by the repair.
    expect(again.recovered.changes).toEqual([change(0), change(3)]);
    expect(again.recovered.warnings).toEqual([]);
    await again.storage.close();
  });

  it('logs a failure that repeats after each repair once, until a write succeeds', async () => {
    let failing = true;
    const lines: string[] = [];
    const logger = { error: (_: unknown, msg: string) => lines.push(`error ${msg}`), warn: (_: unknown, msg: string) => lines.push(`warn ${msg}`), info: () => undefined, debug: () => undefined };
    const { storage } = await AcceptorStorage.open({
      dataDir: dir,
      nodeId: 4,
      repairIntervalMs: 5,
      logger: logger as never,
      testHooks: {
        beforeLogSync: () => {
          if (failing) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
        },
      },
    });
    // A disk that stays full: each repair (a truncate) works, and the next write fails the same way.
    for (let i = 0; i < 5; i++) {
      await repaired(storage);
      await expect(storage.append(change(i))).rejects.toBeInstanceOf(StorageUnavailableError);
    }
    expect(lines.filter((l) => l.includes('storage failed'))).toHaveLength(1);
    // Space again: a write succeeds, and a later failure is news again.
    failing = false;
    await repaired(storage);
    await storage.append(change(10));
    failing = true;
    await expect(storage.append(change(11))).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(lines.filter((l) => l.includes('storage failed'))).toHaveLength(2);
    expect(lines.filter((l) => !l.includes('storage failed'))).toEqual([]);
    failing = false;
    await repaired(storage);
    await storage.close();
  });

  it('refuses to acknowledge once its active log segment was deleted under it, and stays failed', async () => {
    const { storage } = await AcceptorStorage.open({ dataDir: dir, nodeId: 4, repairIntervalMs: 5 });
    await storage.append(change(0));
    const segment = path.join(dir, 'log-0000000000000001.wal');
    rmSync(segment);
    // The write and its fdatasync succeed (the open descriptor still reaches the unlinked file), but
    // no restart would find the record: it must not be acknowledged.
    await expect(storage.append(change(1))).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(storage.healthy).toBe(false);
    expect(storage.lastError).toMatch(/log-0000000000000001\.wal was deleted while this acceptor was writing it.*npm run rejoin/);
    // Not repaired in place: a repair would reopen the name and cut or extend whatever is there.
    await new Promise((r) => setTimeout(r, 50));
    expect(storage.healthy).toBe(false);
    expect(existsSync(segment)).toBe(false);
    await expect(storage.append(change(2))).rejects.toThrow(/storage is unhealthy: .*was deleted/);
    await storage.close();
    // Without the segment the dir looks like a fresh one: a restart must refuse it, not start empty.
    await expect(AcceptorStorage.open({ dataDir: dir, nodeId: 4 })).rejects.toThrow(/log-lost\.txt at byte offset 0: .*was deleted while this acceptor was writing it.*Refusing to start/);
  });

  it('does not repair a log segment replaced by a shorter file', async () => {
    const { storage, segment, heal } = await failedOnce();
    rmSync(segment);
    writeFileSync(segment, '');
    heal();
    // The descriptor the writer holds says its file was unlinked (a fixed wait would race a slow repair timer).
    await reported(storage, /was deleted while this acceptor was writing it/);
    expect(storage.healthy).toBe(false);
    expect(readFileSync(segment).length).toBe(0);
    await storage.close();
    await expect(AcceptorStorage.open({ dataDir: dir, nodeId: 4 })).rejects.toThrow(/log-lost\.txt at byte offset 0: .*was deleted while this acceptor was writing it/);
  });

  /** Storage whose next fdatasync fails with EIO, then (after `heal`) repairs on a 5 ms timer. */
  async function failedOnce(): Promise<{ storage: AcceptorStorage; segment: string; heal: () => void }> {
    let failing = false;
    const { storage } = await AcceptorStorage.open({
      dataDir: dir,
      nodeId: 4,
      repairIntervalMs: 5,
      testHooks: { beforeLogSync: () => { if (failing) throw Object.assign(new Error('input/output error'), { code: 'EIO' }); } },
    });
    await storage.append(change(0));
    failing = true;
    await expect(storage.append(change(1))).rejects.toBeInstanceOf(StorageUnavailableError);
    return { storage, segment: path.join(dir, 'log-0000000000000001.wal'), heal: () => (failing = false) };
  }

  it('a segment moved away while storage was failed is recorded lost, not repaired forever and then restarted without it', async () => {
    const { storage, segment, heal } = await failedOnce();
    renameSync(segment, `${segment}.moved`); // the descriptor's file keeps its link: only the name is gone
    heal();
    await reported(storage, /was deleted or moved away while this acceptor was writing it/);
    expect(storage.healthy).toBe(false);
    await storage.close();
    await expect(AcceptorStorage.open({ dataDir: dir, nodeId: 4 })).rejects.toThrow(/log-lost\.txt at byte offset 0: .*moved away/);
  });

  it('a segment replaced by a longer file while storage was failed is left as it is, not cut to the durable end', async () => {
    const { storage, segment, heal } = await failedOnce();
    renameSync(segment, `${segment}.moved`);
    const foreign = Buffer.alloc(storage.stats().logBytes + 4096, 7);
    writeFileSync(segment, foreign);
    heal();
    await reported(storage, /was replaced by another file while this acceptor was writing it/);
    expect(storage.healthy).toBe(false);
    expect(readFileSync(segment).equals(foreign)).toBe(true);
    await storage.close();
    await expect(AcceptorStorage.open({ dataDir: dir, nodeId: 4 })).rejects.toThrow(/log-lost\.txt at byte offset 0: .*replaced by another file/);
  });

  it('a segment deleted while the node was idle is recorded lost when it stops, so the restart refuses what is left', async () => {
    const { storage } = await AcceptorStorage.open({ dataDir: dir, nodeId: 4 });
    await storage.append(change(0));
    rmSync(path.join(dir, 'log-0000000000000001.wal'));
    await storage.close();
    await expect(AcceptorStorage.open({ dataDir: dir, nodeId: 4 })).rejects.toThrow(/log-lost\.txt at byte offset 0: .*log-0000000000000001\.wal was deleted while this acceptor ran/);
  });

  it('a log-lost.txt that cannot be read whole still refuses the start (a directory, a file past what readFile takes)', async () => {
    const { storage } = await AcceptorStorage.open({ dataDir: dir, nodeId: 4 });
    await storage.append(change(0));
    await storage.close();
    const marker = path.join(dir, 'log-lost.txt');
    mkdirSync(marker);
    await expect(AcceptorStorage.open({ dataDir: dir, nodeId: 4 })).rejects.toThrow(/log-lost\.txt at byte offset 0: the vote log was lost while this acceptor ran \(the file that records it cannot be read: EISDIR\)/);
    rmSync(marker, { recursive: true });
    // Sparse: 3 GiB of holes, past the 2 GiB a single readFile returns.
    writeFileSync(marker, 'the segment was deleted');
    truncateSync(marker, 3 * 2 ** 30);
    await expect(AcceptorStorage.open({ dataDir: dir, nodeId: 4 })).rejects.toThrow(/log-lost\.txt at byte offset 0: the segment was deleted/);
  });

  it('bounds the write queue', async () => {
    const { storage } = await AcceptorStorage.open({ dataDir: dir, nodeId: 4, maxPendingRecords: 10 });
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => storage.append(change(i))));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StorageOverloadedError);
    expect(storage.healthy).toBe(true);
    await storage.close();
  });
});
