import { assert } from './assert';
import type { Ballot } from './ballot';
import type { ChosenEntry } from './proposer/proposer-types';

/**
 * Client request ids remembered (in log order; see ClientSessions): a network-wide constant, not
 * a flag, so that every node decides alike.
 */
export const SESSION_IDS_MAX_DEFAULT = 200_000;

/**
 * The longest id the sessions keep as it is (UTF-16 units; a proposer takes ids of at most 256
 * characters, code points, up to 512 units). A longer id is kept by the key the
 * sessions are given for it (a digest), so that no id makes the sessions hold more than this.
 */
export const SESSION_ID_CHARS_KEPT = 256;

/** Where a client request id first took effect. */
export interface SessionRecord {
  readonly slot: bigint;
  /** Position of the command in its slot's batch. */
  readonly index: number;
  /** Kept only by sessions built with a digest function (the proposer's, to answer retries). */
  readonly detail?: SessionDetail;
  /**
   * A 48-bit key of the value (content type and bytes) the id took effect with, kept by every node
   * whose sessions are given a key function (the agreed state's), and in its state snapshots: a
   * proposer that continued from another node's snapshot, which holds no details, still tells a
   * retry from another value under the id. Absent when unknown (sessions restored from a snapshot
   * written before these keys).
   */
  readonly valueKey?: number;
}

/**
 * How value keys are made (see SessionRecord.valueKey): a function giving a whole number in
 * [0, 2^48), and its name, which snapshots carry beside the keys: keys made by another function
 * (another build's) are taken as unknown, never compared with this one's.
 */
export interface SessionValueKey {
  readonly name: string;
  readonly of: (contentType: string, data: Uint8Array) => number;
}

/** In a snapshot's valueKeys: the id's value key is not known. */
export const UNKNOWN_VALUE_KEY = -1;

/**
 * What a proposer keeps of the value an id took effect with, to tell a retry (the same value)
 * from another value under the id: the ballot, the digest of its bytes and their content type
 * (the same bytes under another content type are another value).
 */
export interface SessionDetail {
  readonly ballot: Ballot;
  readonly digest: string;
  readonly contentType: string;
}

/** Content types are few: each id's detail shares one string of each (at most this many are shared). */
const SHARED_CONTENT_TYPES_MAX = 64;

/** What one command of a chosen slot did. */
export interface CommandEffect {
  readonly clientRequestId: string;
  readonly index: number;
  /** Set when an earlier copy of the id took effect: this copy is a no-op. */
  readonly duplicateOf?: SessionRecord;
}

/** (slot, index) packed into one number while it fits exactly; else kept as an object. */
export type SessionPoint = number | { readonly slot: bigint; readonly index: number };
type Point = SessionPoint;
const INDEX_SPAN = 65_536;
const PACKED_SLOT_MAX = 2n ** 36n;

function pack(slot: bigint, index: number): Point {
  return slot < PACKED_SLOT_MAX && index < INDEX_SPAN ? Number(slot) * INDEX_SPAN + index : { slot, index };
}

function unpack(p: Point): { slot: bigint; index: number } {
  return typeof p === 'number' ? { slot: BigInt(Math.floor(p / INDEX_SPAN)), index: p % INDEX_SPAN } : p;
}

/** The sessions as plain data (a durable snapshot of the state machine holds it). */
export interface SessionsSnapshot {
  /** Slots below this one are applied. */
  readonly next: bigint;
  readonly idsMax: number;
  /** The remembered ids, oldest first, and where each took effect. */
  readonly ids: readonly string[];
  readonly points: readonly SessionPoint[];
  /** Ballot and digest per id, for sessions built with a digest function. */
  readonly details: ReadonlyArray<readonly [string, SessionDetail]>;
  /** The value key of each id, aligned with ids (UNKNOWN_VALUE_KEY where not known), for sessions built with a key function. */
  readonly valueKeys?: readonly number[];
  /** The name of the function that made valueKeys. */
  readonly valueKeyFunction?: string;
}

