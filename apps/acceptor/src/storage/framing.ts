// Framing shared by the log segments and the snapshot file:
//   file  := header(32 bytes) frame*
//   header:= magic(8) formatVersion(u32) nodeId(u32) generation(u64) previousBytes(u32) crc32(header[0..28))(u32)
//   previousBytes: in a log segment started by a rotation, the size of the segment before it, whole
//   and synced when this one was started (0: not recorded; a build before it wrote 0 there, and reads
//   the field as reserved, under the CRC but otherwise unread). 0 in a snapshot.
//   frame := length(u32) crc32(payload)(u32) payload(length bytes)          (little-endian)
//   length's top bit (ZEROS_FLAG) marks a frame whose own bytes, where they lie in the file, hold a
//   whole sector of zeros or end in zeros from a sector boundary: zeros that a torn write's
//   never-written sectors would also show, so in such a frame they prove nothing.
import { crc32 } from 'node:zlib';
import { looksLikeRecordStart } from './record-codec';
import { StorageCorruptionError } from './errors';

/**
 * The storage format this build writes (node.json, segment and snapshot headers). Version 2 adds
 * ZEROS_FLAG in the log's frames (and, in node.json, a rejoin floor may be set): a build that reads
 * only version 1 refuses such files rather than misread them. Version 1 is still read, and frames
 * are flagged only in version-2 segments.
 */
export const FORMAT_VERSION = 2;
/** The storage formats this build reads. */
export const FORMAT_VERSIONS_READ: readonly number[] = [1, 2];
export const HEADER_BYTES = 32;
export const FRAME_HEADER_BYTES = 8;
export const LOG_MAGIC = Buffer.from('PXACCLOG', 'latin1');
export const SNAPSHOT_MAGIC = Buffer.from('PXACCSNP', 'latin1');
/** The largest payload a record may have; larger records are refused on append. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;
/** The largest single write the log writer issues: a batch stops growing at this size. */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** A torn tail is the remains of one interrupted write, so it is never longer than this. */
export const MAX_TORN_BYTES = Math.max(MAX_BATCH_BYTES, MAX_RECORD_BYTES + FRAME_HEADER_BYTES);
/** A bound on the work spent proving that a bad tail holds no valid record after it. */
const MAX_RESYNC_CRC_BYTES = 256 * 1024 * 1024;
const MIN_PAYLOAD = 2;
/** Set in a frame's length by the log writer (markZeroSectors); MAX_RECORD_BYTES is far below it. */
export const ZEROS_FLAG = 0x8000_0000;

export interface FileHeader {
  magic: Buffer;
  formatVersion: number;
  nodeId: number;
  generation: bigint;
  /** The size of the log segment before this one when this one was started; 0 when not recorded. */
  previousBytes?: number;
}

/** previousBytes as a header holds it: a size a u32 cannot hold is not recorded (a segment that large is not read back anyway). */
export const recordablePreviousBytes = (bytes: number): number => (bytes > 0 && bytes <= 0xffff_ffff ? bytes : 0);

export function encodeHeader(h: FileHeader): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  h.magic.copy(b, 0);
  b.writeUInt32LE(h.formatVersion, 8);
  b.writeUInt32LE(h.nodeId, 12);
  b.writeBigUInt64LE(h.generation, 16);
  b.writeUInt32LE(recordablePreviousBytes(h.previousBytes ?? 0), 24);
  b.writeUInt32LE(crc32(b.subarray(0, 28)), 28);
  return b;
}

/** Validates a file header; throws StorageCorruptionError (offset 0) naming what is wrong. */
export function decodeHeader(buf: Buffer, file: string, magic: Buffer, nodeId: number): FileHeader {
  if (buf.length < HEADER_BYTES) throw new StorageCorruptionError(file, buf.length, `file shorter than its ${HEADER_BYTES}-byte header`);
  if (!buf.subarray(0, 8).equals(magic)) {
    throw new StorageCorruptionError(file, 0, `bad magic ${JSON.stringify(buf.subarray(0, 8).toString('latin1'))}, expected ${JSON.stringify(magic.toString('latin1'))}`);
  }
  if (buf.readUInt32LE(28) !== crc32(buf.subarray(0, 28))) throw new StorageCorruptionError(file, 28, 'header CRC mismatch');
  const formatVersion = buf.readUInt32LE(8);
  if (!FORMAT_VERSIONS_READ.includes(formatVersion)) {
    throw new StorageCorruptionError(file, 8, `format version ${formatVersion}; this build reads versions ${FORMAT_VERSIONS_READ.join(' and ')}`);
  }
  const fileNode = buf.readUInt32LE(12);
  if (fileNode !== nodeId) throw new StorageCorruptionError(file, 12, `file belongs to node ${fileNode}, not node ${nodeId}`);
  return { magic, formatVersion, nodeId: fileNode, generation: buf.readBigUInt64LE(16), previousBytes: buf.readUInt32LE(24) };
}

