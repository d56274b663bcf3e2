import type { ChosenEntry, Command, SlotValue } from '@paxos/consensus-core';
import { isHarmonicContentType, validateProposalValue } from '@paxos/proposal';
import { AgreedState, type AgreedStateSnapshot, decodeStateSnapshot } from '@paxos/state-machine';
import { valueBytesDigest } from '@paxos/wire';
import type { ChosenLog } from '../chosen-log';
import type { SimAcceptor } from './sim-acceptor';

/** One client command and what its client was told. */
export interface ClientRecord {
  readonly id: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  /** The slot the (last) answer named. */
  acknowledgedSlot: bigint | undefined;
  /** Refused with FAILED_PRECONDITION (never to be chosen). */
  refused: boolean;
  /** Refused with ALREADY_EXISTS: its id took effect, or was in flight, with other bytes (reusedIdProbability). */
  alreadyExists?: boolean;
  /** Its claims cannot be verified any more (too many of a claimed source's acceptors refuse to start): the client gave up after the heal. */
  unverifiable?: boolean;
  /** Acceptors whose LMFDB data refuse this command's claims (a disputed claim), if any. */
  readonly refusedBy?: ReadonlySet<number>;
}

export interface CheckInput {
  readonly acceptors: readonly SimAcceptor[];
  readonly proposers: readonly ChosenLog[];
  readonly clients: readonly ClientRecord[];
  readonly clusterSize: number;
}

export interface CheckReport {
  readonly violations: string[];
  readonly chosenSlots: number;
  /** Later copies of an id in the log (harmless: the sessions make them duplicates). */
  readonly duplicateCopies: number;
}

const VIOLATIONS_MAX = 20;

function valueKey(v: SlotValue): string {
  if (v.kind !== 'batch') return 'noop';
  // The origin is part of the value: nodes agree on it too.
  return `${v.origin ?? '-'}:${v.commands.map((c) => `${c.clientRequestId}|${c.contentType}|${Buffer.from(c.data).toString('hex')}|${(c.verifiedBy ?? []).join('.')}`).join(';')}`;
}

/**
 * The checks of a node-level run, on what the nodes hold at its end:
 * - agreement: every acceptor's chosen history and every proposer's chosen log agree slot by slot;
 * - no gaps below the highest slot anyone holds;
 * - only sent commands are chosen, and a refused one never is;
 * - claims: a chosen proposal's certificate names a majority of every claimed source's acceptors
 *   and none whose data refuse it, and a proposal is refused only when refusals leave a claimed
 *   source no possible majority;
 * - exactly-once: each id's answer names the slot of its first copy in the log, and an answered
 *   command is in the log with its own bytes (an id sent with two values: the client whose bytes
 *   did not take effect hears ALREADY_EXISTS, and only that one);
 * - every proposer's and every running acceptor's applied state (sessions and registry) equals
 *   the state of the agreed log applied to the same slot from scratch. Acceptors keep no digests,
 *   nor does a proposer for ids below a state snapshot it installed: each digest a node keeps must
 *   be the reference's, and a proposer keeps one for every id that took effect at or above the
 *   slot its state was restored at.
 * - every acceptor that runs has agreed state (one damaged snapshot file never costs it), and
 *   each of its whole snapshot files is the agreed state at its slot.
 * Slots an acceptor's history no longer holds (retention, a restart at an installed snapshot) are
 * held for the checks as the acceptor released them.
 */
