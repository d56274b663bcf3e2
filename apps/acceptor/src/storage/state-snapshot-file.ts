// A durable snapshot of the agreed state (the state machine applied up to a slot), so that a
// restart applies the history from that slot instead of from the first one. It is derived data:
// the chosen history can always rebuild it, so a missing or damaged file is reported and ignored,
// never fatal, while the history still holds what it covers. Written whole to a temporary file,
// synced, then renamed into place; the snapshot it replaces, when whole, stays beside it as the
// previous one (state.snapshot.prev), so one damaged file never costs the state: a history kept under a
// retention flag is dropped only below the previous snapshot (libs/acceptor-node/src/history-retention.ts).
//
// Layout: magic "PXSTATE1", slot (u64 LE), body length (u64 LE), CRC-32 of the body (u32 LE), body.
import { promises as fsp, readFileSync, statSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import type { SnapshotGeneration, StateSnapshotStore, StoredStateSnapshot } from '@paxos/acceptor-node';
import { fsyncDir } from './data-dir';

export const STATE_SNAPSHOT_FILE = 'state.snapshot';
export const PREVIOUS_STATE_SNAPSHOT_FILE = 'state.snapshot.prev';

/** The two snapshot files of a data dir as the acceptor node's snapshot store. */
export function stateSnapshotFiles(dir: string): StateSnapshotStore {
  return { write: (slot, body) => writeStateSnapshot(dir, slot, body), read: (generation) => readStateSnapshot(dir, generation) };
}
const fileOf = (g: SnapshotGeneration) => (g === 'latest' ? STATE_SNAPSHOT_FILE : PREVIOUS_STATE_SNAPSHOT_FILE);
const MAGIC = Buffer.from('PXSTATE1', 'latin1');
const HEAD_BYTES = 8 + 8 + 8 + 4;

/**
 * Writes `body` as the latest snapshot at `slot` (StateSnapshotStore.write); resolves with the slot
 * of the previous snapshot kept beside it (none when there is no whole one).
 */
export async function writeStateSnapshot(dir: string, slot: bigint, body: Buffer): Promise<{ previousSlot: bigint | undefined }> {
  const head = Buffer.allocUnsafe(HEAD_BYTES);
  MAGIC.copy(head, 0);
  head.writeBigUInt64LE(slot, 8);
  head.writeBigUInt64LE(BigInt(body.length), 16);
  head.writeUInt32LE(crc32(body), 24);
  const file = path.join(dir, STATE_SNAPSHOT_FILE);
  const tmp = `${file}.tmp`;
  try {
    const fh = await fsp.open(tmp, 'w');
    try {
      await writeAll(fh, head, 0);
      await writeAll(fh, body, HEAD_BYTES);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    // Read back before it replaces anything: a write the disk cut short (a full disk answers a
    // short count, not an error) or damaged must never become the latest snapshot, nor push the
    // good one out to be the previous (history retention trusts both).
    const check = parseSnapshot(tmp, await fsp.readFile(tmp));
    if ('missing' in check) throw new Error(`the state snapshot written at slot ${slot} did not read back whole: ${check.missing}`);
    if (check.slot !== slot) throw new Error(`the state snapshot written at slot ${slot} reads back as slot ${check.slot}`);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  // A crash between the two renames leaves the previous snapshot and the temporary file: the
  // previous one is used. So only a whole latest becomes the previous: a damaged one moved over a
  // whole previous left no usable snapshot after such a crash (the node simulator found it: the
  // node restored from the previous, began its next snapshot and lost power), and retention
  // counted on a previous that was not there. A damaged or missing latest is replaced in place
  // by the second rename, and the previous stays.
  // Read without blocking: a snapshot may be tens of MB, and this thread answers votes.
  const previousFile = path.join(dir, PREVIOUS_STATE_SNAPSHOT_FILE);
  const latest = await readSnapshotFileAsync(file);
  let previousSlot: bigint | undefined;
  if (!('missing' in latest)) {
    await fsp.rename(file, previousFile);
    previousSlot = latest.slot;
  } else {
    const previous = await readSnapshotFileAsync(previousFile);
    previousSlot = 'missing' in previous ? undefined : previous.slot;
  }
  await fsp.rename(tmp, file);
  await fsyncDir(dir);
  return { previousSlot };
}

/** Writes every byte of `buf` at `position` (a write may take fewer than it was given, e.g. on a full disk; then ENOSPC follows). */
async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  // Bounded: every turn writes at least one byte or throws.
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten <= 0) throw Object.assign(new Error(`no byte written at offset ${position + done}`), { code: 'ENOSPC' });
    done += bytesWritten;
  }
}

