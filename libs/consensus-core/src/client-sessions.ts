import { assert } from './assert';
import type { Ballot } from './ballot';
import type { ChosenEntry } from './proposer/proposer-types';

/** Client request ids remembered by default (in log order; see ClientSessions). */
export const SESSION_IDS_MAX_DEFAULT = 1_000_000;

/** Where a client request id first took effect. */
export interface SessionRecord {
  readonly slot: bigint;
  /** The ballot the slot was chosen under. */
  readonly ballot: Ballot;
  /** Position of the command in its slot's batch. */
  readonly index: number;
  /** The digest of the command's data (the caller's digest function). */
  readonly digest: string;
}

/** What one command of a chosen slot did. */
export interface CommandEffect {
  readonly clientRequestId: string;
  readonly index: number;
  /** Set when an earlier copy of the id took effect: this copy is a no-op. */
  readonly duplicateOf?: SessionRecord;
}

/**
 * Client sessions, the exactly-once rule of the state machine: the first chosen command with a
 * client request id takes effect; every later copy in the log is a duplicate of it. Paxos cannot
 * keep a retried command out of the log after a proposer crash, so the state machine makes it
 * harmless. Applied in slot order, every reader reaches the same decision from the same log.
 *
 * Bounded: the last `idsMax` ids in log order are remembered. A copy of an id chosen after
 * `idsMax` newer ids took effect is not recognised and takes effect again, the same way on every
 * node (the eviction depends on the log alone).
 */
export class ClientSessions {
  private readonly byId = new Map<string, SessionRecord>();
  private next: bigint;

  constructor(
    private readonly digest: (data: Uint8Array) => string,
    private readonly idsMax = SESSION_IDS_MAX_DEFAULT,
    fromSlot = 0n,
    /** False only in negative controls: nothing is remembered, every copy takes effect (unsafe). */
    private readonly remember = true,
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
    return this.byId.get(clientRequestId);
  }

  /** Applies the next slot (slots in order, each once); returns each command's effect. */
  apply(entry: ChosenEntry): CommandEffect[] {
    assert(entry.slot === this.next, `sessions apply slot ${entry.slot}, expected ${this.next}`);
    this.next += 1n;
    if (entry.value.kind !== 'batch') return [];
    const effects: CommandEffect[] = [];
    entry.value.commands.forEach((c, index) => {
      if (!this.remember) {
        effects.push({ clientRequestId: c.clientRequestId, index });
        return;
      }
      const first = this.byId.get(c.clientRequestId);
      if (first !== undefined) {
        effects.push({ clientRequestId: c.clientRequestId, index, duplicateOf: first });
        return;
      }
      this.byId.set(c.clientRequestId, { slot: entry.slot, ballot: entry.ballot, index, digest: this.digest(c.data) });
      if (this.byId.size > this.idsMax) this.byId.delete(this.byId.keys().next().value as string);
      effects.push({ clientRequestId: c.clientRequestId, index });
    });
    return effects;
  }
}