/**
 * Client sessions, the exactly-once rule of the state machine: the first chosen command with a
 * client request id takes effect; every later copy in the log is a duplicate of it. Paxos cannot
 * keep a retried command out of the log after a proposer crash, so the state machine makes it
 * harmless. Applied in slot order, every reader reaches the same decision from the same log.
 *
 * Bounded: the last `idsMax` ids in log order are remembered. A copy of an id chosen after
 * `idsMax` newer ids took effect is not recognised and takes effect again, the same way on every
 * node (the eviction depends on the log alone). A node that answers retries (the proposer) gives
 * a digest function and also keeps each id's ballot and value digest; the others keep a number.
 */
export class ClientSessions {
  /** Each remembered id's place in the ring below. */
  private readonly byId = new Map<string, number>();
  private readonly details = new Map<string, SessionDetail>();
  private readonly contentTypes = new Map<string, string>();
  /**
   * The remembered ids in log order, a ring of idsMax: the oldest is found in O(1) (iterating a
   * Map from its front walks past every entry deleted there, which made eviction quadratic).
   * Where each took effect, and its value key, are kept at the same place of their own rings.
   */
  private readonly order: string[] = [];
  private readonly points: Point[] = [];
  private readonly valueKeys: number[] = [];
  private oldest = 0;
  private next: bigint;

  constructor(
    private readonly digest: ((data: Uint8Array) => string) | undefined,
    private readonly idsMax = SESSION_IDS_MAX_DEFAULT,
    fromSlot = 0n,
    /** False only in negative controls: nothing is remembered, every copy takes effect (unsafe). */
    private readonly remember = true,
    /** The key an id longer than SESSION_ID_CHARS_KEPT is kept by: at most that long, one per id. */
    private readonly longIdKey: (clientRequestId: string) => string = (id) => id,
    /** The value key kept per id (see SessionRecord.valueKey); none kept without it. */
    private readonly valueKey?: SessionValueKey,
  ) {
    assert(Number.isInteger(idsMax) && idsMax >= 1, 'idsMax must be >= 1');
    this.next = fromSlot;
  }

