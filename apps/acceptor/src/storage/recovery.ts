// Recovery: snapshot + replay of the log segments from the snapshot's first segment on. Only the
// last segment may end in a torn tail, which is truncated (with a warning); every other defect
// refuses to start with a StorageCorruptionError naming the file and byte offset.
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from 'pino';
import type { AcceptorSnapshot, DurableChange } from './durable-types';
import { LOG_LOST_FILE, SNAPSHOT_FILE, SNAPSHOT_TMP_FILE, fsyncDir, segmentGeneration, segmentName } from './data-dir';
import { RecordDecodeError, StorageCorruptionError } from './errors';
import { FORMAT_VERSION, HEADER_BYTES, LOG_MAGIC, decodeHeader, encodeHeader, recordablePreviousBytes, scanFrames } from './framing';
import { RecordType, decodeRecord } from './record-codec';
import { readSnapshotFile } from './snapshot-file';

export interface RecoveredLog {
  snapshot: AcceptorSnapshot | null;
  snapshotBytes: number;
  changes: DurableChange[];
  warnings: string[];
  /** The segment that appends continue in, its durable size and record count. */
  activeGeneration: bigint;
  /** The active segment's format version (frames are flagged only in version 2 and later). */
  activeFormatVersion: number;
  activeSize: number;
  activeRecords: number;
  /** Bytes and records of the live segments before the active one. */
  olderBytes: number;
  olderRecords: number;
}

