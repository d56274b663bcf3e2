// The data dir: its files, its owner (node.json), the in-process guard on it, and directory fsync.
import { closeSync, fsyncSync, openSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { formatBallot, type RejoinFloor } from '@paxos/consensus-core';
import { KEEP_DAMAGED_DATA_DIR } from '@paxos/acceptor-node';
import { DataDirError, unreadableAdvice } from './errors';
import { FORMAT_VERSION, FORMAT_VERSIONS_READ } from './framing';

export const NODE_FILE = 'node.json';
export const SNAPSHOT_FILE = 'snapshot.bin';
export const SNAPSHOT_TMP_FILE = 'snapshot.bin.tmp';
/** Written when the active log segment was lost under the running node: a restart refuses to start over it. */
export const LOG_LOST_FILE = 'log-lost.txt';
const SEGMENT_RE = /^log-(\d{16})\.wal$/;

export const segmentName = (gen: bigint): string => `log-${gen.toString().padStart(16, '0')}.wal`;
export function segmentGeneration(name: string): bigint | undefined {
  const m = SEGMENT_RE.exec(name);
  return m ? BigInt(m[1]) : undefined;
}

export interface NodeFile {
  nodeId: number;
  createdAt: string;
  formatVersion: number;
  /** The number of acceptors of the network the dir was made for (absent in dirs made before it was recorded). */
  clusterSize?: number;
  /**
   * Present when the dir was made for an acceptor that lost its data and rejoined (npm run
   * rejoin): the floor it must not undercut, kept for the dir's lifetime.
   */
  rejoin?: { promised: string; catchUpTo: string };
}

/** A ballot as formatBallot writes it ("round.proposerId"; "0.0" is no promise). */
export function parseFloorBallot(text: string): RejoinFloor['promised'] | undefined {
  const m = /^(\d{1,20})\.(\d{1,10})$/.exec(text);
  if (m === null) return undefined;
  const round = BigInt(m[1]);
  const proposerId = Number(m[2]);
  if (round >= 1n << 64n || proposerId > 0xffffffff) return undefined;
  return { round, proposerId };
}

const floorText = (floor: RejoinFloor): { promised: string; catchUpTo: string } => ({ promised: formatBallot(floor.promised), catchUpTo: floor.catchUpTo.toString() });

/** The rejoin floor node.json records, if any; a malformed one is an error (the file is ours). */
export function recordedRejoinFloor(node: NodeFile, file: string): RejoinFloor | undefined {
  const r = node.rejoin;
  if (r === undefined) return undefined;
  const promised = typeof r?.promised === 'string' ? parseFloorBallot(r.promised) : undefined;
  const catchUpTo = typeof r?.catchUpTo === 'string' && /^\d{1,20}$/.test(r.catchUpTo) ? BigInt(r.catchUpTo) : undefined;
  if (promised === undefined || catchUpTo === undefined) {
    throw new DataDirError(`${file} has a rejoin floor that does not parse (${JSON.stringify(r)}); restore it as it was written (npm run rejoin printed it).`);
  }
  return { promised, catchUpTo };
}

/** The error's message (Node's system-error messages start with their code). */
const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** fsync a directory, so that creations, renames and unlinks in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsyncDir for synchronous callers (the chosen history's appends run inside a request's turn). */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` to `dir/name` atomically: temp file, fsync, rename, fsync dir. */
export async function writeFileAtomic(dir: string, name: string, data: string | Buffer): Promise<void> {
  const tmp = path.join(dir, `${name}.tmp`);
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, path.join(dir, name));
  await fsyncDir(dir);
}

/** Creates the data dir if needed and proves it writable; a clear DataDirError otherwise. */
export async function prepareDataDir(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (err) {
    throw new DataDirError(
      `cannot create the acceptor data dir ${dir} (${errText(err)}). Point the data dir at a writable directory ` +
        '(its parent must exist as a directory or be creatable).',
    );
  }
  const stat = await fsp.stat(dir);
  if (!stat.isDirectory()) throw new DataDirError(`the acceptor data dir ${dir} is not a directory. Point the data dir at a directory.`);
  const probe = path.join(dir, `.write-probe-${process.pid}`);
  try {
    const fh = await fsp.open(probe, 'w');
    await fh.close();
    await fsp.unlink(probe);
  } catch (err) {
    // A dir that holds anything holds this acceptor's promises and votes: another directory would
    // start it without them (unsafe), so the advice then is to mend this one. One that cannot be
    // listed either (another owner's, mode 0700) may hold them: only a dir seen empty is given up.
    const names = await fsp.readdir(dir).catch(() => undefined);
    throw new DataDirError(
      names === undefined || names.length > 0
        ? `the acceptor data dir ${dir} is not writable (${errText(err)}). Fix its permissions (or its owner, read-only mount or immutable flag) and start it again on this dir: it ${names === undefined ? 'cannot be listed either, and may hold' : 'holds'} this acceptor's promises and votes, and another dir would start it without them.`
        : `the acceptor data dir ${dir} is not writable (${errText(err)}). Fix its permissions or point the data dir at a writable directory.`,
    );
  }
}

