// The snapshot file: the acceptor state folded at a checkpoint, plus the first log segment to
// replay on top of it. Written to a temp file, fsynced, renamed over the old one, dir fsynced.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { AcceptorSnapshot } from './durable-types';
import { SNAPSHOT_FILE, SNAPSHOT_TMP_FILE, fsyncDir } from './data-dir';
import { StorageCorruptionError, RecordDecodeError } from './errors';
import { FORMAT_VERSION, HEADER_BYTES, SNAPSHOT_MAGIC, decodeHeader, encodeFrame, encodeHeader, scanFrames } from './framing';
import { RecordType, decodeRecord, encodeSnapshotEnd, encodeSnapshotEntry, encodeSnapshotMeta } from './record-codec';

const WRITE_CHUNK_BYTES = 1024 * 1024;

export interface LoadedSnapshot {
  snapshot: AcceptorSnapshot;
  /** The first log segment whose records are not in the snapshot. */
  firstSegment: bigint;
  bytes: number;
}

export async function writeSnapshotFile(
  dir: string,
  nodeId: number,
  snapshot: AcceptorSnapshot,
  firstSegment: bigint,
  fsync: boolean,
): Promise<number> {
  const tmp = path.join(dir, SNAPSHOT_TMP_FILE);
  const fh = await fsp.open(tmp, 'w');
  let written = 0;
  try {
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    const flush = async (): Promise<void> => {
      const data = Buffer.concat(chunk, chunkBytes);
      chunk = [];
      chunkBytes = 0;
      const { bytesWritten } = await fh.write(data, 0, data.length, written);
      if (bytesWritten !== data.length) throw new Error(`short write to ${tmp}: ${bytesWritten} of ${data.length} bytes`);
      written += data.length;
    };
    const put = async (b: Buffer): Promise<void> => {
      chunk.push(b);
      chunkBytes += b.length;
      if (chunkBytes >= WRITE_CHUNK_BYTES) await flush();
    };
    const acceptedCount = BigInt(snapshot.accepted.length);
    const chosenCount = BigInt(snapshot.chosen.length);
    await put(encodeHeader({ magic: SNAPSHOT_MAGIC, formatVersion: FORMAT_VERSION, nodeId, generation: firstSegment }));
    await put(
      encodeFrame(
        encodeSnapshotMeta({ firstSegment, promised: snapshot.promised, committedIndex: snapshot.committedIndex, acceptedCount, chosenCount }),
      ),
    );
    for (const e of snapshot.accepted) await put(encodeFrame(encodeSnapshotEntry(RecordType.SnapAccepted, e)));
    for (const e of snapshot.chosen) await put(encodeFrame(encodeSnapshotEntry(RecordType.SnapChosen, e)));
    await put(encodeFrame(encodeSnapshotEnd(acceptedCount, chosenCount)));
    await flush();
    if (fsync) await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, path.join(dir, SNAPSHOT_FILE));
  if (fsync) await fsyncDir(dir);
  return written;
}

/** Loads and fully validates the snapshot file; null when there is none. */
export async function readSnapshotFile(dir: string, nodeId: number): Promise<LoadedSnapshot | null> {
  const file = path.join(dir, SNAPSHOT_FILE);
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const header = decodeHeader(buf, file, SNAPSHOT_MAGIC, nodeId);
  const { frames } = scanFrames(buf, HEADER_BYTES, file, false, header.formatVersion);
  const records = frames.map((f) => {
    try {
      return { offset: f.offset, rec: decodeRecord(f.payload) };
    } catch (err) {
      if (err instanceof RecordDecodeError) throw new StorageCorruptionError(file, f.offset, err.message);
      throw err;
    }
  });
  const fail = (offset: number, what: string): never => {
    throw new StorageCorruptionError(file, offset, what);
  };
  const first = records[0];
  if (first === undefined || first.rec.type !== RecordType.SnapMeta) return fail(HEADER_BYTES, 'snapshot does not start with its meta record');
  const meta = first.rec.meta;
  if (meta.firstSegment !== header.generation) fail(first.offset, 'meta record disagrees with the header about the first log segment');
  const accepted: AcceptedEntryLike[] = [];
  const chosen: AcceptedEntryLike[] = [];
  let i = 1;
  for (; i < records.length; i++) {
    const { rec, offset } = records[i];
    if (rec.type === RecordType.SnapAccepted) {
      if (chosen.length > 0) fail(offset, 'accepted entry after the chosen entries');
      accepted.push(rec.entry);
    } else if (rec.type === RecordType.SnapChosen) {
      chosen.push(rec.entry);
    } else break;
  }
  const end = records[i];
  if (end === undefined || end.rec.type !== RecordType.SnapEnd) return fail(end?.offset ?? buf.length, 'snapshot is missing its end record');
  if (i !== records.length - 1) fail(records[i + 1].offset, 'records after the end record');
  if (
    end.rec.acceptedCount !== meta.acceptedCount ||
    end.rec.chosenCount !== meta.chosenCount ||
    BigInt(accepted.length) !== meta.acceptedCount ||
    BigInt(chosen.length) !== meta.chosenCount
  ) {
    fail(end.offset, `entry counts disagree (meta ${meta.acceptedCount}/${meta.chosenCount}, found ${accepted.length}/${chosen.length})`);
  }
  return {
    snapshot: { promised: meta.promised, committedIndex: meta.committedIndex, accepted, chosen },
    firstSegment: meta.firstSegment,
    bytes: buf.length,
  };
}

type AcceptedEntryLike = AcceptorSnapshot['accepted'][number];
