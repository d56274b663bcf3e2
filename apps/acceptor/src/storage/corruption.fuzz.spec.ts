// Damage to a data dir at rest, seeded: bit rot, a torn or cut file, a zeroed page, garbage or a
// duplicated record appended, a file deleted, renamed or swapped, node.json edited. A data dir is
// built through the real node and storage (promises, votes, commits, checkpoints, sealed history
// segments), damaged in one way, and reopened as main.ts opens it. Either every promise and vote it
// acknowledged comes back and the chosen history holds what the last checkpoint synced, with no
// value other than the one chosen and no committed index over a slot that was not chosen, or the
// start is refused with a typed error that names the damaged file and says what to do (never a
// TypeError or RangeError out of the bytes, never "use another data dir").
//
// Some damage is exactly what a crash leaves, and the format cannot tell it from one: the active
// log segment cut short, zeroed from a page on, or gone (a crash before its rotation was
// durable). There the records after the damage were, as far as the disk shows, never synced;
// those cases must still be consistent (no other value, no slot taken as chosen that was not), and
// are not required to keep everything. Nothing else is exempt: the whole history dir deleted, a
// retired log segment cut at a record boundary, and the oldest history segment deleted (retention
// removes a segment's index before it, so an index left alone marks a loss) must be refused.
//
// Half the seeds' data dirs are left as a crash between a checkpoint's rotation and its snapshot
// leaves them: a retired segment beside the active one.
//
// FUZZ_SEED=<n> replays one seed; FUZZ_CASES sets the damages per seed.
import { AcceptorCore, type AcceptorReply, type Ballot, Quorum, SeededRandom, type SlotValue, compareBallots, formatBallot, slotValuesEqual } from '@paxos/consensus-core';
import { AcceptorNode, HistoryBehindError, joinChosenHistory } from '@paxos/acceptor-node';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pino } from 'pino';
import { AcceptorStorage } from './acceptor-storage';
import { HISTORY_DIR } from './chosen-history';
import { NODE_FILE, SNAPSHOT_FILE, segmentGeneration, segmentName } from './data-dir';
import { LOCK_FILE } from './data-dir-lock';
import { DataDirError, StorageCorruptionError } from './errors';
import { FRAME_HEADER_BYTES, HEADER_BYTES, ZEROS_FLAG } from './framing';
import { tempDir } from './storage-test-helpers';

const SEEDS = process.env['FUZZ_SEED'] ? [Number(process.env['FUZZ_SEED'])] : [20261211, 7];
const CASES = Number(process.env['FUZZ_CASES'] ?? 120);
const NODE_ID = 3;
const logger = pino({ level: 'silent' });

/** The one value every vote and commit of a slot carries (some hold a run of zeros: ZEROS_FLAG). */
function valueOf(slot: number): SlotValue {
  if (slot % 7 === 0) return { kind: 'noop' };
  const data = new Uint8Array(slot % 5 === 0 ? 700 : 20 + (slot % 13)).fill(slot & 0xff);
  if (slot % 5 === 0) data.fill(0, 100);
  return { kind: 'batch', commands: [{ clientRequestId: `r-${slot}`, contentType: 'application/octet-stream', data }] };
}

interface Acked {
  promised: Ballot;
  /** The highest ballot each slot was voted at (always with valueOf(slot)). */
  votes: Map<bigint, Ballot>;
  /** Slots [0, chosenEnd) were chosen (committed in order). */
  chosenEnd: bigint;
  /** The chosen history held [0, syncedEnd) at the last checkpoint (synced before its snapshot). */
  syncedEnd: bigint;
}

async function openNode(dataDir: string) {
  const { storage, recovered } = await AcceptorStorage.open({ dataDir, nodeId: NODE_ID, clusterSize: 23, logger, fsync: false, historySegmentBytes: 1500 });
  const core = new AcceptorCore(recovered.snapshot ? { restored: recovered.snapshot } : {});
  for (const c of recovered.changes) core.apply(c);
  try {
    joinChosenHistory(core, storage.history, logger);
  } catch (err) {
    await storage.close();
    throw err;
  }
  return { storage, core };
}

