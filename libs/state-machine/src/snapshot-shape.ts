// The shape of a decoded state snapshot, checked before anything is built from it. A snapshot
// arrives from other nodes (a proposer's InstallStateSnapshot, an acceptor's GetStateSnapshot
// answer) as well as from the node's own disk, and V8's deserializer gives back whatever the bytes
// describe: a string where a slot belongs, an array with holes, a point beyond the snapshot's own
// slot. Built on, such a state answered reads with nonsense slots, tripped the sessions' own
// assertions at the next command (a crash from network input) or failed only later, when it was
// encoded again. Checked here once, in one pass, every field the state machine reads.
import { DEFAULT_LIMITS } from '@paxos/consensus-core';

/** (slot, index) packed as slot * INDEX_SPAN + index while it fits (client-sessions.ts). */
const INDEX_SPAN = 65_536;
/**
 * A command's index in its slot: each command takes at least one byte of its value (its id), and
 * the largest value bound a node runs with is 64 MiB (--max-value-bytes; DEFAULT_LIMITS' 1 MiB is
 * only the default). Bounded by the default, a network run above it wrote snapshots, once a batch
 * held more than 2^20 commands, that every node refused, its own disk's included.
 */
const COMMAND_INDEX_MAX = 64 * 1024 * 1024;
const UINT64_MAX = (1n << 64n) - 1n;
const UINT32_MAX = 2 ** 32 - 1;

/** What is wrong with the shape of a decoded snapshot's state, or undefined. */
export function stateSnapshotShapeProblem(state: unknown): string | undefined {
  try {
    checkState(state);
    return undefined;
  } catch (e) {
    if (e instanceof ShapeProblem) return e.message;
    throw e;
  }
}

class ShapeProblem extends Error {}

function fail(what: string): never {
  throw new ShapeProblem(what);
}

function checkState(s: unknown): void {
  const state = record(s, 'the state');
  const slot = state['slot'];
  if (typeof slot !== 'bigint' || slot < 0n || slot > DEFAULT_LIMITS.slotMax) fail(`its slot ${describe(slot)} is not a slot (0 to ${DEFAULT_LIMITS.slotMax})`);
  checkSessions(record(state['sessions'], 'its sessions'), slot);
  checkRegistry(record(state['registry'], 'its registry'), slot);
}

function checkSessions(s: Record<string, unknown>, slot: bigint): void {
  if (s['next'] !== slot) fail(`its sessions are at slot ${describe(s['next'])}, the snapshot at ${slot}`);
  const ids = denseArray(s['ids'], 'its session ids');
  const points = denseArray(s['points'], 'its session points');
  if (points.length !== ids.length) fail(`its sessions hold ${points.length} points for ${ids.length} ids`);
  for (let i = 0; i < points.length; i++) checkPoint(points[i], slot, i);
  const details = denseArray(s['details'], 'its session details');
  if (details.length > ids.length) fail(`its sessions hold ${details.length} details for ${ids.length} ids`);
  // A detail of an id not remembered would be kept past the sessions' bound, never evicted.
  const remembered = details.length > 0 ? new Set(ids) : undefined;
  const detailed = new Set<unknown>();
  for (let i = 0; i < details.length; i++) {
    const entry = denseArray(details[i], `session detail ${i}`);
    if (entry.length !== 2 || typeof entry[0] !== 'string') fail(`session detail ${i} is not an id and its detail`);
    if (!remembered?.has(entry[0]) || detailed.has(entry[0])) fail(`session detail ${i} is of an id the sessions do not remember, or of one already detailed`);
    detailed.add(entry[0]);
    const d = record(entry[1], `session detail ${i}`);
    const ballot = record(d['ballot'], `session detail ${i}'s ballot`);
    if (!isUint64(ballot['round']) || !isUint32(ballot['proposerId'])) fail(`session detail ${i}'s ballot is not a round and a proposer id`);
    // A detail written before details kept the content type has none (a retry then compares bytes only).
    if (typeof d['digest'] !== 'string' || (d['contentType'] !== undefined && typeof d['contentType'] !== 'string')) fail(`session detail ${i} has no digest, or a content type that is not text`);
  }
}

function checkPoint(p: unknown, slot: bigint, i: number): void {
  // Where the id took effect: in a slot the snapshot has applied (below its own).
  let at: bigint;
  if (typeof p === 'number') {
    if (!Number.isSafeInteger(p) || p < 0) fail(`session point ${i} (${describe(p)}) is not a slot and index`);
    at = BigInt(Math.floor(p / INDEX_SPAN));
  } else {
    const o = record(p, `session point ${i}`) as { slot?: unknown; index?: unknown };
    if (typeof o.slot !== 'bigint' || o.slot < 0n || !Number.isSafeInteger(o.index) || (o.index as number) < 0 || (o.index as number) > COMMAND_INDEX_MAX) {
      fail(`session point ${i} is not a slot and index`);
    }
    at = o.slot;
  }
  if (at >= slot) fail(`session point ${i} is at slot ${at}, not below the snapshot's slot ${slot}`);
}