export async function listSegments(dir: string): Promise<bigint[]> {
  const gens: bigint[] = [];
  for (const name of await fsp.readdir(dir)) {
    const gen = segmentGeneration(name);
    if (gen !== undefined) gens.push(gen);
  }
  return gens.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export interface RecoverOptions {
  /**
   * Set when something outside the vote log proves that the log existed (the chosen history holds
   * slots, which are written only after the log's first segment was made durable): then a missing
   * log, or a first segment without a valid header, is a lost log, never a fresh start.
   */
  readonly logExpected?: string;
}

const LOST_MARKER_CHARS_SHOWN = 2000;

/**
 * The reason LOG_LOST_FILE records (its first bytes); undefined only when there is no such file:
 * a marker that cannot be read (a directory, no permission) or is too large to read whole still
 * refuses the start.
 */
async function readLostMarker(file: string): Promise<string | undefined> {
  const unreadable = (err: unknown): string => `the vote log was lost while this acceptor ran (the file that records it cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  let fh: FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : unreadable(err);
  }
  try {
    const buf = Buffer.alloc(LOST_MARKER_CHARS_SHOWN * 4);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8').trim().slice(0, LOST_MARKER_CHARS_SHOWN);
  } catch (err) {
    return unreadable(err);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

export async function recover(dir: string, nodeId: number, fsync: boolean, logger?: Logger, opts: RecoverOptions = {}): Promise<RecoveredLog> {
  const warnings: string[] = [];
  const warn = (msg: string): void => {
    warnings.push(msg);
    logger?.warn(msg);
  };
  // The running node saw its active segment lost: the segments left would replay without it.
  const lost = path.join(dir, LOG_LOST_FILE);
  const lostText = await readLostMarker(lost);
  if (lostText !== undefined) throw new StorageCorruptionError(lost, 0, lostText || 'the vote log was lost while this acceptor ran');
  const tmp = path.join(dir, SNAPSHOT_TMP_FILE);
  if (await fsp.stat(tmp).then(() => true, () => false)) {
    await fsp.rm(tmp, { force: true });
    warn(`removed ${tmp}: an unfinished snapshot from an interrupted checkpoint (the previous snapshot and the log are used)`);
  }
  const loaded = await readSnapshotFile(dir, nodeId);
  const firstSegment = loaded?.firstSegment ?? 1n;
  const all = await listSegments(dir);
  const stale = all.filter((g) => g < firstSegment);
  const live = all.filter((g) => g >= firstSegment);
  if (live.length === 0) {
    if (loaded !== null) {
      throw new StorageCorruptionError(
        path.join(dir, segmentName(firstSegment)),
        0,
        `log segment missing: ${SNAPSHOT_FILE} says replay starts at segment ${firstSegment}`,
      );
    }
    const file = path.join(dir, segmentName(firstSegment));
    if (opts.logExpected !== undefined) {
      throw new StorageCorruptionError(
        file,
        0,
        `the vote log is missing (no ${SNAPSHOT_FILE} and no log segment), but ${opts.logExpected}: the log was lost, and with it every promise and vote this acceptor gave`,
      );
    }
    await writeFreshSegment(file, nodeId, firstSegment, fsync);
    if (fsync) await fsyncDir(dir);
    return emptyResult(null, 0, warnings, firstSegment);
  }
  live.forEach((gen, i) => {
    const expected = firstSegment + BigInt(i);
    if (gen !== expected) {
      throw new StorageCorruptionError(
        path.join(dir, segmentName(expected)),
        0,
        loaded === null && i === 0
          ? `log segment ${segmentName(expected)} is missing (the oldest is ${segmentName(gen)}, and there is no ${SNAPSHOT_FILE}); a snapshot or segment file was lost`
          : `log segment missing between ${segmentName(expected - 1n)} and ${segmentName(gen)}`,
      );
    }
  });
  // Only once the segments the snapshot names are all there: a refusal leaves the dir as it was
  // found, for whoever looks at it (the stale ones are folded into the snapshot either way).
  for (const gen of stale) {
    await fsp.rm(path.join(dir, segmentName(gen)));
    logger?.info({ file: segmentName(gen) }, 'removed a log segment already folded into the snapshot (a checkpoint was interrupted)');
  }
  if (stale.length > 0 && fsync) await fsyncDir(dir);

  const changes: DurableChange[] = [];
  let olderBytes = 0;
  let olderRecords = 0;
  let activeSize = HEADER_BYTES;
  let activeRecords = 0;
  let activeFormatVersion = FORMAT_VERSION;
  /** The size of the segment before this one, as read (0 before the first). */
  let previousBytes = 0;
  for (let i = 0; i < live.length; i++) {
    const gen = live[i];
    const last = i === live.length - 1;
    const file = path.join(dir, segmentName(gen));
    const buf = await fsp.readFile(file);
    if (last && buf.length <= HEADER_BYTES && !validHeader(buf, file, nodeId)) {
      // A segment's header is written and synced before anything can name it: a checkpoint writes
      // the snapshot only after the rotation that made this segment, and nothing is chosen before
      // the first segment exists. Such a segment was whole once: cut back to its header or less,
      // it lost records that were acknowledged.
      const namedBy = loaded !== null && gen === firstSegment ? `${SNAPSHOT_FILE} names it as the segment its replay starts at` : loaded === null && i === 0 ? opts.logExpected : undefined;
      if (namedBy !== undefined) {
        throw new StorageCorruptionError(file, buf.length, `the log segment is cut to ${buf.length} bytes, shorter than its valid header, but ${namedBy}, so its header was written and synced before: records it held are lost`);
      }
      warn(`${file}: torn segment header (${buf.length} bytes, cut while the segment was being created) rewritten`);
      await writeFreshSegment(file, nodeId, gen, fsync, i > 0 ? previousBytes : 0);
      break;
    }
    const header = decodeHeader(buf, file, LOG_MAGIC, nodeId);
    if (header.generation !== gen) throw new StorageCorruptionError(file, 16, `header says segment ${header.generation}, file name says ${gen}`);
    const recorded = header.previousBytes ?? 0;
    if (i > 0 && recorded !== 0 && recorded !== recordablePreviousBytes(previousBytes)) {
      // The segment before was whole and synced when this one was started, and is never written
      // again: cut back at a record boundary it would scan as whole, without the promises and
      // votes it acknowledged last.
      const prev = path.join(dir, segmentName(gen - 1n));
      throw new StorageCorruptionError(
        prev,
        Math.min(previousBytes, recorded),
        previousBytes < recorded
          ? `the log segment is ${previousBytes} bytes, but ${segmentName(gen)} recorded ${recorded} when the log moved on from it: records it held (promises and votes this acceptor acknowledged) were cut away`
          : `the log segment is ${previousBytes} bytes, but ${segmentName(gen)} recorded ${recorded} when the log moved on from it, after which it was never written: bytes were added to it`,
      );
    }
    const scan = scanFrames(buf, HEADER_BYTES, file, last, header.formatVersion);
    for (const f of scan.frames) {
      let rec;
      try {
        rec = decodeRecord(f.payload);
      } catch (err) {
        if (err instanceof RecordDecodeError) throw new StorageCorruptionError(file, f.offset, `record with a valid CRC does not decode: ${err.message}`);
        throw err;
      }
      if (rec.type !== RecordType.Change) throw new StorageCorruptionError(file, f.offset, `record type ${rec.type} does not belong in a log`);
      changes.push(rec.change);
    }
    if (scan.torn) {
      const fh = await fsp.open(file, 'r+');
      try {
        await fh.truncate(scan.goodEnd);
        if (fsync) await fh.datasync();
      } finally {
        await fh.close();
      }
      warn(
        `${file}: torn tail at byte offset ${scan.torn.offset} (${scan.torn.reason}; ${scan.torn.bytes} bytes, the remains of an ` +
          `interrupted write that was never acknowledged) truncated; ${scan.frames.length} records before it kept`,
      );
    }
    previousBytes = buf.length;
    if (last) {
      activeSize = scan.goodEnd;
      activeRecords = scan.frames.length;
      activeFormatVersion = header.formatVersion;
    } else {
      olderBytes += buf.length;
      olderRecords += scan.frames.length;
    }
  }
  return {
    snapshot: loaded?.snapshot ?? null,
    snapshotBytes: loaded?.bytes ?? 0,
    changes,
    warnings,
    activeGeneration: live[live.length - 1],
    activeFormatVersion,
    activeSize,
    activeRecords,
    olderBytes,
    olderRecords,
  };
}

function validHeader(buf: Buffer, file: string, nodeId: number): boolean {
  try {
    decodeHeader(buf, file, LOG_MAGIC, nodeId);
    return true;
  } catch {
    return false;
  }
}

async function writeFreshSegment(file: string, nodeId: number, gen: bigint, fsync: boolean, previousBytes = 0): Promise<void> {
  const fh = await fsp.open(file, 'w');
  try {
    await fh.writeFile(encodeHeader({ magic: LOG_MAGIC, formatVersion: FORMAT_VERSION, nodeId, generation: gen, previousBytes }));
    if (fsync) await fh.datasync();
  } finally {
    await fh.close();
  }
}

function emptyResult(snapshot: AcceptorSnapshot | null, snapshotBytes: number, warnings: string[], gen: bigint): RecoveredLog {
  return {
    snapshot,
    snapshotBytes,
    changes: [],
    warnings,
    activeGeneration: gen,
    activeFormatVersion: FORMAT_VERSION,
    activeSize: HEADER_BYTES,
    activeRecords: 0,
    olderBytes: 0,
    olderRecords: 0,
  };
}