/** A data dir with promises, votes, chosen slots, checkpoints and sealed history segments. */
async function build(dataDir: string, r: SeededRandom): Promise<Acked> {
  const { storage, core } = await openNode(dataDir);
  const node = new AcceptorNode(core, storage, {
    nodeId: NODE_ID,
    quorum: Quorum.majority(23),
    proposerIds: new Set([1, 2]),
    checkpointEveryRecords: 12,
    logger,
    onStorageFailure: () => undefined,
    onStorageRecovered: () => undefined,
    random: () => r.next(),
  });
  const acked: Acked = { promised: { round: 0n, proposerId: 0 }, votes: new Map(), chosenEnd: 0n, syncedEnd: 0n };
  const higher = (b: Ballot) => compareBallots(b, acked.promised) > 0;
  let round = 1n;
  const slots = 60 + r.int(0, 40);
  const expect1 = (reply: AcceptorReply, type: AcceptorReply['type'], what: string) => {
    if (reply.type !== type) throw new Error(`building the data dir: ${what} answered ${JSON.stringify(reply, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
  };
  for (let s = 0; s < slots; s++) {
    const slot = BigInt(s);
    if (r.chance(0.3)) {
      round += BigInt(r.int(1, 3));
      const ballot = { round, proposerId: r.chance(0.5) ? 1 : 2 };
      const reply = await node.handle({ type: 'prepare', ballot, fromSlot: slot });
      expect1(reply, 'promise', `prepare ${formatBallot(ballot)}`);
      if (higher(ballot)) acked.promised = ballot;
    }
    const ballot = acked.promised.round === 0n ? { round, proposerId: 1 } : acked.promised;
    const reply = await node.handle({ type: 'accept', ballot, slot, value: valueOf(s) });
    expect1(reply, 'accepted', `accept of slot ${s}`);
    if (higher(ballot)) acked.promised = ballot;
    acked.votes.set(slot, ballot);
    // The last few slots stay voted only; the rest are committed, as a notice (history only) or a request (also logged).
    if (s < slots - 5) {
      const commit = { type: 'commit' as const, slot, ballot, value: valueOf(s) };
      if (r.chance(0.5)) await node.handle(undefined, [commit]);
      else await node.handle(commit);
      acked.chosenEnd = slot + 1n;
    }
  }
  await node.drain();
  acked.syncedEnd = storage.stats().snapshotSlot;
  // A crash between a checkpoint's rotation and its snapshot: the snapshot, and the segment it
  // names, stay as they were, and the log has moved on to the next segment.
  const interrupted = r.chance(0.5) ? { snapshot: readFileSync(path.join(dataDir, SNAPSHOT_FILE)), segments: logSegments(dataDir) } : undefined;
  if (interrupted !== undefined) await storage.checkpoint(core.snapshot());
  node.stop();
  await storage.close();
  if (interrupted !== undefined) {
    writeFileSync(path.join(dataDir, SNAPSHOT_FILE), interrupted.snapshot);
    for (const [name, bytes] of interrupted.segments) writeFileSync(path.join(dataDir, name), bytes);
  }
  return acked;
}

/** The vote log's segments, by name. */
function logSegments(dataDir: string): Array<[string, Buffer]> {
  return readdirSync(dataDir)
    .filter((n) => segmentGeneration(n) !== undefined)
    .map((n) => [n, readFileSync(path.join(dataDir, n))]);
}

function filesOf(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) out.push(...filesOf(file));
    else if (name !== LOCK_FILE) out.push(file); // the OS lock holds no state
  }
  return out.sort();
}

/** Offsets of the frames of a log segment, snapshot or history segment (as written: no damage yet). */
function frameOffsets(buf: Buffer, start: number): Array<{ at: number; bytes: number }> {
  const out: Array<{ at: number; bytes: number }> = [];
  for (let at = start; at + FRAME_HEADER_BYTES <= buf.length; ) {
    const bytes = FRAME_HEADER_BYTES + ((buf.readUInt32LE(at) & ~ZEROS_FLAG) >>> 0);
    if (at + bytes > buf.length) break;
    out.push({ at, bytes });
    at += bytes;
  }
  return out;
}

interface Damage {
  readonly what: string;
  /** What a crash could also have left (see the top of the file): only consistency is required. */
  readonly crashLike: boolean;
}

/** Damages `dir` in one seeded way. */
function damage(dir: string, r: SeededRandom): Damage {
  const files = filesOf(dir);
  const rel = (f: string) => path.relative(dir, f);
  const segments = files.filter((f) => segmentGeneration(path.basename(f)) !== undefined);
  const active = segments[segments.length - 1];
  const pick = <T>(xs: readonly T[]): T => xs[r.int(0, xs.length)] as T;
  const kind = r.int(0, 12);
  if (kind === 10) {
    // The history lost whole, or its oldest segment (which retention would drop with its index).
    const history = path.join(dir, HISTORY_DIR);
    if (r.chance(0.5)) {
      rmSync(history, { recursive: true });
      return { what: `${HISTORY_DIR}/ deleted`, crashLike: false };
    }
    const oldest = files.find((f) => path.dirname(f) === history && f.endsWith('.seg')) as string;
    rmSync(oldest);
    return { what: `the oldest history segment ${rel(oldest)} deleted`, crashLike: false };
  }
  if (kind === 11) {
    // A retired segment (not covered by a snapshot yet) cut back at a record boundary.
    const retired = segments.filter((f) => f !== active);
    if (retired.length === 0) return damage(dir, r);
    const file = pick(retired);
    const buf = readFileSync(file);
    const at = pick([HEADER_BYTES, ...frameOffsets(buf, HEADER_BYTES).map((f) => f.at)]);
    writeFileSync(file, buf.subarray(0, at));
    return { what: `retired ${rel(file)} (${buf.length} bytes) cut at the record boundary ${at}`, crashLike: false };
  }
  if (kind === 8) {
    // A file deleted, or a segment renamed or swapped with another.
    const file = pick(files);
    const op = r.int(0, 3);
    const seg = segmentGeneration(path.basename(file));
    const histSeg = /^chosen-(\d{20})\.seg$/.exec(path.basename(file));
    if (op === 1 && (seg !== undefined || histSeg !== null)) {
      const to =
        seg !== undefined
          ? path.join(dir, segmentName(seg + BigInt(pick([-1, 1, 2]))))
          : path.join(path.dirname(file), `chosen-${(BigInt(histSeg?.[1] ?? '0') + BigInt(pick([1, 3, 64]))).toString().padStart(20, '0')}.seg`);
      if (!existsSync(to)) {
        renameSync(file, to);
        return { what: `renamed ${rel(file)} to ${rel(to)}`, crashLike: false };
      }
    }
    if (op === 2) {
      const peers = files.filter((f) => f !== file && path.dirname(f) === path.dirname(file) && path.extname(f) === path.extname(file));
      if (peers.length > 0) {
        const other = pick(peers);
        const a = readFileSync(file);
        writeFileSync(file, readFileSync(other));
        writeFileSync(other, a);
        return { what: `swapped ${rel(file)} and ${rel(other)}`, crashLike: false };
      }
    }
    rmSync(file);
    return { what: `deleted ${rel(file)}`, crashLike: file === active };
  }
  if (kind === 9) {
    // node.json edited by hand.
    const file = path.join(dir, NODE_FILE);
    const node = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const edits: Array<[string, () => string]> = [
      ['null', () => 'null'],
      ['[]', () => '[]'],
      ['"3"', () => '"3"'],
      ['nodeId 4', () => JSON.stringify({ ...node, nodeId: 4 })],
      ['nodeId "3"', () => JSON.stringify({ ...node, nodeId: '3' })],
      ['formatVersion 3', () => JSON.stringify({ ...node, formatVersion: 3 })],
      ['formatVersion 1', () => JSON.stringify({ ...node, formatVersion: 1 })],
      ['no clusterSize', () => JSON.stringify({ ...node, clusterSize: undefined })],
      ['clusterSize 5', () => JSON.stringify({ ...node, clusterSize: 5 })],
      ['clusterSize 2.5', () => JSON.stringify({ ...node, clusterSize: 2.5 })],
      ['rejoin null', () => JSON.stringify({ ...node, rejoin: null })],
      ['rejoin {}', () => JSON.stringify({ ...node, rejoin: {} })],
      ['createdAt {}', () => JSON.stringify({ ...node, createdAt: {} })],
      ['cut', () => JSON.stringify(node).slice(0, r.int(0, 30))],
    ];
    const [what, text] = pick(edits);
    writeFileSync(file, text());
    return { what: `node.json edited: ${what}`, crashLike: false };
  }
  const file = pick(files);
  const buf = readFileSync(file);
  const isActive = file === active;
  const name = `${rel(file)} (${buf.length} bytes)`;
  switch (kind) {
    case 0:
    case 1:
    case 2: {
      if (buf.length === 0) return damage(dir, r);
      const at = r.int(0, buf.length);
      const bit = r.int(0, 8);
      buf[at] = (buf[at] as number) ^ (1 << bit);
      writeFileSync(file, buf);
      return { what: `bit ${bit} of byte ${at} of ${name} flipped`, crashLike: false };
    }
    case 3:
    case 4: {
      const at = r.int(0, buf.length + 1);
      writeFileSync(file, buf.subarray(0, at));
      return { what: `${name} cut to ${at} bytes`, crashLike: isActive };
    }
    case 5: {
      if (buf.length === 0) return damage(dir, r);
      const page = r.int(0, Math.ceil(buf.length / 4096));
      buf.fill(0, page * 4096, Math.min(buf.length, page * 4096 + 4096));
      writeFileSync(file, buf);
      return { what: `page ${page} of ${name} zeroed`, crashLike: isActive };
    }
    case 6: {
      const garbage = r.chance(0.5) ? Buffer.from(Array.from({ length: r.int(1, 600) }, () => r.int(0, 256))) : Buffer.alloc(r.int(1, 1200));
      writeFileSync(file, Buffer.concat([buf, garbage]));
      return { what: `${garbage.length} bytes of ${garbage.some((b) => b !== 0) ? 'garbage' : 'zeros'} appended to ${name}`, crashLike: false };
    }
    default: {
      // A record duplicated: a copy of one frame inserted after it, or appended at the end.
      const framed = /\.(wal|bin|seg)$/.test(file);
      const frames = framed ? frameOffsets(buf, file.endsWith('.seg') ? 0 : HEADER_BYTES) : [];
      if (frames.length === 0) return damage(dir, r);
      const f = pick(frames);
      const copy = buf.subarray(f.at, f.at + f.bytes);
      const atEnd = r.chance(0.5);
      const out = atEnd ? Buffer.concat([buf, copy]) : Buffer.concat([buf.subarray(0, f.at + f.bytes), copy, buf.subarray(f.at + f.bytes)]);
      writeFileSync(file, out);
      return { what: `the record at byte ${f.at} of ${name} duplicated ${atEnd ? 'at the end' : 'after itself'}`, crashLike: false };
    }
  }
}

/** What the reopened node lost or got wrong (empty: nothing); throws what opening threw. */
async function violations(dataDir: string, acked: Acked, crashLike: boolean): Promise<string[]> {
  const { storage, core } = await openNode(dataDir);
  try {
    const out: string[] = [];
    const history = storage.history;
    const held = new Map<bigint, SlotValue>();
    for (let from = history.firstSlot; from < history.endSlot; ) {
      const got = history.read(from, 1000, 1 << 30);
      if (got.length === 0) break;
      for (const c of got) held.set(c.slot, c.value);
      from = (got[got.length - 1]?.slot ?? from) + 1n;
    }
    // Never another value, never a slot taken as chosen that was not.
    for (const [slot, value] of held) {
      if (slot >= acked.chosenEnd) out.push(`the history holds slot ${slot}, which was never chosen`);
      else if (!slotValuesEqual(value, valueOf(Number(slot)))) out.push(`the history holds another value in slot ${slot}`);
    }
    if (core.committedIndex > acked.chosenEnd) out.push(`committed index ${core.committedIndex} is past the chosen slots (${acked.chosenEnd})`);
    const snap = core.snapshot();
    for (const c of snap.chosen) if (c.slot >= acked.chosenEnd || !slotValuesEqual(c.value, valueOf(Number(c.slot)))) out.push(`slot ${c.slot} is held chosen with a value never chosen there`);
    for (const a of snap.accepted) {
      const voted = acked.votes.get(a.slot);
      if (voted === undefined || compareBallots(a.ballot, voted) > 0 || !slotValuesEqual(a.value, valueOf(Number(a.slot)))) out.push(`a vote in slot ${a.slot} at ${formatBallot(a.ballot)} that was never cast`);
    }
    if (crashLike) return out;
    // Everything acknowledged.
    if (compareBallots(snap.promised, acked.promised) < 0) out.push(`promised ${formatBallot(snap.promised)}, below the acknowledged ${formatBallot(acked.promised)}`);
    for (const [slot, ballot] of acked.votes) {
      const a = snap.accepted.find((e) => e.slot === slot);
      const kept = a !== undefined && compareBallots(a.ballot, ballot) >= 0;
      const decided = slot < core.committedIndex && held.has(slot);
      if (!kept && !decided) out.push(`the vote in slot ${slot} at ${formatBallot(ballot)} is gone`);
    }
    for (let s = 0n; s < acked.syncedEnd; s++) if (!held.has(s) && s >= history.firstSlot) out.push(`the history lost slot ${s}, below the last checkpoint's ${acked.syncedEnd}`);
    if (history.firstSlot > 0n) out.push(`the history starts at slot ${history.firstSlot}: slots below it are gone`);
    return out;
  } finally {
    await storage.close();
  }
}

/** Why a refusal is not the typed, file-naming, safe one it must be (undefined: it is). */
function badRefusal(err: unknown, dataDir: string): string | undefined {
  const e = err as Error;
  if (!(err instanceof StorageCorruptionError || err instanceof DataDirError || err instanceof HistoryBehindError)) return `untyped ${e?.name}: ${e?.message}\n${e?.stack}`;
  if (!e.message.includes(dataDir)) return `the message names no file of the data dir: ${e.message}`;
  if (/(?<!do not )point the node at (another|a new) data dir/i.test(e.message)) return `the message sends the operator to another data dir: ${e.message}`;
  if (!/restore|keep this data dir|rejoin|start (it|this acceptor) with|run a build/i.test(e.message)) return `the message says nothing to do: ${e.message}`;
  return undefined;
}

describe('a data dir damaged at rest (seeded)', () => {
  for (const seed of SEEDS) {
    it(`reopens with everything it acknowledged, or refuses with a typed error naming the file (FUZZ_SEED=${seed})`, async () => {
      const { dir, cleanup } = tempDir('storage-corruption-');
      try {
        const r = new SeededRandom(seed);
        const base = path.join(dir, 'base');
        // The history's flush timing and the checkpoints' follow the clock: fake, so a seed builds one data dir.
        jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
        let acked: Acked;
        try {
          acked = await build(base, r.fork('build'));
        } finally {
          jest.useRealTimers();
        }
        expect(acked.syncedEnd).toBeGreaterThan(0n);
        expect(readdirSync(path.join(base, HISTORY_DIR)).filter((n) => n.endsWith('.idx')).length).toBeGreaterThan(0);
        expect(existsSync(path.join(base, SNAPSHOT_FILE))).toBe(true);
        const failures: string[] = [];
        let refused = 0;
        for (let i = 0; i < CASES; i++) {
          const caseDir = path.join(dir, `case-${i}`);
          cpSync(base, caseDir, { recursive: true });
          const d = damage(caseDir, r.fork(`case ${i}`));
          let found: string[];
          try {
            found = await violations(caseDir, acked, d.crashLike);
          } catch (err) {
            const bad = badRefusal(err, caseDir);
            found = bad === undefined ? [] : [bad];
            refused++;
          }
          if (found.length > 0) failures.push(`FUZZ_SEED=${seed} case ${i}: ${d.what}:\n  ${found.slice(0, 4).join('\n  ')}`);
          rmSync(caseDir, { recursive: true, force: true });
        }
        expect(failures).toEqual([]);
        expect(refused).toBeGreaterThan(0);
      } finally {
        cleanup();
      }
    }, 60_000);
  }
});
