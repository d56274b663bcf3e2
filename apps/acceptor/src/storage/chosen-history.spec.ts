import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { ChosenHistory, HISTORY_DIR, INDEX_FIRST_FILE, historySegmentName } from './chosen-history';
import type { ChosenRecord } from './durable-types';
import { StorageCorruptionError } from './errors';
import { LEGACY_HISTORY_FILE } from './legacy-history';
import { RecordType, encodeSnapshotEntry } from './record-codec';
import { ballot, tempDir } from './storage-test-helpers';

const record = (slot: number, bytes = 40): ChosenRecord => ({
  slot: BigInt(slot),
  ballot: ballot(1 + (slot % 5)),
  value: slot % 7 === 3 ? { kind: 'noop' } : { kind: 'batch', commands: [{ clientRequestId: `c${slot}`, contentType: 'text/plain', data: Buffer.alloc(bytes, slot & 0xff) }] },
});
const records = (from: number, to: number, bytes?: number) => Array.from({ length: to - from }, (_, i) => record(from + i, bytes));
const slots = (rs: readonly ChosenRecord[]) => rs.map((r) => Number(r.slot));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('ChosenHistory (segment files)', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('chosen-history-')));
  afterEach(() => cleanup());

  it('reads back what was appended, before and after the write, and after reopening', () => {
    const h = ChosenHistory.open(dir);
    expect(h.created).toBe(true);
    h.append(records(0, 10));
    expect(slots(h.read(0n, 100, 1 << 20))).toEqual(range(0, 10)); // pending, not written yet
    h.flush();
    h.append(records(10, 20));
    expect(slots(h.read(5n, 100, 1 << 20))).toEqual(range(5, 20)); // written, then pending
    expect(h.read(7n, 1, 1 << 20)[0]).toEqual(record(7));
    h.joined();
    h.close();
    const again = ChosenHistory.open(dir);
    expect(again.created).toBe(false);
    expect([again.firstSlot, again.endSlot]).toEqual([0n, 20n]);
    expect(again.read(0n, 100, 1 << 20)).toEqual(records(0, 20));
    again.close();
  });

  it('counts as created until joined: a crash between making it and joining it is found at the next start', () => {
    const h = ChosenHistory.open(dir);
    expect(h.created).toBe(true);
    h.close(); // killed before joinChosenHistory ran
    const again = ChosenHistory.open(dir);
    expect(again.created).toBe(true);
    again.startAt(50n);
    again.joined();
    again.close();
    const third = ChosenHistory.open(dir);
    expect([third.created, third.firstSlot, third.endSlot]).toEqual([false, 50n, 50n]);
    third.close();
  });

  it('a failed write throws a message naming the segment and whether it heals, not the bare errno text', () => {
    const h = ChosenHistory.open(dir);
    // The segment's descriptor swapped for a read-only one: the next write fails (EBADF) as a disk would.
    const inner = h as unknown as { fd: number };
    fs.closeSync(inner.fd);
    inner.fd = fs.openSync(path.join(dir, HISTORY_DIR, historySegmentName(0n)), 'r');
    // What the node puts in Status and in its INTERNAL answers is this message.
    expect(() => h.append(records(0, 300))).toThrow(/^the chosen history cannot be written: writing .*chosen-0{20}\.seg failed: EBADF.*restart the acceptor once the cause is fixed/);
    expect(h.healthy).toBe(false);
    expect(() => h.close()).toThrow(/cannot be written/);
  });

  it('after a write that failed for want of space, repairs itself in place; after an I/O error, stays failed until a restart', () => {
    const h = ChosenHistory.open(dir);
    h.append(records(0, 10));
    h.flush();
    // As a write that failed half-way (ENOSPC) leaves it: the failure, and bytes past the last whole record.
    const file = path.join(dir, HISTORY_DIR, historySegmentName(0n));
    const whole = readFileSync(file).length;
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from('half a frame')]));
    const failed = h as unknown as { failure?: string; failureCode?: string };
    failed.failure = 'ENOSPC: no space left on device, write';
    failed.failureCode = 'ENOSPC';
    expect(h.healthy).toBe(false);
    expect(() => h.append(records(10, 11))).toThrow(/cannot be written: ENOSPC/);
    expect(h.repair()).toBe(true);
    expect(readFileSync(file).length).toBe(whole);
    h.append(records(10, 12));
    h.sync();
    expect(h.read(0n, 100, 1 << 20)).toEqual(records(0, 12));
    // A failed fdatasync may have dropped written pages the page cache still shows: not repaired in place.
    failed.failure = 'EIO: i/o error, fdatasync';
    failed.failureCode = 'EIO';
    expect(h.repair()).toBe(false);
    expect(h.healthy).toBe(false);
    expect(() => h.close()).toThrow(/cannot be written/);
    const reopened = ChosenHistory.open(dir);
    expect(reopened.read(0n, 100, 1 << 20)).toEqual(records(0, 12));
    reopened.close();
  });

  it('a failed fdatasync leaves it failed, whatever the error says (never repaired in place)', () => {
    const h = ChosenHistory.open(dir);
    h.append(records(0, 10));
    h.flush();
    // The written pages reach the file; its sync then fails (/dev/null cannot be synced: EINVAL).
    const held = h as unknown as { fd: number };
    const fd = held.fd;
    held.fd = fs.openSync('/dev/null', 'r+');
    expect(() => h.sync()).toThrow(/EINVAL/);
    fs.closeSync(held.fd);
    held.fd = fd;
    expect(h.healthy).toBe(false);
    expect(h.repair()).toBe(false);
    expect(() => h.append(records(10, 11))).toThrow(/cannot be written: syncing .*chosen-0+\.seg failed: EINVAL/);
    expect(() => h.close()).toThrow(/cannot be written/);
  });

  it('reads a damaged record length in a sealed segment as corruption, without reading what it names', () => {
    const h = ChosenHistory.open(dir, { segmentBytes: 1024 });
    h.append(records(0, 100));
    h.close();
    const first = path.join(dir, HISTORY_DIR, historySegmentName(0n));
    const bytes = readFileSync(first);
    bytes.writeUInt32LE(0xfffffff0, 0); // slot 0's length: 4 GiB
    writeFileSync(first, bytes);
    const again = ChosenHistory.open(dir, { segmentBytes: 1024 }); // a sealed segment's index is trusted: no scan
    expect(() => again.read(1n, 10, 1 << 20)).toThrow(StorageCorruptionError);
    expect(() => again.read(1n, 10, 1 << 20)).toThrow(/a record of 4294967280 bytes at slot 0 runs past the segment/);
    again.close();
  });

  it('bounds a read by entries and bytes (at least one entry), from any slot', () => {
    const h = ChosenHistory.open(dir);
    h.append(records(0, 300, 1000));
    h.flush();
    expect(slots(h.read(130n, 5, 1 << 20))).toEqual(range(130, 135));
    expect(h.read(200n, 100, 4500).length).toBeLessThanOrEqual(5);
    expect(h.read(200n, 100, 10).length).toBe(1);
    expect(h.read(300n, 10, 1 << 20)).toEqual([]);
    h.close();
  });

  it('seals full segments, reads across them, and drops whole segments below a slot', () => {
    const h = ChosenHistory.open(dir, { segmentBytes: 4096 });
    for (let s = 0; s < 500; s += 50) {
      h.append(records(s, s + 50, 100));
      h.flush();
    }
    const segs = readdirSync(path.join(dir, HISTORY_DIR)).filter((n) => n.endsWith('.seg'));
    expect(segs.length).toBeGreaterThan(5);
    expect(h.read(0n, 1000, 1 << 30)).toEqual(records(0, 500, 100));
    const first = h.dropBelow(250n);
    expect(first).toBeLessThanOrEqual(250n);
    expect(first).toBeGreaterThan(200n);
    expect(h.read(first - 1n, 10, 1 << 20)).toEqual([]);
    expect(slots(h.read(first, 1000, 1 << 30))).toEqual(range(Number(first), 500));
    h.close();
    const again = ChosenHistory.open(dir, { segmentBytes: 4096 });
    expect([again.firstSlot, again.endSlot]).toEqual([first, 500n]);
    again.close();
  });

  it('reports as durable only what it synced: at a sync, at a seal, and everything it holds once reopened', () => {
    const h = ChosenHistory.open(dir, { segmentBytes: 4096 });
    expect(h.durableEnd).toBe(0n);
    h.append(records(0, 10, 100));
    h.flush(); // written, not synced: a power loss may take it
    expect(h.durableEnd).toBe(0n);
    h.sync();
    expect(h.durableEnd).toBe(10n);
    // Past a segment's size the next write seals it (synced) and writes on in a new one.
    h.append(records(10, 60, 100));
    h.flush();
    expect(h.durableEnd).toBeGreaterThan(10n);
    expect(h.durableEnd).toBeLessThan(60n);
    h.append(records(60, 70, 100)); // pending: not even written
    h.close(); // syncs
    const again = ChosenHistory.open(dir, { segmentBytes: 4096 });
    expect(again.durableEnd).toBe(70n);
    again.restartAt(200n);
    expect([again.firstSlot, again.durableEnd]).toEqual([200n, 200n]);
    // Killed after a write, before any sync: the next start syncs what it finds.
    again.append(records(200, 205, 100));
    again.flush();
    expect(again.durableEnd).toBe(200n);
    const afterKill = ChosenHistory.open(dir, { segmentBytes: 4096 });
    expect([afterKill.endSlot, afterKill.durableEnd]).toEqual([205n, 205n]);
    afterKill.close();
    again.close();
  });

  it('drops exactly the segments wholly below the slot: the one holding it stays, whatever slot it is', () => {
    const h = ChosenHistory.open(dir, { segmentBytes: 2048 });
    h.append(records(0, 300, 100));
    h.flush();
    const starts = readdirSync(path.join(dir, HISTORY_DIR))
      .filter((n) => n.endsWith('.seg'))
      .sort()
      .map((n) => Number(/^chosen-(\d+)\.seg$/.exec(n)?.[1]));
    expect(starts.length).toBeGreaterThan(4);
    // Each segment start b, and the slot just below it (the last slot of the segment before).
    for (let i = 1; i < starts.length; i++) {
      const b = starts[i] as number;
      expect(h.dropBelow(BigInt(b - 1))).toBe(BigInt(starts[i - 1] as number));
      expect(slots(h.read(BigInt(b - 1), 1, 1 << 20))).toEqual([b - 1]);
      expect(h.dropBelow(BigInt(b))).toBe(BigInt(b));
    }
    expect(slots(h.read(h.firstSlot, 1000, 1 << 30))).toEqual(range(starts[starts.length - 1] as number, 300));
    h.close();
  });

  it('scans a sealed segment again when its index, whole under its CRC, lists another number of offsets than its slots need', () => {
    const h = ChosenHistory.open(dir, { segmentBytes: 16384 });
    h.append(records(0, 300, 100));
    h.close();
    const idx = path.join(dir, HISTORY_DIR, historySegmentName(0n).replace('.seg', '.idx'));
    const body = readFileSync(idx);
    const count = body.readUInt32LE(20);
    expect(count).toBeGreaterThan(1);
    // One offset fewer (as a faulty writer could leave it), under a CRC that holds.
    const short = Buffer.from(body.subarray(0, body.length - 8));
    short.writeUInt32LE(count - 1, 20);
    short.writeUInt32LE(crc32(short.subarray(4)), 0);
    writeFileSync(idx, short);
    const again = ChosenHistory.open(dir, { segmentBytes: 16384 });
    expect(again.read(0n, 1000, 1 << 30)).toEqual(records(0, 300, 100));
    again.close();
    expect(readFileSync(idx)).toEqual(body); // indexed again
  });

  it('starts an empty history at a slot', () => {
    const h = ChosenHistory.open(dir);
    h.startAt(1000n);
    h.append(records(1000, 1003));
    h.close();
    const again = ChosenHistory.open(dir);
    expect([again.firstSlot, again.endSlot]).toEqual([1000n, 1003n]);
    expect(again.read(999n, 10, 1 << 20)).toEqual([]);
    again.close();
  });

  it('ends the last segment at its first bad frame, names what it dropped, and cuts the file only when it writes again', () => {
    const h = ChosenHistory.open(dir);
    h.append(records(0, 20));
    h.close();
    const file = path.join(dir, HISTORY_DIR, historySegmentName(0n));
    const bytes = readFileSync(file);
    const cut = Math.floor(bytes.length * 0.6);
    bytes[cut] ^= 0x10;
    writeFileSync(file, bytes);
    const again = ChosenHistory.open(dir);
    expect(again.repaired).toMatch(/dropped/);
    expect(again.endSlot).toBeLessThan(20n);
    expect(again.read(0n, 100, 1 << 20)).toEqual(records(0, Number(again.endSlot)));
    // A node that then refuses to start (the damage reached a synced record) leaves the file as it was.
    again.close();
    expect(readFileSync(file)).toEqual(bytes);
    const third = ChosenHistory.open(dir);
    expect(third.endSlot).toBe(again.endSlot);
    third.append(records(Number(third.endSlot), 20)); // refilled (by the vote log, in the node)
    third.close();
    expect(ChosenHistory.open(dir).endSlot).toBe(20n);
  });

  it('cuts the damaged end of the last segment before it seals it', () => {
    const h = ChosenHistory.open(dir, { segmentBytes: 1024 });
    h.append(records(0, 8, 100));
    h.close();
    const file = path.join(dir, HISTORY_DIR, historySegmentName(0n));
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from('the remains of a write')]));
    const again = ChosenHistory.open(dir, { segmentBytes: 1024 });
    expect(again.repaired).toMatch(/dropped/);
    again.append(records(8, 40, 100));
    again.close();
    const reopened = ChosenHistory.open(dir, { segmentBytes: 1024 });
    expect(reopened.read(0n, 100, 1 << 20)).toEqual(records(0, 40, 100));
    reopened.close();
  });

  it('reads a sealed segment cut short under the running node as corruption naming it, not a RangeError', () => {
    const h = ChosenHistory.open(dir, { segmentBytes: 2048 });
    h.append(records(0, 100, 100));
    h.flush();
    const first = path.join(dir, HISTORY_DIR, historySegmentName(0n));
    for (const size of [1000, 1003, 0]) {
      fs.truncateSync(first, size);
      expect(() => h.read(0n, 1000, 1 << 30)).toThrow(StorageCorruptionError);
      expect(() => h.read(0n, 1000, 1 << 30)).toThrow(/chosen-0{20}\.seg at byte offset/);
    }
    h.close();
  });

  it('opens sealed segments from their index, rescans a bad index, and refuses a damaged sealed segment', () => {
    const h = ChosenHistory.open(dir, { segmentBytes: 2048 });
    h.append(records(0, 100, 100));
    h.close();
    const idx = path.join(dir, HISTORY_DIR, historySegmentName(0n).replace('.seg', '.idx'));
    expect(existsSync(idx)).toBe(true);
    const bad = readFileSync(idx);
    bad[bad.length - 1] ^= 0x01;
    writeFileSync(idx, bad);
    const rescanned = ChosenHistory.open(dir, { segmentBytes: 2048 });
    expect(rescanned.read(0n, 1000, 1 << 30)).toEqual(records(0, 100, 100));
    rescanned.close();
    expect(readFileSync(idx).equals(bad)).toBe(false); // written again
    const file = path.join(dir, HISTORY_DIR, historySegmentName(0n));
    const bytes = readFileSync(file);
    bytes[100] ^= 0x01;
    writeFileSync(file, bytes);
    const indexed = ChosenHistory.open(dir, { segmentBytes: 2048 });
    expect(() => indexed.read(0n, 1000, 1 << 30)).toThrow(StorageCorruptionError); // found when read
    indexed.close();
    rmSync(idx);
    expect(() => ChosenHistory.open(dir, { segmentBytes: 2048 })).toThrow(/sealed segment/); // found when scanned
  });

  it('moves a legacy SQLite history in, then removes the database', () => {
    const db = new Database(path.join(dir, LEGACY_HISTORY_FILE));
    db.exec('CREATE TABLE chosen (slot INTEGER PRIMARY KEY, entry BLOB NOT NULL) WITHOUT ROWID; CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY NOT NULL) WITHOUT ROWID;');
    db.prepare("INSERT INTO meta(key, value) VALUES ('first_slot', ?)").run(40n);
    const ins = db.prepare('INSERT INTO chosen(slot, entry) VALUES (?, ?)');
    db.transaction(() => {
      for (const r of records(40, 3000)) ins.run(r.slot, encodeSnapshotEntry(RecordType.SnapChosen, r));
    })();
    db.close();
    const h = ChosenHistory.open(dir);
    expect(h.created).toBe(false);
    expect([h.firstSlot, h.endSlot]).toEqual([40n, 3000n]);
    expect(h.read(2990n, 100, 1 << 20)).toEqual(records(2990, 3000));
    expect(existsSync(path.join(dir, LEGACY_HISTORY_FILE))).toBe(false);
    h.close();
  });

  it('redoes a move of the legacy history that a crash cut short, and finishes one cut after it', () => {
    const legacy = () => {
      const db = new Database(path.join(dir, LEGACY_HISTORY_FILE));
      db.exec('CREATE TABLE IF NOT EXISTS chosen (slot INTEGER PRIMARY KEY, entry BLOB NOT NULL) WITHOUT ROWID');
      const ins = db.prepare('INSERT OR REPLACE INTO chosen(slot, entry) VALUES (?, ?)');
      db.transaction(() => {
        for (const r of records(0, 500)) ins.run(r.slot, encodeSnapshotEntry(RecordType.SnapChosen, r));
      })();
      db.close();
    };
    legacy();
    // Cut short: a partial copy in the staging directory, the legacy database still there.
    mkdirSync(path.join(dir, `${HISTORY_DIR}.migrating`));
    writeFileSync(path.join(dir, `${HISTORY_DIR}.migrating`, historySegmentName(0n)), Buffer.from([1, 2, 3]));
    let h = ChosenHistory.open(dir);
    expect([h.firstSlot, h.endSlot]).toEqual([0n, 500n]);
    h.close();
    expect(existsSync(path.join(dir, `${HISTORY_DIR}.migrating`))).toBe(false);
    // Cut after the copy became the history but before the database was removed.
    legacy();
    h = ChosenHistory.open(dir);
    expect(h.read(0n, 1000, 1 << 30)).toEqual(records(0, 500));
    expect(existsSync(path.join(dir, LEGACY_HISTORY_FILE))).toBe(false);
    h.close();
  });

  it('opens a history that startAt() left with an empty old first segment', () => {
    const h = ChosenHistory.open(dir);
    h.startAt(700n);
    h.append(records(700, 710));
    h.close();
    writeFileSync(path.join(dir, HISTORY_DIR, historySegmentName(0n)), Buffer.alloc(0)); // as if the removal never happened
    const again = ChosenHistory.open(dir);
    expect([again.firstSlot, again.endSlot]).toEqual([700n, 710n]);
    again.close();
  });

  it('restarts at a slot above what it holds (an installed snapshot), also when a crash cut the restart short', () => {
    const h = ChosenHistory.open(dir, { segmentBytes: 1024 });
    h.joined();
    h.append(records(0, 100));
    h.sync();
    const old = readdirSync(path.join(dir, HISTORY_DIR)).filter((n) => n.endsWith('.seg'));
    const kept = old.map((n) => [n, readFileSync(path.join(dir, HISTORY_DIR, n))] as const);
    expect(() => h.restartAt(50n)).toThrow(/assertion/);
    h.restartAt(5000n);
    h.append(records(5000, 5010));
    expect([h.firstSlot, h.endSlot]).toEqual([5000n, 5010n]);
    expect(h.read(10n, 10, 1 << 20)).toEqual([]);
    h.close();
    // As if the crash came before the old segments were removed: without restartAt's marker the
    // gap is corruption; with it, opening finishes the restart.
    for (const [n, bytes] of kept) writeFileSync(path.join(dir, HISTORY_DIR, n), bytes);
    writeFileSync(path.join(dir, HISTORY_DIR, historySegmentName(5000n)), Buffer.alloc(0));
    expect(() => ChosenHistory.open(dir)).toThrow(StorageCorruptionError);
    writeFileSync(path.join(dir, HISTORY_DIR, `restart-${'5000'.padStart(20, '0')}`), Buffer.alloc(0));
    const again = ChosenHistory.open(dir);
    expect([again.firstSlot, again.endSlot]).toEqual([5000n, 5000n]);
    expect(readdirSync(path.join(dir, HISTORY_DIR)).filter((n) => !n.endsWith('.idx') && n !== INDEX_FIRST_FILE)).toEqual([historySegmentName(5000n)]);
    again.close();
  });

  it('finishes a restart cut short by a power loss that also tore the end of the segment it replaces', () => {
    const h = ChosenHistory.open(dir, { segmentBytes: 1024 });
    h.joined();
    h.append(records(0, 100));
    h.flush(); // the end of the last segment is not synced: a power loss may tear it
    h.restartAt(5000n);
    h.close();
    const names = readdirSync(path.join(dir, HISTORY_DIR));
    expect(names.filter((n) => n.endsWith('.seg'))).toEqual([historySegmentName(5000n)]);
    // As the disk may show it after a power loss before the old segments' removal was durable:
    // restartAt's marker and new segment (made durable first), and the old segments, the last one
    // with the remains of a write that never reached the disk whole.
    mkdirSync(path.join(dir, 'before'));
    const again = ChosenHistory.open(path.join(dir, 'before'), { segmentBytes: 1024 });
    again.append(records(0, 100));
    again.close();
    const before = path.join(dir, 'before', HISTORY_DIR);
    const old = readdirSync(before).filter((n) => n.endsWith('.seg') || n.endsWith('.idx'));
    for (const n of old) writeFileSync(path.join(dir, HISTORY_DIR, n), readFileSync(path.join(before, n)));
    const lastOld = old.filter((n) => n.endsWith('.seg')).sort().at(-1) as string;
    fs.appendFileSync(path.join(dir, HISTORY_DIR, lastOld), Buffer.concat([Buffer.from([200, 0, 0, 0, 1, 2, 3, 4]), Buffer.alloc(30, 9)]));
    writeFileSync(path.join(dir, HISTORY_DIR, historySegmentName(5000n)), Buffer.alloc(0));
    writeFileSync(path.join(dir, HISTORY_DIR, `restart-${'5000'.padStart(20, '0')}`), Buffer.alloc(0));
    const reopened = ChosenHistory.open(dir, { segmentBytes: 1024 });
    expect([reopened.firstSlot, reopened.endSlot]).toEqual([5000n, 5000n]);
    expect(readdirSync(path.join(dir, HISTORY_DIR)).filter((n) => n.endsWith('.seg') || n.endsWith('.idx') || n.startsWith('restart-'))).toEqual([historySegmentName(5000n)]);
    reopened.close();
  });

  it('still refuses a gap before a last segment that holds records', () => {
    const h = ChosenHistory.open(dir, { segmentBytes: 1024 });
    h.append(records(0, 100));
    h.close();
    const names = readdirSync(path.join(dir, HISTORY_DIR)).filter((n) => n.endsWith('.seg')).sort();
    expect(names.length).toBeGreaterThan(2);
    rmSync(path.join(dir, HISTORY_DIR, names[1] as string));
    rmSync(path.join(dir, HISTORY_DIR, (names[1] as string).replace('.seg', '.idx')), { force: true });
    expect(() => ChosenHistory.open(dir)).toThrow(StorageCorruptionError);
  });

  it('refuses a sealed segment emptied by damage instead of dropping it as startAt() leftover (review rv-disk)', () => {
    const h = ChosenHistory.open(dir, { segmentBytes: 2048 });
    h.append(records(0, 100, 100));
    h.close();
    const first = path.join(dir, HISTORY_DIR, historySegmentName(0n));
    expect(existsSync(first.replace('.seg', '.idx'))).toBe(true);
    writeFileSync(first, Buffer.alloc(0));
    expect(() => ChosenHistory.open(dir, { segmentBytes: 2048 })).toThrow(/empty, but its index says it held records/);
    expect(existsSync(first)).toBe(true); // left as found
  });

  it('refuses a last segment renamed to start at another slot, instead of emptying it and starting the history at the slot in its name', () => {
    const h = ChosenHistory.open(dir);
    h.append(records(0, 10));
    h.close();
    const from = path.join(dir, HISTORY_DIR, historySegmentName(0n));
    const to = path.join(dir, HISTORY_DIR, historySegmentName(3n));
    fs.renameSync(from, to);
    const before = readFileSync(to);
    expect(() => ChosenHistory.open(dir)).toThrow(/name says it starts at slot 3, but its first record, whole, is slot 0's/);
    expect(readFileSync(to)).toEqual(before);
  });
});