/** The snapshot's slot and body; or why there is none to use (no file, or a damaged one). */
export function readStateSnapshot(dir: string, generation: SnapshotGeneration = 'latest'): { slot: bigint; body: Buffer } | { missing: string } {
  return readSnapshotFile(path.join(dir, fileOf(generation)));
}

/**
 * Reads the snapshot files for GetStateSnapshot calls (KeptStateSnapshots.give, snapshotToGive:
 * the latest, or the previous one when the latest is damaged or missing). Each file is read again
 * only when it changed (another inode, size or modification time): a client that opens and cancels
 * transfers in a loop would otherwise have the acceptor read and check the whole file, on the
 * thread that answers votes, once per call. Holds at most one snapshot's bytes (the previous
 * one's only while the latest cannot be sent).
 */
export function stateSnapshotReadsToGive(dir: string): (generation: SnapshotGeneration) => StoredStateSnapshot {
  const latest = cachedSnapshotFile(path.join(dir, STATE_SNAPSHOT_FILE));
  const previous = cachedSnapshotFile(path.join(dir, PREVIOUS_STATE_SNAPSHOT_FILE));
  return (generation) => {
    if (generation === 'previous') return previous.read();
    const read = latest.read();
    if (!('missing' in read)) previous.forget();
    return read;
  };
}

function cachedSnapshotFile(file: string): { read: () => { slot: bigint; body: Buffer } | { missing: string }; forget: () => void } {
  let kept: { key: string; read: { slot: bigint; body: Buffer } } | undefined;
  const forget = () => {
    kept = undefined;
  };
  const read = () => {
    let key: string;
    try {
      const st = statSync(file);
      key = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      kept = undefined;
      return readSnapshotFile(file);
    }
    if (kept?.key === key) return kept.read;
    const read = readSnapshotFile(file);
    kept = 'missing' in read ? undefined : { key, read };
    return read;
  };
  return { read, forget };
}

/** Why a snapshot file could not be read. */
function unreadable(file: string, err: unknown): { missing: string } {
  const e = err as NodeJS.ErrnoException;
  return { missing: e.code === 'ENOENT' ? 'none written yet' : `${file} cannot be read (${e.code ?? e.message})` };
}

/** readSnapshotFile, its bytes read without blocking. */
async function readSnapshotFileAsync(file: string): Promise<{ slot: bigint; body: Buffer } | { missing: string }> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch (err) {
    return unreadable(file, err);
  }
  return parseSnapshot(file, buf);
}

function readSnapshotFile(file: string): { slot: bigint; body: Buffer } | { missing: string } {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    return unreadable(file, err);
  }
  return parseSnapshot(file, buf);
}

/** A snapshot file's slot and body, checked (magic, length, CRC); or why it is not one. */
function parseSnapshot(file: string, buf: Buffer): { slot: bigint; body: Buffer } | { missing: string } {
  if (buf.length < HEAD_BYTES || !buf.subarray(0, 8).equals(MAGIC)) return { missing: `${file} is not a state snapshot` };
  const length = Number(buf.readBigUInt64LE(16));
  const body = buf.subarray(HEAD_BYTES);
  if (body.length !== length) return { missing: `${file} holds ${body.length} bytes of a ${length}-byte snapshot` };
  if (crc32(body) !== buf.readUInt32LE(24)) return { missing: `${file} fails its CRC` };
  return { slot: buf.readBigUInt64LE(8), body };
}