export function checkRun(input: CheckInput): CheckReport {
  const violations: string[] = [];
  const fail = (v: string) => {
    if (violations.length < VIOLATIONS_MAX) violations.push(v);
  };
  const log = new Map<bigint, { key: string; entry: ChosenEntry; from: string }>();
  const hold = (entry: ChosenEntry, from: string) => {
    const key = valueKey(entry.value);
    const known = log.get(entry.slot);
    if (!known) log.set(entry.slot, { key, entry, from });
    else if (known.key !== key) fail(`agreement: slot ${entry.slot} holds ${short(known.key)} at ${known.from} but ${short(key)} at ${from}`);
  };
  for (const a of input.acceptors) {
    for (const r of a.released) hold(r, `acceptor ${a.nodeId} (released)`);
    const node = a.current;
    if (!node) continue;
    const h = node.storage.history;
    for (let from = h.firstSlot; from < h.endSlot; ) {
      const records = h.read(from, 4096, Number.MAX_SAFE_INTEGER);
      if (records.length === 0) break;
      for (const r of records) hold(r, `acceptor ${a.nodeId}`);
      from += BigInt(records.length);
    }
  }
  input.proposers.forEach((chosen, i) => {
    for (let s = chosen.oldestSlot; s < chosen.nextSlot; s++) {
      const e = chosen.entry(s);
      if (e) hold(e, `proposer incarnation ${i}`);
    }
  });

  const end = [...log.keys()].reduce((m, s) => (s + 1n > m ? s + 1n : m), 0n);
  // One id may have been sent with two values (reusedIdProbability): each chosen command names the sender of its bytes.
  const sent = new Map<string, ClientRecord[]>();
  for (const c of input.clients) sent.set(c.id, [...(sent.get(c.id) ?? []), c]);
  const firstBytes = new Map<string, Uint8Array>();
  const firstSlot = new Map<string, bigint>();
  let duplicateCopies = 0;
  /** Applied states to compare, by their slot: each proposer's, and each running acceptor's. */
  const wanted = new Map<bigint, Array<{ state: AgreedStateSnapshot; who: string; digestsFrom: bigint | undefined }>>();
  const want = (state: AgreedStateSnapshot, who: string, digestsFrom: bigint | undefined) => wanted.set(state.slot, [...(wanted.get(state.slot) ?? []), { state, who, digestsFrom }]);
  input.proposers.forEach((p, i) => want(p.state.snapshot(), `proposer incarnation ${i}`, p.stateRestoredAt ?? 0n));
  for (const a of input.acceptors) {
    const applied = a.appliedState();
    if (applied !== undefined && 'state' in applied) want(applied.state.snapshot(), `acceptor ${a.nodeId}`, undefined);
    // At most one of its two snapshot files is damaged at a time, and a torn write leaves the previous one: it is never without state.
    else if (applied !== undefined) fail(`applied state: acceptor ${a.nodeId} has no agreed state: ${applied.unavailable}`);
    // Every snapshot file on its disk that is whole is the agreed state at its slot.
    for (const generation of ['latest', 'previous'] as const) {
      const file = a.disk.stateSnapshots[generation];
      if (!file || file.damaged) continue;
      let state: AgreedStateSnapshot;
      try {
        state = decodeStateSnapshot(file.body);
      } catch (e) {
        fail(`state snapshot: acceptor ${a.nodeId}'s ${generation} snapshot does not decode: ${(e as Error).message}`);
        continue;
      }
      if (state.slot !== file.slot) fail(`state snapshot: acceptor ${a.nodeId}'s ${generation} snapshot says slot ${file.slot}, its state slot ${state.slot}`);
      else want(state, `acceptor ${a.nodeId}'s ${generation} state snapshot`, undefined);
    }
  }
  const reference = new AgreedState({ digest: valueBytesDigest });
  const tookEffect = new Map<string, bigint>();
  const compareAt = (slot: bigint) => {
    if (!wanted.has(slot)) return;
    const ref = reference.snapshot();
    const expected = agreedPart(ref);
    for (const w of wanted.get(slot) ?? []) {
      if (agreedPart(w.state) !== expected) fail(`applied state: ${w.who}'s state at slot ${slot} differs from the agreed log's`);
      const problem = digestProblem(w.state, ref, (id) => reference.session(id)?.slot, w.digestsFrom);
      if (problem) fail(`applied state: ${w.who} at slot ${slot}: ${problem}`);
    }
  };
  compareAt(0n);
  for (let s = 0n; s < end; s++) {
    const held = log.get(s);
    if (!held) {
      fail(`gap: no node holds slot ${s}, below slot ${end}`);
      break;
    }
    const v = held.entry.value;
    if (v.kind === 'batch') {
      for (const c of v.commands) {
        const client = sent.get(c.clientRequestId)?.find((x) => Buffer.from(x.data).equals(Buffer.from(c.data)));
        if (!client) fail(`slot ${s}: command ${c.clientRequestId} was never sent (or not with these bytes)`);
        else if (client.refused) fail(`slot ${s}: command ${c.clientRequestId} was refused to its client, yet chosen`);
        else {
          const problem = claimProblem(c, client, input.clusterSize);
          if (problem) fail(`claims: slot ${s} holds ${c.clientRequestId}: ${problem}`);
        }
        if (firstSlot.has(c.clientRequestId)) duplicateCopies++;
        else {
          firstSlot.set(c.clientRequestId, s);
          firstBytes.set(c.clientRequestId, c.data);
        }
      }
    }
    // Exactly-once by the checker's own count, not the sessions' word: the reference state runs the
    // same sessions code as the proposers, so a session that forgets an id would agree with them.
    for (const e of reference.apply(held.entry).commands) {
      if (e.duplicateOf !== undefined) continue;
      const took = tookEffect.get(e.clientRequestId);
      if (took !== undefined) fail(`exactly-once: ${e.clientRequestId} took effect at slot ${took} and again at slot ${s}`);
      else tookEffect.set(e.clientRequestId, s);
    }
    compareAt(s + 1n);
  }
  // A state at a slot past every slot any node holds was never compared: it applied what no node has.
  for (const [slot, ws] of wanted) {
    if (slot > end) for (const w of ws) fail(`applied state: ${w.who}'s state is at slot ${slot}, past slot ${end}, the end of what any node holds`);
  }
  for (const c of input.clients) {
    if (c.refused) {
      const problem = refusalProblem(c, input.clusterSize);
      if (problem) fail(`claims: ${problem}`);
    }
    const first = firstSlot.get(c.id);
    const own = first !== undefined && Buffer.from(firstBytes.get(c.id) as Uint8Array).equals(Buffer.from(c.data));
    if (c.alreadyExists && own) fail(`reused id: ${c.id} was refused ALREADY_EXISTS, but its own bytes took effect at slot ${first}`);
    if (c.acknowledgedSlot === undefined) continue;
    if (first === undefined) fail(`lost: ${c.id} was acknowledged at slot ${c.acknowledgedSlot} but is not in the log`);
    else if (first !== c.acknowledgedSlot) fail(`exactly-once: ${c.id} was acknowledged at slot ${c.acknowledgedSlot} but first took effect at slot ${first}`);
    else if (!own) fail(`reused id: ${c.id} was answered chosen at slot ${first}, but other bytes took effect there`);
  }
  return { violations, chosenSlots: Number(end), duplicateCopies };
}