export function encodeFrame(payload: Buffer): Buffer {
  if (payload.length < MIN_PAYLOAD || payload.length > MAX_RECORD_BYTES) {
    throw new RangeError(`record payload of ${payload.length} bytes is outside [${MIN_PAYLOAD}, ${MAX_RECORD_BYTES}]`);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

export interface Frame {
  offset: number;
  payload: Buffer;
}
export interface ScanResult {
  frames: Frame[];
  /** The end of the last good frame. */
  goodEnd: number;
  /** Set when the file ends in a torn tail (the remains of one interrupted write). */
  torn?: { offset: number; bytes: number; reason: string };
}

/** Whether frames of a file of this format version may carry ZEROS_FLAG (in version 1 the bit is part of an invalid length). */
export const carriesZerosFlag = (formatVersion: number): boolean => formatVersion >= 2;
/** The payload length of the frame at `offset` (without ZEROS_FLAG where the format has it). */
const frameLength = (buf: Buffer, offset: number, zf: boolean): number => (zf ? (buf.readUInt32LE(offset) & ~ZEROS_FLAG) >>> 0 : buf.readUInt32LE(offset));
/** Whether the frame at `offset` says its own bytes hold zeros a torn write would show. */
const zerosFlagged = (buf: Buffer, offset: number, zf: boolean): boolean => zf && (buf.readUInt32LE(offset) & ZEROS_FLAG) !== 0;

/** A byte with one bit set: a single flipped bit makes it zero. */
const oneBit = (b: number): boolean => b !== 0 && (b & (b - 1)) === 0;

/** Whether frame[from, to) is all zeros, or would be after one flipped bit. */
function zeroOrOneFlip(frame: Buffer, from: number, to: number): boolean {
  let set = 0;
  for (let i = from; i < to; i++) {
    if (frame[i] === 0) continue;
    if (set > 0 || !oneBit(frame[i])) return false;
    set++;
  }
  return true;
}

/**
 * Marks `frame`, about to be written at file offset `at`, with ZEROS_FLAG when its bytes there
 * could read as sectors a crash left unwritten once one bit of them is flipped (a client's value
 * can hold any bytes): a whole sector of zeros (or of zeros but for one bit), or a run of zeros
 * ending the frame that starts on a sector boundary, covers one (a flipped bit inside the run
 * moves its start to that boundary), or reaches one through a single one-bit byte. Recovery then
 * never takes those zeros for unwritten sectors, so damage to such a record is refused, not cut
 * away as a torn tail. The CRC covers the payload only.
 */
export function markZeroSectors(frame: Buffer, at: number): void {
  const end = at + frame.length;
  let flagged = false;
  for (let s = Math.ceil(at / SECTOR_BYTES) * SECTOR_BYTES; s + SECTOR_BYTES <= end && !flagged; s += SECTOR_BYTES) {
    flagged = zeroOrOneFlip(frame, s - at, s - at + SECTOR_BYTES);
  }
  if (!flagged) {
    let z = frame.length;
    while (z > FRAME_HEADER_BYTES && frame[z - 1] === 0) z--;
    // The run [at + z, end): on a boundary, or covering one (the file's zeros must end it, so
    // only a boundary before `end` counts).
    flagged = z < frame.length && Math.ceil((at + z) / SECTOR_BYTES) * SECTOR_BYTES < end;
    if (!flagged && z < frame.length && z > FRAME_HEADER_BYTES && oneBit(frame[z - 1])) {
      // That byte flipped to zero: the run starts further back.
      let z1 = z - 1;
      while (z1 > FRAME_HEADER_BYTES && frame[z1 - 1] === 0) z1--;
      flagged = (at + z1) % SECTOR_BYTES === 0;
    }
  }
  if (flagged) frame.writeUInt32LE((frame.readUInt32LE(0) | ZEROS_FLAG) >>> 0, 0);
}

/** The reason the frame at `offset` is not a good frame, or undefined when it is. */
function badFrame(buf: Buffer, offset: number, zf: boolean): string | undefined {
  const left = buf.length - offset;
  if (left < FRAME_HEADER_BYTES) return `partial frame header (${left} bytes)`;
  const len = frameLength(buf, offset, zf);
  if (len < MIN_PAYLOAD || len > MAX_RECORD_BYTES) return `invalid record length ${len}`;
  if (len > left - FRAME_HEADER_BYTES) return `record of ${len} bytes cut short (${left - FRAME_HEADER_BYTES} bytes present)`;
  const payload = buf.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + len);
  if (crc32(payload) !== buf.readUInt32LE(offset + 4)) return 'CRC mismatch';
  return undefined;
}

/** Whether any valid frame starts after `from` (then a bad frame at `from` is corruption, not a torn tail). */
function validFrameAfter(buf: Buffer, from: number, zf: boolean): { offset: number } | 'undecided' | undefined {
  let crcBudget = MAX_RESYNC_CRC_BYTES;
  for (let o = from + 1; o + FRAME_HEADER_BYTES + MIN_PAYLOAD <= buf.length; o++) {
    const len = frameLength(buf, o, zf);
    if (len < MIN_PAYLOAD || len > buf.length - o - FRAME_HEADER_BYTES) continue;
    if (!looksLikeRecordStart(buf[o + FRAME_HEADER_BYTES], buf[o + FRAME_HEADER_BYTES + 1])) continue;
    crcBudget -= len;
    if (crcBudget < 0) return 'undecided';
    if (crc32(buf.subarray(o + FRAME_HEADER_BYTES, o + FRAME_HEADER_BYTES + len)) === buf.readUInt32LE(o + 4)) return { offset: o };
  }
  return undefined;
}

/**
 * Whether buf[offset + FRAME_HEADER_BYTES, end) is a whole payload under the CRC the frame at
 * `offset` holds: then that record was written whole, and only its length is wrong (damage to a
 * written record, which no interrupted write leaves: the length is its first bytes).
 */
function wholeRecordTo(buf: Buffer, offset: number, end: number): boolean {
  const len = end - offset - FRAME_HEADER_BYTES;
  return len >= MIN_PAYLOAD && len <= MAX_RECORD_BYTES && crc32(buf.subarray(offset + FRAME_HEADER_BYTES, end)) === buf.readUInt32LE(offset + 4);
}

/** The first byte of the run of zeros that ends the file (buf.length when the last byte is not zero). */
function zeroTailStart(buf: Buffer, from: number): number {
  let p = buf.length;
  while (p > from && buf[p - 1] === 0) p--;
  return p;
}

/** Sector size of the devices we run on: a write cut by a crash leaves whole sectors unwritten (zeros). */
const SECTOR_BYTES = 512;

function allZero(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Where the frame at `offset` has the first bytes of its length in a sector of their own that reads
 * as zeros up to its boundary, and the record is whole under its CRC up to `end` with a length that
 * differs from the stored one in those bytes alone: the sector holding the frame's start (and the
 * end of the record before it, synced earlier) was not written again before a power loss, while
 * the later sectors of the same write were. A flipped bit does not zero bytes exactly up to a sector
 * boundary and leave the rest of the length right. The boundary, or undefined.
 */
function unwrittenHeaderSector(buf: Buffer, offset: number, end: number): number | undefined {
  const boundary = (Math.floor(offset / SECTOR_BYTES) + 1) * SECTOR_BYTES;
  const lost = boundary - offset; // bytes of the length before the boundary
  if (lost < 1 || lost > 4 || boundary > buf.length || !allZero(buf, offset, boundary) || !wholeRecordTo(buf, offset, end)) return undefined;
  const trueLength = end - offset - FRAME_HEADER_BYTES;
  // The length's bytes past the boundary were written: they must be the true length's (ZEROS_FLAG aside).
  for (let i = lost; i < 4; i++) {
    const stored = buf[offset + i] as number;
    if ((i === 3 ? stored & 0x7f : stored) !== ((trueLength >>> (8 * i)) & 0xff)) return undefined;
  }
  return boundary;
}

/**
 * Where bytes that were never written begin in [from, to): the rest of from's sector read as zeros
 * (a sector written out before the record at `from` was, and not again), or a whole sector of
 * zeros; undefined when there is neither.
 */
function zeroSectorIn(buf: Buffer, from: number, to: number, frameAtFrom = false): number | undefined {
  // A sector written out while the record at `from` was not there yet holds zeros from `from` to
  // its end (a record's header straddling a sector boundary leaves only a few such bytes). When a
  // bad frame starts at `from` and only its length's bytes lie before the boundary, zeros there
  // may be its length's own (256 has a zero low byte): unwrittenHeaderSector decides that case,
  // by the record being whole under the true length; otherwise a damaged payload of such a
  // record was cut away as a torn tail.
  const sectorEnd = (Math.floor(from / SECTOR_BYTES) + 1) * SECTOR_BYTES;
  const lengthOnly = frameAtFrom && sectorEnd - from <= 4;
  if (!lengthOnly && sectorEnd <= Math.min(to, buf.length) && allZero(buf, from, sectorEnd)) return from;
  for (let s = Math.ceil(from / SECTOR_BYTES) * SECTOR_BYTES; s < to && s + SECTOR_BYTES <= buf.length; s += SECTOR_BYTES) {
    if (allZero(buf, s, s + SECTOR_BYTES)) return s;
  }
  return undefined;
}

/**
 * Whether the bad frame at `offset` is what an interrupted write leaves behind, rather than damage
 * to a record that was written and synced (etcd's WAL draws the same line):
 * - a frame header cut short, or a record whose bytes stop before its length says (a short
 *   write) — unless the bytes present are a whole record with a valid CRC under a damaged length;
 * - the zeroed tail a crash leaves: the file ends in zeros from a sector boundary at or before the
 *   end of this frame (blocks the file grew by but whose data never reached the disk), or a sector
 *   of zeros anywhere in the tail (a power loss kept some sectors of the unsynced writes and not
 *   others; as etcd's WAL, a whole sector of zeros is taken as never written).
 * Anything else — a complete frame whose CRC fails with no zeroed tail, an impossible length
 * followed by data — is corruption.
 */
function tornReason(buf: Buffer, offset: number, reason: string, zf: boolean): string | undefined {
  const left = buf.length - offset;
  if (left < FRAME_HEADER_BYTES) return reason;
  const len = frameLength(buf, offset, zf);
  const zeros = zeroTailStart(buf, offset);
  const frameEnd = offset + FRAME_HEADER_BYTES + len;
  if (zeros === offset) return `${reason}; the file ends in zeros from here`;
  const headerSector = unwrittenHeaderSector(buf, offset, buf.length);
  if (headerSector !== undefined) return `${reason}; its first bytes, up to the sector boundary at byte offset ${headerSector}, read as zeros (never written)`;
  // Its length flipped, a record holding a sector of zeros (ZEROS_FLAG) would otherwise show them
  // as unwritten sectors, before or past the end its damaged length gives.
  if (wholeRecordTo(buf, offset, buf.length)) return undefined;
  // A record whose own bytes hold such zeros (ZEROS_FLAG): only zeros past its end are evidence.
  const own = zerosFlagged(buf, offset, zf) && len >= MIN_PAYLOAD && len <= MAX_RECORD_BYTES;
  // Bytes that were never written in the tail: a sector of zeros (or the rest of the record's
  // first sector) — a power loss kept some sectors of the unsynced writes and not others.
  const hole = own ? (frameEnd < buf.length ? zeroSectorIn(buf, frameEnd, buf.length) : undefined) : zeroSectorIn(buf, offset, buf.length, true);
  const unwritten = hole !== undefined ? `${reason}; from byte offset ${hole} a sector reads as zeros (never written)` : undefined;
  if (len < MIN_PAYLOAD || len > MAX_RECORD_BYTES) return unwritten; // otherwise an impossible length followed by data
  if (len > left - FRAME_HEADER_BYTES) return reason;
  // A complete frame whose CRC fails: torn only when its end is a zeroed tail from a sector boundary,
  // or when a sector of it was never written.
  if (!own && zeros < buf.length && zeros % SECTOR_BYTES === 0 && zeros <= frameEnd) return `${reason}; the file ends in zeros from sector offset ${zeros}`;
  return unwritten;
}

/**
 * Reads the frames of `buf` from `start`. A bad frame is a torn tail when it is within one write of
 * the end of the file, no valid frame follows it, and it looks like an interrupted write (see
 * tornReason); any other bad frame throws StorageCorruptionError. `allowTorn` false (a snapshot,
 * or a log segment that is not the last) makes every bad frame corruption.
 */
export function scanFrames(buf: Buffer, start: number, file: string, allowTorn: boolean, formatVersion = FORMAT_VERSION): ScanResult {
  const zf = carriesZerosFlag(formatVersion);
  const frames: Frame[] = [];
  let offset = start;
  // Bounded: every iteration consumes at least FRAME_HEADER_BYTES + MIN_PAYLOAD bytes or returns.
  while (offset < buf.length) {
    const reason = badFrame(buf, offset, zf);
    if (reason === undefined) {
      const len = frameLength(buf, offset, zf);
      frames.push({ offset, payload: buf.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + len) });
      offset += FRAME_HEADER_BYTES + len;
      continue;
    }
    const tailBytes = buf.length - offset;
    if (!allowTorn) throw new StorageCorruptionError(file, offset, `${reason} (this file must be complete)`);
    if (tailBytes > MAX_TORN_BYTES) {
      throw new StorageCorruptionError(file, offset, `${reason}, followed by ${tailBytes} bytes: more than one write, so not a torn tail`);
    }
    const after = validFrameAfter(buf, offset, zf);
    if (after === 'undecided') {
      throw new StorageCorruptionError(file, offset, `${reason}; could not prove that no valid record follows, so not treated as a torn tail`);
    }
    if (after !== undefined) {
      // A sector of zeros (never written) before the next valid record: a power loss during writes
      // that were not fdatasynced yet, which persisted some of their sectors and not others. Those
      // records were never acknowledged: fdatasync makes every earlier byte of the file durable too,
      // so no record after an unwritten sector can have been synced. Cut there, as a torn tail.
      // The bad record, whole up to the valid one, under a damaged length: written, and synced
      // with the records after it. Its own zeros (ZEROS_FLAG) must not be read as a hole.
      const headerSector = tailBytes >= FRAME_HEADER_BYTES ? unwrittenHeaderSector(buf, offset, after.offset) : undefined;
      if (headerSector !== undefined) {
        return { frames, goodEnd: offset, torn: { offset, bytes: tailBytes, reason: `${reason}; its first bytes, up to the sector boundary at byte offset ${headerSector}, read as zeros (never written), so the records after it were never synced` } };
      }
      if (tailBytes >= FRAME_HEADER_BYTES && wholeRecordTo(buf, offset, after.offset)) {
        throw new StorageCorruptionError(file, offset, `${reason}, but the bytes up to the valid record at byte offset ${after.offset} are a whole record under its CRC: its length is damaged`);
      }
      const len = tailBytes >= FRAME_HEADER_BYTES ? frameLength(buf, offset, zf) : 0;
      const own = tailBytes >= FRAME_HEADER_BYTES && zerosFlagged(buf, offset, zf) && len >= MIN_PAYLOAD && offset + FRAME_HEADER_BYTES + len <= after.offset;
      const hole = own ? zeroSectorIn(buf, offset + FRAME_HEADER_BYTES + len, after.offset) : zeroSectorIn(buf, offset, after.offset, true);
      if (hole !== undefined) {
        return { frames, goodEnd: offset, torn: { offset, bytes: tailBytes, reason: `${reason}; the sector at byte offset ${hole} reads as zeros (never written), so the records after it were never synced` } };
      }
      throw new StorageCorruptionError(file, offset, `${reason}, but a valid record follows at byte offset ${after.offset}`);
    }
    const torn = tornReason(buf, offset, reason, zf);
    if (torn === undefined) {
      throw new StorageCorruptionError(
        file,
        offset,
        `${reason} in the last record, which is complete and not a zeroed tail: a record that was written (and acknowledged) is damaged, not the remains of an interrupted write`,
      );
    }
    return { frames, goodEnd: offset, torn: { offset, bytes: tailBytes, reason: torn } };
  }
  return { frames, goodEnd: offset };
}
