// The bytes of a durable snapshot of the agreed state. V8's structured serialization (node:v8)
// keeps bigints, Maps' entries and byte arrays exactly and is many times faster than JSON for the
// 200,000 session ids. It is read by the node that wrote it and by the nodes a snapshot is
// installed on (state transfer), all on the Node the toolchain pins: V8 reads what an older V8
// wrote, not always the reverse, so a node on an older Node refuses a newer one's snapshot (loudly,
// and the transfer tries another acceptor). A format number comes first so that a later format can
// be told apart.
import { deserialize, serialize } from 'node:v8';
import { SESSION_ID_CHARS_KEPT, UNKNOWN_VALUE_KEY } from '@paxos/consensus-core';
import { type AgreedStateSnapshot, longSessionIdKey } from './agreed-state';
import { registrySnapshotProblem } from './harmonic-registry';
import { stateSnapshotShapeProblem } from './snapshot-shape';

/**
 * 2: a claim's `checkedBy` is the certificate's acceptors of its source (format 1 listed every
 * acceptor holding it). 3: the registry's bounds (a leaderboard's rows, names and numbers; 4,096
 * frameworks; the records kept bounded in bytes), under which a proposal a format-2 snapshot
 * counted may be refused. 4: the registry forgot proposal numbers past its bound
 * (RegistryOptions.numbersMax) and refuses those at or below the highest forgotten
 * (`forgottenAtOrBelow`), and how many it forgot (`forgottenCount`). A format-1 snapshot is taken as one of format 2 once its claims are
 * read as the log gives them now (below).
 */
export const STATE_SNAPSHOT_FORMAT = 4;
/**
 * Written while the registry has forgotten no proposal number: the same state under format 4's
 * rules and format 3's, so that builds from before the numbers' bound read it (a network that
 * never passed a million proposal numbers can still go back to one of them).
 */
export const STATE_SNAPSHOT_FORMAT_BEFORE_FORGETTING = 3;
/**
 * A format-2 snapshot is taken when what it holds passes the bounds (registrySnapshotProblem), its
 * records cut to the bound in bytes: a node whose history below it was dropped (retention) has
 * nothing else to start from. It is the state a node applying the log under the bounds reaches
 * unless the log held a proposal they refuse and that left no trace in the snapshot (its rows all
 * replaced, its record forgotten), which only a client attacking the network before the upgrade
 * could have put there. A node whose history starts at slot 0 applies it instead (restore-state.ts in acceptor-node).
 */
export const STATE_SNAPSHOT_FORMAT_BEFORE_BOUNDS = 2;
/**
 * Written by builds from before claim certificates, whose commands carry none: applied now, such a
 * command's claims are checked by no certificate (checkedBy empty), where format 1 listed every
 * acceptor holding the source. Read with checkedBy emptied, it is the state the log gives today,
 * and then taken as format 2 is. Refusing it left a network upgraded under retention, whose history
 * below its snapshots is gone, with no agreed state on any node: no reads, no proposer, no writes.
 */
export const STATE_SNAPSHOT_FORMAT_BEFORE_CERTIFICATES = 1;
const FORMATS_READ: readonly unknown[] = [STATE_SNAPSHOT_FORMAT, STATE_SNAPSHOT_FORMAT_BEFORE_FORGETTING, STATE_SNAPSHOT_FORMAT_BEFORE_BOUNDS, STATE_SNAPSHOT_FORMAT_BEFORE_CERTIFICATES];

/** Whether a snapshot of this format was made under today's rules (the registry's bounds included). */
export function isCurrentStateSnapshotFormat(format: number): boolean {
  return format === STATE_SNAPSHOT_FORMAT || format === STATE_SNAPSHOT_FORMAT_BEFORE_FORGETTING;
}

export function encodeStateSnapshot(s: AgreedStateSnapshot): Buffer {
  return serialize({ format: s.registry?.forgottenAtOrBelow === undefined ? STATE_SNAPSHOT_FORMAT_BEFORE_FORGETTING : STATE_SNAPSHOT_FORMAT, state: s });
}

/** The snapshot in `bytes`; an Error saying what is wrong when they are not one. */
export function decodeStateSnapshot(bytes: Uint8Array): AgreedStateSnapshot {
  return decodeStateSnapshotWithFormat(bytes).snapshot;
}

