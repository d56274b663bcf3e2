// The chaos run's checker: given what the clients saw and what the nodes hold after the heal, the
// violations of the guarantees. Pure, so that it can be shown to fail on a forged history.
import { createHash } from 'node:crypto';
import type { ChosenEntry, SessionPoint } from '@paxos/consensus-core';
import { AgreedState, type AgreedStateSnapshot } from '@paxos/state-machine';

/** What one node answered for one chosen slot: the value's digest and which commands it marks duplicate. */
export interface NodeSlot {
  readonly slot: bigint;
  readonly valueDigest: string;
  /** client_request_id -> took effect here (false: a duplicate of an earlier copy), in batch order. */
  readonly effects: ReadonlyArray<{ readonly id: string; readonly tookEffect: boolean }>;
}

/**
 * A ReadLog answered OUT_OF_RANGE (history dropped under --history-retain-slots): the node keeps
 * slots from `keptFrom` on and names the state snapshot at `snapshotSlot` as what covers `from`.
 */
export interface OutOfRange {
  readonly node: string;
  readonly from: bigint;
  readonly keptFrom: bigint;
  readonly snapshotSlot: bigint;
}

export interface ChaosHistory {
  /** Every id a client sent. */
  readonly sent: ReadonlySet<string>;
  /** Ids a client had acknowledged, with the slot the answer named. */
  readonly acked: ReadonlyMap<string, bigint>;
  /** The chosen slots some node served after the heal, in slot order (gaps only where history was dropped). */
  readonly log: readonly ChosenEntry[];
  /** Slots below this one must be chosen (the slot of the write after the heal, plus one); default: the log's length. */
  readonly upTo?: bigint;
  /** What each node reports of the log (ReadLog): the proposer and every acceptor. */
  readonly nodes: ReadonlyMap<string, readonly NodeSlot[]>;
  /** The OUT_OF_RANGE answers the nodes gave (none without retention). */
  readonly outOfRange?: readonly OutOfRange[];
  /** Each acceptor's latest durable state snapshot (GetStateSnapshot), by node. */
  readonly snapshots?: ReadonlyMap<string, AgreedStateSnapshot>;
}

export interface Violation {
  readonly kind:
    | 'gap'
    | 'lost-ack'
    | 'ack-not-at-first-slot'
    | 'took-effect-twice'
    | 'nobody-sent'
    | 'nodes-disagree-on-value'
    | 'nodes-disagree-on-effect'
    | 'nodes-disagree-on-state'
    | 'out-of-range-uncovered'
    | 'unexpected-refusal'
    | 'not-level'
    | 'no-liveness'
    | 'stale-read';
  readonly detail: string;
}

export interface CheckFigures {
  readonly slots: number;
  /** Slots no node serves any more, covered by a state snapshot (retention). */
  readonly slotsInSnapshots: number;
  /** State snapshots compared with the state the log gives at their slot. */
  readonly snapshotsChecked: number;
  readonly commands: number;
  /** Copies of an id in the log after its first (made harmless by the sessions). */
  readonly duplicateCopies: number;
  readonly acked: number;
}

/** A digest of one chosen slot's value (ids, content types, bytes and claim certificates), to compare what nodes hold. */
export function slotDigest(e: ChosenEntry): string {
  const h = createHash('sha256');
  if (e.value.kind === 'batch') {
    // The origin is part of the value: a node that dropped it holds another value.
    h.update(`origin:${e.value.origin ?? '-'}\0`);
    for (const c of e.value.commands) h.update(`${c.clientRequestId}\0${c.contentType}\0`).update(c.data).update(`\0${(c.verifiedBy ?? []).join('.')}\0`);
  }
  else h.update('noop');
  return h.digest('hex');
}

/** A session's point as (slot, index), whichever way it is packed. */
function pointOf(p: SessionPoint): string {
  return typeof p === 'number' ? `${Math.floor(p / 65_536)}.${p % 65_536}` : `${p.slot}.${p.index}`;
}

/** The agreed state a snapshot holds, as bytes to compare: sessions (without the proposer's digests; with every node's value keys) and registry. */
export function stateFingerprint(s: AgreedStateSnapshot): string {
  const sessions = { next: s.sessions.next, idsMax: s.sessions.idsMax, ids: s.sessions.ids, points: s.sessions.points.map(pointOf), valueKeys: s.sessions.valueKeys, valueKeyFunction: s.sessions.valueKeyFunction };
  // JSON, not V8's serializer: that one writes a string as one-byte or two-byte as V8 happens to hold it.
  const text = JSON.stringify({ slot: s.slot, sessions, registry: s.registry }, (_key, v: unknown) =>
    typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v instanceof Map || v instanceof Set ? [...v] : v,
  );
  return createHash('sha256').update(text).digest('hex');
}

