// The chaos run's checker: given what the clients saw and what the nodes hold after the heal, the
// violations of the guarantees. Pure, so that it can be shown to fail on a forged history.
import { createHash } from 'node:crypto';
import type { ChosenEntry } from '@paxos/consensus-core';
import { AgreedState } from '@paxos/state-machine';

/** What one node answered for one chosen slot: the value's digest and which commands it marks duplicate. */
export interface NodeSlot {
  readonly slot: bigint;
  readonly valueDigest: string;
  /** client_request_id -> took effect here (false: a duplicate of an earlier copy), in batch order. */
  readonly effects: ReadonlyArray<{ readonly id: string; readonly tookEffect: boolean }>;
}

export interface ChaosHistory {
  /** Every id a client sent. */
  readonly sent: ReadonlySet<string>;
  /** Ids a client had acknowledged, with the slot the answer named. */
  readonly acked: ReadonlyMap<string, bigint>;
  /** The chosen log as the proposer serves it after the heal (slot order, from slot 0). */
  readonly log: readonly ChosenEntry[];
  /** What each node reports of the log (ReadLog): the proposer and every acceptor. */
  readonly nodes: ReadonlyMap<string, readonly NodeSlot[]>;
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
    | 'unexpected-refusal'
    | 'not-level'
    | 'no-liveness'
    | 'stale-read';
  readonly detail: string;
}

export interface CheckFigures {
  readonly slots: number;
  readonly commands: number;
  /** Copies of an id in the log after its first (made harmless by the sessions). */
  readonly duplicateCopies: number;
  readonly acked: number;
}

/** A digest of one chosen slot's value (ids, content types, bytes and claim certificates), to compare what nodes hold. */
export function slotDigest(e: ChosenEntry): string {
  const h = createHash('sha256');
  if (e.value.kind === 'batch') for (const c of e.value.commands) h.update(`${c.clientRequestId}\0${c.contentType}\0`).update(c.data).update(`\0${(c.verifiedBy ?? []).join('.')}\0`);
  else h.update('noop');
  return h.digest('hex');
}

export function checkHistory(h: ChaosHistory): { violations: Violation[]; figures: CheckFigures } {
  const violations: Violation[] = [];
  const add = (kind: Violation['kind'], detail: string) => {
    if (violations.length < 100) violations.push({ kind, detail });
  };
  // The checker's own state machine over the log: where each id took effect.
  const state = new AgreedState({ digest: () => '' });
  const firstSlot = new Map<string, bigint>();
  let commands = 0;
  let duplicateCopies = 0;
  h.log.forEach((e, i) => {
    if (e.slot !== BigInt(i)) add('gap', `log position ${i} holds slot ${e.slot}`);
  });
  for (const e of h.log) {
    if (e.slot !== state.appliedSlot) break;
    for (const c of state.apply(e).commands) {
      commands += 1;
      if (!h.sent.has(c.clientRequestId)) add('nobody-sent', `slot ${e.slot} holds ${c.clientRequestId}, which no client sent`);
      if (c.duplicateOf !== undefined) duplicateCopies += 1;
      else firstSlot.set(c.clientRequestId, e.slot);
    }
  }
  for (const [id, slot] of h.acked) {
    const first = firstSlot.get(id);
    if (first === undefined) add('lost-ack', `${id} was acknowledged in slot ${slot} but is not in the log`);
    else if (first !== slot) add('ack-not-at-first-slot', `${id} was acknowledged in slot ${slot} but took effect in slot ${first}`);
  }
  const bySlot = new Map(h.log.map((e) => [e.slot, e]));
  for (const [node, slots] of h.nodes) {
    const effectsOf = new Map<string, number>();
    for (const s of slots) {
      const e = bySlot.get(s.slot);
      if (e === undefined) continue;
      if (s.valueDigest !== slotDigest(e)) add('nodes-disagree-on-value', `${node} holds another value in slot ${s.slot}`);
      for (const x of s.effects) {
        if (!x.tookEffect) continue;
        effectsOf.set(x.id, (effectsOf.get(x.id) ?? 0) + 1);
        if (firstSlot.get(x.id) !== s.slot) add('nodes-disagree-on-effect', `${node} says ${x.id} took effect in slot ${s.slot}; the log's first copy is in slot ${firstSlot.get(x.id)}`);
      }
    }
    for (const [id, n] of effectsOf) if (n > 1) add('took-effect-twice', `${node} applied ${id} ${n} times`);
  }
  return { violations, figures: { slots: h.log.length, commands, duplicateCopies, acked: h.acked.size } };
}