  /** Slots below this one are applied. */
  get appliedSlot(): bigint {
    return this.next;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Where the id first took effect, if it is remembered. */
  get(clientRequestId: string): SessionRecord | undefined {
    const key = this.key(clientRequestId);
    const at = this.byId.get(key);
    return at === undefined ? undefined : this.record(key, at);
  }

  /** What the id is remembered by: itself, or its key when it is longer than SESSION_ID_CHARS_KEPT. */
  private key(clientRequestId: string): string {
    return clientRequestId.length <= SESSION_ID_CHARS_KEPT ? clientRequestId : this.longIdKey(clientRequestId);
  }

  /** The sessions as plain data, oldest id first (each id as it is remembered: see SESSION_ID_CHARS_KEPT). */
  snapshot(): SessionsSnapshot {
    const ids: string[] = [];
    const points: SessionPoint[] = [];
    const valueKeys: number[] = [];
    const n = this.order.length;
    for (let k = 0; k < n; k++) {
      const at = (this.oldest + k) % n;
      const id = this.order[at] as string;
      assert(this.byId.get(id) === at, `session ${id} is in the order ring but not remembered there`);
      ids.push(id);
      points.push(this.points[at] as Point);
      if (this.valueKey !== undefined) valueKeys.push(this.valueKeys[at] ?? UNKNOWN_VALUE_KEY);
    }
    return { next: this.next, idsMax: this.idsMax, ids, points, details: [...this.details.entries()], ...(this.valueKey !== undefined ? { valueKeys, valueKeyFunction: this.valueKey.name } : {}) };
  }

  /**
   * Sessions that continue from a snapshot (the same decisions as the sessions it was taken of). A
   * long id a snapshot holds as it is (written before ids were bounded) is taken by its key.
   */
  static fromSnapshot(
    s: SessionsSnapshot,
    digest: ((data: Uint8Array) => string) | undefined,
    remember = true,
    longIdKey?: (clientRequestId: string) => string,
    valueKey?: SessionValueKey,
  ): ClientSessions {
    assert(s.ids.length === s.points.length && s.ids.length <= s.idsMax, 'a sessions snapshot holds one point per id, at most idsMax');
    assert(s.valueKeys === undefined || s.valueKeys.length === s.ids.length, 'a sessions snapshot holds one value key per id, or none');
    const sessions = new ClientSessions(digest, s.idsMax, s.next, remember, longIdKey, valueKey);
    s.ids.forEach((id, i) => {
      const key = sessions.key(id);
      // A long id and its key both listed (a snapshot from elsewhere): one id, remembered twice.
      if (sessions.byId.has(key)) throw new Error(`a sessions snapshot that remembers ${JSON.stringify(key.slice(0, 80))} twice`);
      sessions.byId.set(key, sessions.order.length);
      sessions.order.push(key);
      sessions.points.push(s.points[i] as SessionPoint);
      if (valueKey !== undefined) sessions.valueKeys.push((s.valueKeyFunction === valueKey.name ? s.valueKeys?.[i] : undefined) ?? UNKNOWN_VALUE_KEY);
    });
    if (digest !== undefined) for (const [id, d] of s.details) sessions.details.set(sessions.key(id), d);
    return sessions;
  }

  /** Applies the next slot (slots in order, each once); returns each command's effect. */
  apply(entry: ChosenEntry): CommandEffect[] {
    const effects: CommandEffect[] = [];
    this.step(entry, (clientRequestId, index, duplicateOf) =>
      effects.push(duplicateOf === undefined ? { clientRequestId, index } : { clientRequestId, index, duplicateOf: this.record(this.key(clientRequestId), duplicateOf) }),
    );
    return effects;
  }

  /**
   * Applies the next slot like apply(), building nothing for the caller: for a node that keeps
   * the state for reads and needs no per-command answer (an acceptor applies every command of
   * the log, so what each one allocates counts).
   */
  advance(entry: ChosenEntry): void {
    this.step(entry, undefined);
  }

  private step(entry: ChosenEntry, effect: ((clientRequestId: string, index: number, duplicateOf: number | undefined) => void) | undefined): void {
    assert(entry.slot === this.next, `sessions apply slot ${entry.slot}, expected ${this.next}`);
    this.next += 1n;
    if (entry.value.kind !== 'batch') return;
    const commands = entry.value.commands;
    for (let index = 0; index < commands.length; index++) {
      const c = commands[index] as (typeof commands)[number];
      const id = c.clientRequestId;
      if (!this.remember) {
        effect?.(id, index, undefined);
        continue;
      }
      const key = this.key(id);
      const first = this.byId.get(key);
      if (first !== undefined) {
        effect?.(id, index, first);
        continue;
      }
      let at: number;
      if (this.byId.size >= this.idsMax) {
        at = this.oldest;
        const evicted = this.order[at] as string;
        this.byId.delete(evicted);
        this.details.delete(evicted);
        this.oldest = (this.oldest + 1) % this.idsMax;
      } else at = this.order.length;
      this.order[at] = key;
      this.points[at] = pack(entry.slot, index);
      if (this.valueKey !== undefined) this.valueKeys[at] = this.valueKey.of(c.contentType, c.data);
      this.byId.set(key, at);
      if (this.digest !== undefined) this.details.set(key, { ballot: entry.ballot, digest: this.digest(c.data), contentType: this.shared(c.contentType) });
      effect?.(id, index, undefined);
    }
  }

  /** One string for each of the first content types seen (each decoded command carries its own copy). */
  private shared(contentType: string): string {
    const known = this.contentTypes.get(contentType);
    if (known !== undefined) return known;
    if (this.contentTypes.size < SHARED_CONTENT_TYPES_MAX) this.contentTypes.set(contentType, contentType);
    return contentType;
  }

  /** The record of the id remembered by `key`, at place `at` of the rings. */
  private record(key: string, at: number): SessionRecord {
    const detail = this.details.get(key);
    const valueKey = this.valueKeys[at];
    const point = unpack(this.points[at] as Point);
    const withKey = valueKey !== undefined && valueKey !== UNKNOWN_VALUE_KEY ? { ...point, valueKey } : point;
    return detail === undefined ? withKey : { ...withKey, detail };
  }
}
