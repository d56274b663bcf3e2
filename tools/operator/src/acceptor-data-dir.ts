// What an acceptor's data dir holds, as launch and rejoin read it from outside the acceptor. The
// file names are the acceptor's (apps/acceptor/src/storage/data-dir.ts and data-dir-lock.ts); an
// app's code is not imported by the tools, so they are named here once for both.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const NODE_FILE = 'node.json';
const SNAPSHOT_FILE = 'snapshot.bin';
/** What the acceptor itself takes for data when it opens a dir (acceptor-storage.ts hasData): a checkpoint in its rename, the chosen history, the history of earlier builds. */
const DATA_NAMES = new Set([SNAPSHOT_FILE, 'snapshot.bin.tmp', 'history', 'chosen.sqlite']);
const SEGMENT_RE = /^log-\d{16}\.wal$/;
/**
 * Written by an acceptor whose vote log was lost under it: it refuses to start there, so such a dir
 * needs a rejoin even when it rejoined before.
 */
const LOG_LOST_FILE = 'log-lost.txt';

/**
 * What an acceptor leaves in its data dir before it writes node.json (its lock, the temporary
 * node.json, its write probe): a dir that holds only these was never given a vote (an acceptor
 * killed while it started, a rejoin among them).
 */
function startLeftover(name: string): boolean {
  return /^lock\.sqlite(-journal|-wal|-shm)?$/.test(name) || name === `${NODE_FILE}.tmp` || name.startsWith('.write-probe-');
}

/** Whether the dir's node.json records a rejoin floor (false when it cannot be read). */
function recordsRejoinFloor(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, NODE_FILE), 'utf8')) as { rejoin?: unknown }).rejoin !== undefined;
  } catch {
    return false;
  }
}

/**
 * The number of acceptors the dir's node.json says it was made for (its `clusterSize`), or
 * undefined when node.json is missing or cannot be read: the acceptor refuses a start with another
 * --cluster-size, so this is the network size its votes belong to.
 */
export function recordedClusterSize(dir: string): number | undefined {
  try {
    const size = (JSON.parse(readFileSync(join(dir, NODE_FILE), 'utf8')) as { clusterSize?: unknown }).clusterSize;
    return Number.isInteger(size) && (size as number) > 0 ? (size as number) : undefined;
  } catch {
    return undefined;
  }
}

function entries(dir: string): string[] | undefined {
  try {
    return readdirSync(dir);
  } catch {
    return undefined;
  }
}

/**
 * Whether an acceptor's data dir holds its votes: node.json with a log segment or snapshot.bin
 * (the acceptor makes its first segment durable before it answers anything), or node.json with a
 * rejoin floor (a rejoin under way, which restarts under that floor). node.json alone is not data:
 * a dir that kept it and lost the rest would start afresh and forget every promise and vote.
 */
export function holdsVotes(dir: string): boolean {
  const names = entries(dir);
  if (names === undefined || !names.includes(NODE_FILE)) return false;
  return names.some((n) => n === SNAPSHOT_FILE || SEGMENT_RE.test(n)) || recordsRejoinFloor(dir);
}

/**
 * Whether an acceptor's data dir holds what the acceptor itself takes for data (a log segment,
 * snapshot.bin or its temporary, the chosen history), node.json or not. One that lost node.json
 * alone kept every promise and vote: it is not lost data, and the acceptor started on it refuses,
 * saying to restore node.json.
 */
export function holdsVoteLog(dir: string): boolean {
  return (entries(dir) ?? []).some((n) => DATA_NAMES.has(n) || SEGMENT_RE.test(n));
}

/** What a lost acceptor's data dir holds for rejoin: nothing (it may rejoin), a rejoin already under way, or data. */
export function dataDirState(dir: string): 'empty' | 'rejoined' | 'data' {
  if (!existsSync(dir)) return 'empty';
  const names = entries(dir);
  if (names !== undefined && names.every(startLeftover)) return 'empty';
  if (existsSync(join(dir, LOG_LOST_FILE))) return 'data';
  return recordsRejoinFloor(dir) ? 'rejoined' : 'data';
}