/** The snapshot in `bytes` and the format it was written in (one of FORMATS_READ). */
export function decodeStateSnapshotWithFormat(bytes: Uint8Array): { snapshot: AgreedStateSnapshot; format: number } {
  let doc: unknown;
  try {
    doc = deserialize(bytes);
  } catch (err) {
    throw new Error(`not a state snapshot: ${(err as Error).message}`);
  }
  const sparse = sparseArrayProblem(doc, bytes.length);
  if (sparse !== undefined) throw new Error(`not a state snapshot: ${sparse}`);
  const d = doc as { format?: unknown; state?: Partial<AgreedStateSnapshot> } | null;
  if (d === null || typeof d !== 'object' || !FORMATS_READ.includes(d.format)) {
    throw new Error(`not a state snapshot of format ${FORMATS_READ.join(', ')} (format ${String(d?.format)})`);
  }
  const s = d.state;
  if (!s || typeof s.slot !== 'bigint' || !s.sessions || !Array.isArray(s.sessions.ids) || !s.registry || !Array.isArray(s.registry.records)) {
    throw new Error('a state snapshot without its slot, sessions or registry');
  }
  const sessions = s.sessions as Partial<AgreedStateSnapshot['sessions']> & { ids: readonly unknown[] };
  if (typeof sessions.idsMax !== 'number' || !Number.isInteger(sessions.idsMax) || sessions.idsMax < 1) throw new Error(`a state snapshot whose sessions remember ${String(sessions.idsMax)} ids (at least 1)`);
  if (!Array.isArray(sessions.points) || sessions.points.length !== sessions.ids.length || sessions.ids.length > sessions.idsMax) {
    throw new Error('a state snapshot whose sessions do not hold one point per id, within their bound');
  }
  if (!sessions.ids.every((id) => typeof id === 'string')) throw new Error('a state snapshot with a session id that is not text');
  // Each id once, by the key the sessions keep it by: an id listed twice (a damaged or lying node's
  // snapshot) took two places in the sessions' ring, so that they went on remembering more ids than
  // their bound, deciding copies otherwise than a node applying the log, and wrote snapshots every
  // node refuses.
  const keys = new Set<string>();
  for (const id of sessions.ids as readonly string[]) {
    const key = id.length <= SESSION_ID_CHARS_KEPT ? id : longSessionIdKey(id);
    if (keys.has(key)) throw new Error(`a state snapshot whose sessions list the id ${JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}...` : id)} twice`);
    keys.add(key);
  }
  // Value keys (written since the sessions kept them; earlier snapshots hold none): one per id.
  const valueKeys: unknown = (sessions as { valueKeys?: unknown }).valueKeys;
  if (valueKeys !== undefined && !(Array.isArray(valueKeys) && valueKeys.length === sessions.ids.length && valueKeys.every(isValueKey))) {
    throw new Error('a state snapshot whose sessions do not hold one value key (-1, or a whole number below 2^48) per id');
  }
  const keyFunction: unknown = (sessions as { valueKeyFunction?: unknown }).valueKeyFunction;
  if (keyFunction !== undefined && !(typeof keyFunction === 'string' && keyFunction.length <= 64)) throw new Error('a state snapshot whose sessions name their value key function with other than a short text');
  let snapshot = s as AgreedStateSnapshot;
  if (d.format === STATE_SNAPSHOT_FORMAT && typeof snapshot.registry.forgottenAtOrBelow !== 'bigint') throw new Error('a state snapshot of format 4 without the highest proposal number its registry forgot');
  const forgottenCount: unknown = snapshot.registry.forgottenCount;
  if (d.format === STATE_SNAPSHOT_FORMAT && forgottenCount !== undefined && !(Number.isSafeInteger(forgottenCount) && (forgottenCount as number) >= 0)) {
    throw new Error(`a state snapshot of format 4 whose registry forgot ${String(forgottenCount)} proposal numbers`);
  }
  // Before format 4 no number was forgotten: whatever else such a file says, it says nothing of one.
  if (d.format !== STATE_SNAPSHOT_FORMAT) snapshot = { ...snapshot, registry: { ...snapshot.registry, forgottenAtOrBelow: undefined, forgottenCount: undefined } };
  if (d.format === STATE_SNAPSHOT_FORMAT_BEFORE_CERTIFICATES) snapshot = withUncertifiedClaims(snapshot);
  const shape = stateSnapshotShapeProblem(snapshot);
  if (shape !== undefined) throw new Error(`a malformed state snapshot: ${shape}`);
  if (!isCurrentStateSnapshotFormat(d.format as number)) {
    const problem = registrySnapshotProblem(snapshot.registry);
    if (problem !== undefined) throw new Error(`a state snapshot of format ${String(d.format)}, from before the registry's bounds, holding what they refuse: ${problem}`);
  }
  return { snapshot, format: d.format as number };
}

/**
 * An array with holes, or longer than the bytes it came from could hold, anywhere in `doc`; the
 * snapshot encoder writes neither. Every later check walks arrays element by element: a few hundred
 * bytes declaring a sparse array of 2^32 ids held a node's only thread for a minute, and a hole read
 * as an element threw a TypeError. Checked first, in one pass as long as the bytes are.
 */
function sparseArrayProblem(doc: unknown, bytesLength: number): string | undefined {
  const seen = new Set<object>();
  const pending: object[] = [];
  const visit = (v: unknown) => {
    if (typeof v === 'object' && v !== null && !seen.has(v)) {
      seen.add(v);
      pending.push(v);
    }
  };
  visit(doc);
  for (let v = pending.pop(); v !== undefined; v = pending.pop()) {
    if (Array.isArray(v)) {
      if (v.length > bytesLength) return `an array of ${v.length} elements in ${bytesLength} bytes`;
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) return `an array with no element at index ${i} of ${v.length}`;
        visit(v[i]);
      }
    } else if (v instanceof Map) {
      for (const [key, value] of v) {
        visit(key);
        visit(value);
      }
    } else if (v instanceof Set) {
      for (const value of v) visit(value);
    } else if (!ArrayBuffer.isView(v)) {
      for (const key of Object.keys(v)) visit((v as Record<string, unknown>)[key]);
    }
  }
  return undefined;
}

function isValueKey(k: unknown): boolean {
  return k === UNKNOWN_VALUE_KEY || (Number.isSafeInteger(k) && (k as number) >= 0 && (k as number) < 2 ** 48);
}

/** A format-1 snapshot's registry as the log gives it now: no claim carries a certificate. */
function withUncertifiedClaims(s: AgreedStateSnapshot): AgreedStateSnapshot {
  if (!s.registry.records.every((r) => r !== null && typeof r === 'object' && Array.isArray(r.claims))) throw new Error('a state snapshot of format 1 with a proposal record without its claims');
  const records = s.registry.records.map((r) => ({ ...r, claims: r.claims.map((c) => ({ ...c, checkedBy: [] })) }));
  return { ...s, registry: { ...s.registry, records } };
}