function checkRegistry(r: Record<string, unknown>, slot: bigint): void {
  const slotOf = denseArray(r['slotOf'], "its registry's proposal numbers");
  const numbers = new Map<bigint, bigint>();
  for (let i = 0; i < slotOf.length; i++) {
    const pair = denseArray(slotOf[i], `proposal number ${i}`);
    const [n, at] = pair;
    if (pair.length !== 2 || !isUint64(n) || typeof at !== 'bigint' || at < 0n || at >= slot) fail(`proposal number ${i} is not a number and a slot below ${slot}`);
    if (numbers.has(n)) fail(`its registry lists proposal ${n} twice`);
    numbers.set(n, at);
  }
  const records = denseArray(r['records'], "its registry's records");
  const recorded = new Set<bigint>();
  for (let i = 0; i < records.length; i++) {
    const rec = record(records[i], `record ${i}`);
    const n = rec['proposalNumber'];
    if (!isUint64(n)) fail(`record ${i} has no proposal number`);
    if (recorded.has(n)) fail(`its registry holds two records of proposal ${n}`);
    recorded.add(n);
    if (numbers.get(n) !== rec['slot']) fail(`the record of proposal ${n} says slot ${describe(rec['slot'])}, its registry ${describe(numbers.get(n))}`);
    if (!isUint32(rec['proposerId']) || typeof rec['clientRequestId'] !== 'string' || typeof rec['leaderboardSha256'] !== 'string') fail(`the record of proposal ${n} lacks its proposer, request id or leaderboard hash`);
    const board = denseArray(rec['leaderboard'], `the leaderboard of proposal ${n}`);
    for (let j = 0; j < board.length; j++) checkEntry(board[j], `row ${j} of proposal ${n}`);
    const claims = denseArray(rec['claims'], `the claims of proposal ${n}`);
    for (let j = 0; j < claims.length; j++) {
      const c = record(claims[j], `claim ${j} of proposal ${n}`);
      const claim = record(c['claim'], `claim ${j} of proposal ${n}`);
      if (!isUint32(claim['source']) || !isText(claim, ['label', 'field', 'claimedValue'])) fail(`claim ${j} of proposal ${n} is not a source, label, field and value`);
      const by = denseArray(c['checkedBy'], `the checkers of claim ${j} of proposal ${n}`);
      if (!by.every(isUint32)) fail(`claim ${j} of proposal ${n} names a checker that is not an acceptor id`);
    }
  }
  const rows = denseArray(r['rows'], 'its leaderboard');
  const frameworks = new Set<string>();
  for (let i = 0; i < rows.length; i++) {
    checkRow(rows[i], `leaderboard row ${i}`, slot);
    const framework = (rows[i] as { framework: string }).framework;
    if (frameworks.has(framework)) fail(`its leaderboard lists ${JSON.stringify(framework.slice(0, 64))} twice`);
    frameworks.add(framework);
  }
  const changes = denseArray(r['changes'], "its leaderboard's history");
  for (let i = 0; i < changes.length; i++) checkRow(changes[i], `leaderboard change ${i}`, slot);
  if (!isCount(r['refusedCount'])) fail(`its registry counts ${describe(r['refusedCount'])} refusals`);
  const forgotten = r['forgottenAtOrBelow'];
  if (forgotten !== undefined && !isUint64(forgotten)) fail(`its registry forgot numbers at or below ${describe(forgotten)}`);
  if (r['forgottenCount'] !== undefined && !isCount(r['forgottenCount'])) fail(`its registry forgot ${describe(r['forgottenCount'])} numbers`);
}

function checkEntry(e: unknown, what: string): void {
  if (!isText(record(e, what), ['framework', 'score', 'pricePerPoint', 'bid', 'ask'])) fail(`${what} is not a framework, score, price per point, bid and ask`);
}

function checkRow(row: unknown, what: string, slot: bigint): void {
  checkEntry(row, what);
  const r = row as { proposalNumber?: unknown; slot?: unknown };
  if (!isUint64(r.proposalNumber) || typeof r.slot !== 'bigint' || r.slot < 0n || r.slot >= slot) fail(`${what} does not name a proposal and a slot below ${slot}`);
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v) || v instanceof Map || v instanceof Set) fail(`${what} is not a record`);
  return v as Record<string, unknown>;
}

/** An array without holes (a hole reads as undefined and every() skips it). */
function denseArray(v: unknown, what: string): readonly unknown[] {
  if (!Array.isArray(v)) fail(`${what} are not a list`);
  for (let i = 0; i < v.length; i++) if (!(i in v)) fail(`${what} have a hole at ${i}`);
  return v;
}

function isText(o: Record<string, unknown>, keys: readonly string[]): boolean {
  return keys.every((k) => typeof o[k] === 'string');
}

function isUint64(v: unknown): v is bigint {
  return typeof v === 'bigint' && v >= 0n && v <= UINT64_MAX;
}

function isUint32(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= UINT32_MAX;
}

function isCount(v: unknown): boolean {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function describe(v: unknown): string {
  return typeof v === 'bigint' ? `${v}` : typeof v === 'string' ? JSON.stringify(v.slice(0, 32)) : v === undefined ? 'none' : typeof v === 'object' ? (v === null ? 'null' : 'an object') : String(v);
}