/** The claimed sources of a Monster Harmonic command, each once (none for other values). */
function claimedSources(contentType: string, data: Uint8Array): number[] {
  if (!isHarmonicContentType(contentType)) return [];
  const checked = validateProposalValue(contentType, data);
  return checked.ok ? [...new Set(checked.proposal.claims.map((c) => c.source))] : [];
}

/** Acceptors 0..n-1 holding a source, counted here as the checker's own rule (id mod 10), not the certifier's code. */
function holdersOf(source: number, acceptors: number): number[] {
  return Array.from({ length: acceptors }, (_, id) => id).filter((id) => id % 10 === source);
}

/** Why a chosen command's claims were not verified as the rule demands, or undefined: a majority of each claimed source's acceptors, none of them refusing. */
function claimProblem(c: Command, client: ClientRecord, acceptors: number): string | undefined {
  const verifiedBy = new Set(c.verifiedBy ?? []);
  const forged = [...verifiedBy].filter((id) => client.refusedBy?.has(id));
  if (forged.length > 0) return `its certificate names ${forged.length === 1 ? 'acceptor' : 'acceptors'} ${forged.join(', ')}, whose data refuse its claims`;
  for (const source of claimedSources(c.contentType, c.data)) {
    const holders = holdersOf(source, acceptors);
    if (holders.length === 0) continue;
    const verified = holders.filter((id) => verifiedBy.has(id)).length;
    if (verified <= holders.length / 2) return `its claims on source ${source} were verified by ${verified} of its acceptors (${holders.join(', ')}), not a majority`;
  }
  return undefined;
}

/** Why refusing a client's claims (FAILED_PRECONDITION) was wrong, or undefined: refusals must leave some claimed source without a possible majority. */
function refusalProblem(client: ClientRecord, acceptors: number): string | undefined {
  for (const source of claimedSources(client.contentType, client.data)) {
    const holders = holdersOf(source, acceptors);
    const willing = holders.filter((id) => !client.refusedBy?.has(id)).length;
    if (holders.length > 0 && willing <= holders.length / 2) return undefined;
  }
  return `${client.id} was refused for its claims, yet a majority of every claimed source's acceptors would verify them`;
}

/**
 * The part of a state every node must agree on: where each id took effect and the registry.
 * Digests are compared apart (digestProblem); not the ballot a session names: that is the ballot
 * the node learned the slot under, and a value chosen in one ballot and chosen again in a later
 * one is learned under either.
 */
function agreedPart(s: AgreedStateSnapshot): string {
  const sessions = { ...s.sessions, details: [] };
  return JSON.stringify({ slot: s.slot, sessions, registry: s.registry }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
}

/**
 * Why a node's session digests are wrong, or undefined: each one it keeps is the reference's (and
 * its content type too), and, when `from` is given, it keeps one for every id that took effect at
 * or above that slot (a node that keeps digests applied those slots itself).
 */
function digestProblem(s: AgreedStateSnapshot, ref: AgreedStateSnapshot, slotOf: (id: string) => bigint | undefined, from: bigint | undefined): string | undefined {
  const expected = new Map(ref.sessions.details.map(([id, d]) => [id, d]));
  const kept = new Map(s.sessions.details.map(([id, d]) => [id, d]));
  for (const [id, d] of kept) {
    const e = expected.get(id);
    if (e === undefined || e.digest !== d.digest || e.contentType !== d.contentType) return `the digest it keeps for ${id} is not that of the bytes that took effect`;
  }
  if (from === undefined) return undefined;
  for (const id of ref.sessions.ids) {
    const at = slotOf(id);
    if (at !== undefined && at >= from && !kept.has(id)) return `it keeps no digest for ${id}, which took effect at slot ${at}, at or above slot ${from}`;
  }
  return undefined;
}

function short(key: string): string {
  return key.length > 60 ? `${key.slice(0, 57)}...` : key;
}