export function checkHistory(h: ChaosHistory): { violations: Violation[]; figures: CheckFigures } {
  const violations: Violation[] = [];
  const add = (kind: Violation['kind'], detail: string) => {
    if (violations.length < 100) violations.push({ kind, detail });
  };
  const upTo = h.upTo ?? BigInt(h.log.length);
  const outOfRange = h.outOfRange ?? [];
  const snapshots = [...(h.snapshots ?? new Map<string, AgreedStateSnapshot>())].sort(([, a], [, b]) => (a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0));
  const bySlot = new Map<bigint, ChosenEntry>();
  for (const e of h.log) {
    if (bySlot.has(e.slot)) add('gap', `the log holds slot ${e.slot} twice`);
    bySlot.set(e.slot, e);
  }
  for (const r of outOfRange) {
    if (r.snapshotSlot <= r.from) add('out-of-range-uncovered', `${r.node} answered OUT_OF_RANGE for slot ${r.from} naming the snapshot at slot ${r.snapshotSlot}, which does not cover it`);
  }
  /** A slot no node served is fine only when a node said it dropped it and named a snapshot above it. */
  const covered = (slot: bigint) => outOfRange.some((r) => r.from <= slot && slot < r.keptFrom && slot < r.snapshotSlot);
  for (const e of h.log) {
    if (e.value.kind !== 'batch') continue;
    for (const c of e.value.commands) if (!h.sent.has(c.clientRequestId)) add('nobody-sent', `slot ${e.slot} holds ${c.clientRequestId}, which no client sent`);
  }
  for (const [node, s] of snapshots) for (const id of s.sessions.ids) if (!h.sent.has(id)) add('nobody-sent', `${node}'s state snapshot at slot ${s.slot} holds ${id}, which no client sent`);

  // The checker's own state machine over the log, from slot 0 or, past slots no node serves any
  // more, from a node's snapshot; every other snapshot is compared with the state the log gives at its slot.
  let state: AgreedState | undefined = bySlot.has(0n) || upTo === 0n ? new AgreedState({}) : undefined;
  let commands = 0;
  let duplicateCopies = 0;
  let slotsInSnapshots = 0;
  let snapshotsChecked = 0;
  const checkSnapshotsAt = (at: AgreedState, used: string | undefined) => {
    let fingerprint: string | undefined;
    for (const [node, s] of snapshots) {
      if (s.slot !== at.appliedSlot || node === used) continue;
      snapshotsChecked += 1;
      fingerprint ??= stateFingerprint(at.snapshot());
      if (stateFingerprint(s) !== fingerprint) add('nodes-disagree-on-state', `${node}'s state snapshot at slot ${s.slot} differs from the state the log gives there`);
    }
  };
  if (state !== undefined) checkSnapshotsAt(state, undefined);
  let slot = 0n;
  while (slot < upTo) {
    const e = bySlot.get(slot);
    if (e !== undefined && state !== undefined) {
      for (const c of state.apply(e).commands) {
        commands += 1;
        if (c.duplicateOf !== undefined) duplicateCopies += 1;
      }
      checkSnapshotsAt(state, undefined);
      slot += 1n;
      continue;
    }
    if (e === undefined) {
      if (!covered(slot)) {
        add('gap', `slot ${slot} is served by no node, and none answered OUT_OF_RANGE naming a snapshot that covers it`);
        break;
      }
      slotsInSnapshots += 1;
    }
    // Restart from the lowest snapshot above this slot where the log goes on.
    const next = snapshots.find(([, s]) => s.slot > slot && (s.slot >= upTo || bySlot.has(s.slot)));
    if (next === undefined) {
      if (e === undefined) {
        add('gap', `slot ${slot} is dropped and no snapshot above it meets the served log`);
        break;
      }
      slot += 1n; // a served slot before any base: only compared between nodes
      continue;
    }
    for (let s = slot + 1n; s < next[1].slot; s++) {
      if (bySlot.has(s)) continue;
      if (!covered(s)) add('gap', `slot ${s} is served by no node, and none answered OUT_OF_RANGE naming a snapshot that covers it`);
      else slotsInSnapshots += 1;
    }
    state = new AgreedState({}, next[1]);
    checkSnapshotsAt(state, next[0]);
    slot = next[1].slot;
  }

  const firstSlot = (id: string) => state?.session(id)?.slot;
  for (const [id, at] of h.acked) {
    const first = firstSlot(id);
    if (first === undefined) add('lost-ack', `${id} was acknowledged in slot ${at} but is not in the log (nor in the sessions of a snapshot)`);
    else if (first !== at) add('ack-not-at-first-slot', `${id} was acknowledged in slot ${at} but took effect in slot ${first}`);
  }
  for (const [node, slots] of h.nodes) {
    const effectsOf = new Map<string, number>();
    for (const s of slots) {
      const e = bySlot.get(s.slot);
      if (e === undefined) continue;
      if (s.valueDigest !== slotDigest(e)) add('nodes-disagree-on-value', `${node} holds another value in slot ${s.slot}`);
      for (const x of s.effects) {
        if (!x.tookEffect) continue;
        effectsOf.set(x.id, (effectsOf.get(x.id) ?? 0) + 1);
        if (firstSlot(x.id) !== s.slot) add('nodes-disagree-on-effect', `${node} says ${x.id} took effect in slot ${s.slot}; the log's first copy is in slot ${firstSlot(x.id)}`);
      }
    }
    for (const [id, n] of effectsOf) if (n > 1) add('took-effect-twice', `${node} applied ${id} ${n} times`);
  }
  return { violations, figures: { slots: Number(upTo), slotsInSnapshots, snapshotsChecked, commands, duplicateCopies, acked: h.acked.size } };
}