/**
 * Reads node.json, or writes it on first start; refuses a dir that belongs to another node, or
 * (given clusterSize) to a network of another size. A dir made before the size was recorded is
 * stamped with the size it is started with. A rejoin floor is recorded only in a new dir; a dir
 * that holds one is started again with the same floor or none.
 */
export async function claimDataDir(dir: string, nodeId: number, hasData: boolean, clusterSize?: number, rejoin?: RejoinFloor): Promise<NodeFile> {
  const file = path.join(dir, NODE_FILE);
  let text: string | undefined;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new DataDirError(
        `cannot read ${file} (${errText(err)}). ${unreadableAdvice(err)}` +
          (hasData ? `: ${NODE_FILE} names the node whose promises and votes ${dir} holds, and another data dir would start it without them.` : '.'),
      );
    }
  }
  if (text === undefined) {
    if (hasData) {
      throw new DataDirError(
        `the data dir ${dir} holds acceptor log or snapshot files but no ${NODE_FILE}, so its owner is unknown. ` +
          `Restore ${NODE_FILE} as it was (it names the node id). Do not point node ${nodeId} at an empty data dir in a network that has run: ` +
          'it would forget promises and votes it gave, so that two values could be chosen for one slot.',
      );
    }
    const created: NodeFile = {
      nodeId,
      createdAt: new Date().toISOString(),
      formatVersion: FORMAT_VERSION,
      ...(clusterSize !== undefined ? { clusterSize } : {}),
      ...(rejoin !== undefined ? { rejoin: floorText(rejoin) } : {}),
    };
    await writeFileAtomic(dir, NODE_FILE, `${JSON.stringify(created, null, 2)}\n`);
    return created;
  }
  // A dir that holds log or snapshot files holds this acceptor's promises and votes: a damaged
  // node.json is restored, never a reason to start the node on another dir.
  const restore = (what: string): string =>
    hasData
      ? `${file} ${what}. The rest of ${dir} holds this acceptor's promises and votes: restore ${NODE_FILE} as it was (an object with the node id, e.g. {"nodeId": ${nodeId}, "formatVersion": ${FORMAT_VERSION}}, if this is node ${nodeId}'s dir). ${KEEP_DAMAGED_DATA_DIR}`
      : `${file} ${what}; restore it or point the node at another data dir.`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DataDirError(restore(`is not valid JSON (${(err as Error).message})`));
  }
  // `null`, a number, a string or an array parse too: only an object holds the fields.
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new DataDirError(restore('is not a JSON object'));
  }
  const parsed = json as Partial<NodeFile>;
  if (typeof parsed.nodeId !== 'number' || typeof parsed.formatVersion !== 'number') {
    throw new DataDirError(restore('lacks a numeric nodeId and formatVersion'));
  }
  if (parsed.nodeId !== nodeId) {
    throw new DataDirError(
      `the data dir ${dir} belongs to node ${parsed.nodeId} (see ${file}), but this acceptor is node ${nodeId}. ` +
        `Give node ${nodeId} a data dir of its own, or start this acceptor as node ${parsed.nodeId} if this dir is the one you meant` +
        (hasData ? `; if this is node ${nodeId}'s dir and ${NODE_FILE} was changed, restore its nodeId (never start node ${nodeId} on an empty dir in a network that has run).` : '.'),
    );
  }
  if (!FORMAT_VERSIONS_READ.includes(parsed.formatVersion)) {
    throw new DataDirError(
      `the data dir ${dir} has storage format version ${parsed.formatVersion}; this build reads versions ${FORMAT_VERSIONS_READ.join(' and ')}. ` +
        (hasData
          ? `Run a build that matches the data, or restore the formatVersion of ${file} if it was changed; do not point the node at a new data dir, which would forget the promises and votes this one holds.`
          : 'Run a build that matches the data, or point the node at a new data dir.'),
    );
  }
  if (parsed.clusterSize !== undefined && (typeof parsed.clusterSize !== 'number' || !Number.isInteger(parsed.clusterSize) || parsed.clusterSize < 1)) {
    throw new DataDirError(restore('has a clusterSize that is not a positive integer'));
  }
  if (clusterSize !== undefined && parsed.clusterSize !== undefined && parsed.clusterSize !== clusterSize) {
    throw new DataDirError(
      `the data dir ${dir} was made for a network of ${parsed.clusterSize} acceptors (see ${file}), but this acceptor was started with --cluster-size ${clusterSize}. ` +
        'Changing the number of acceptors of a network that holds votes is not supported: the old and the new quorums need not intersect, so a second value could be chosen for a slot. ' +
        (hasData
          ? `Start it with --cluster-size ${parsed.clusterSize} if that is its network's size; if the network has ${clusterSize} acceptors and ${NODE_FILE} was changed, restore its clusterSize. ${KEEP_DAMAGED_DATA_DIR}`
          : `Start it with --cluster-size ${parsed.clusterSize}, or give it an empty data dir (a new network).`),
    );
  }
  const recorded = recordedRejoinFloor(parsed as NodeFile, file);
  if (rejoin !== undefined) {
    if (recorded === undefined) {
      throw new DataDirError(
        `the data dir ${dir} already holds node ${nodeId}'s data (see ${file}); a rejoin floor (--rejoin-promised, --rejoin-catch-up-to) is only for an acceptor whose data was lost, started on an empty data dir. ` +
          'Start it without them, or, if this data is damaged beyond use, move the dir aside and run npm run rejoin.',
      );
    }
    if (formatBallot(recorded.promised) !== formatBallot(rejoin.promised) || recorded.catchUpTo !== rejoin.catchUpTo) {
      throw new DataDirError(
        `the data dir ${dir} rejoined with the floor promised ${formatBallot(recorded.promised)}, catch up to ${recorded.catchUpTo} (see ${file}), not promised ${formatBallot(rejoin.promised)}, catch up to ${rejoin.catchUpTo}: ` +
          'start it with the recorded floor or without one (the recorded floor applies either way).',
      );
    }
  }
  const claimed: NodeFile = {
    nodeId: parsed.nodeId,
    createdAt: String(parsed.createdAt),
    formatVersion: parsed.formatVersion,
    ...((parsed.clusterSize ?? clusterSize) !== undefined ? { clusterSize: (parsed.clusterSize ?? clusterSize) as number } : {}),
    ...(recorded !== undefined ? { rejoin: floorText(recorded) } : {}),
  };
  if (parsed.clusterSize === undefined && clusterSize !== undefined) await writeFileAtomic(dir, NODE_FILE, `${JSON.stringify(claimed, null, 2)}\n`);
  return claimed;
}

const lockedInThisProcess = new Set<string>();

/**
 * Guards against opening one data dir twice in this process. The lock between processes is an OS
 * lock on lock.sqlite (data-dir-lock.ts).
 */
export function lockDataDir(dir: string): () => void {
  const key = path.resolve(dir);
  if (lockedInThisProcess.has(key)) {
    throw new DataDirError(`the data dir ${dir} is already open in this process; close the other storage first.`);
  }
  lockedInThisProcess.add(key);
  return () => {
    lockedInThisProcess.delete(key);
  };
}
