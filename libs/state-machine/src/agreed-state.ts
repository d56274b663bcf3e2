// The state machine on the chosen log: client sessions (exactly-once) and the Monster Harmonic
// registry. One library for acceptors, proposers, tools and clients: the same log applied in slot
// order gives the same state everywhere.
import { createHash } from 'node:crypto';
import { SESSION_VALUE_KEY } from './value-key';
import { type ChosenEntry, ClientSessions, type CommandEffect, SESSION_IDS_MAX_DEFAULT, type SessionRecord, type SessionsSnapshot } from '@paxos/consensus-core';
import { HarmonicRegistry, type HarmonicOutcome, isHarmonicCommand, REGISTRY_DEFAULTS, type RegistryOptions, type RegistrySnapshot } from './harmonic-registry';

/** What one command of an applied slot did. */
export interface AppliedCommand extends CommandEffect {
  readonly contentType: string;
  /** For a Monster Harmonic proposal that took effect: accepted into the registry, or refused. */
  readonly harmonic?: HarmonicOutcome;
}

export interface AppliedSlot {
  readonly slot: bigint;
  readonly commands: readonly AppliedCommand[];
}

export interface AgreedStateOptions {
  /**
   * Digest of a command's data (hex SHA-256 in the apps), kept per session with its ballot: given
   * by a node that answers retries (the proposer). Without it the sessions keep only where each id
   * took effect (an acceptor: less memory and CPU per command).
   */
  readonly digest?: (data: Uint8Array) => string;
  readonly sessionIdsMax?: number;
  readonly registry?: Partial<RegistryOptions>;
  /** The first slot to apply (a node whose history starts later); default 0. */
  readonly fromSlot?: bigint;
  /** Negative controls only: no client sessions, every copy of an id takes effect. Unsafe. */
  readonly unsafeNoSessions?: boolean;
}

/** The whole agreed state at a slot as plain data: what a durable snapshot of the state machine holds. */
export interface AgreedStateSnapshot {
  /** Slots below this one are applied. */
  readonly slot: bigint;
  readonly sessions: SessionsSnapshot;
  readonly registry: RegistrySnapshot;
}

/**
 * The key the sessions keep an id longer than SESSION_ID_CHARS_KEPT by: its SHA-256 (of its UTF-16
 * units, so that ids differing in a lone surrogate differ here too). A proposer takes 256
 * characters, code points, so an id of emoji past 128 is one (as is a value from elsewhere), and a
 * copy of it is still recognised. A literal id "sha256:<that hex>" would be taken for it: only a
 * client that knows the long id can send that, and it could send the id itself.
 */
export function longSessionIdKey(clientRequestId: string): string {
  return `sha256:${createHash('sha256').update(clientRequestId, 'utf16le').digest('hex')}`;
}

export class AgreedState {
  readonly sessions: ClientSessions;
  readonly registry: HarmonicRegistry;
  /** The digest sessions keep of each command's data (when given). */
  readonly digest: ((data: Uint8Array) => string) | undefined;

  constructor(opts: AgreedStateOptions, restored?: AgreedStateSnapshot) {
    this.digest = opts.digest;
    const registryOptions = { ...REGISTRY_DEFAULTS, ...opts.registry };
    if (restored !== undefined) {
      // A network-wide constant: sessions of another bound would decide copies otherwise than every other node.
      const idsMax = opts.sessionIdsMax ?? SESSION_IDS_MAX_DEFAULT;
      if (restored.sessions.idsMax !== idsMax) throw new Error(`a state snapshot whose sessions remember ${restored.sessions.idsMax} ids; this network remembers ${idsMax}`);
      this.sessions = ClientSessions.fromSnapshot(restored.sessions, opts.digest, opts.unsafeNoSessions !== true, longSessionIdKey, SESSION_VALUE_KEY);
      this.registry = HarmonicRegistry.fromSnapshot(restored.registry, registryOptions);
      return;
    }
    this.sessions = new ClientSessions(opts.digest, opts.sessionIdsMax ?? SESSION_IDS_MAX_DEFAULT, opts.fromSlot ?? 0n, opts.unsafeNoSessions !== true, longSessionIdKey, SESSION_VALUE_KEY);
    this.registry = new HarmonicRegistry(registryOptions);
  }

  /** The state as plain data (applying the same log on from it gives the same states as this one). */
  snapshot(): AgreedStateSnapshot {
    return { slot: this.appliedSlot, sessions: this.sessions.snapshot(), registry: this.registry.snapshot() };
  }

  /** Slots below this one are applied. */
  get appliedSlot(): bigint {
    return this.sessions.appliedSlot;
  }

  /** Where the id first took effect, if remembered. */
  session(clientRequestId: string): SessionRecord | undefined {
    return this.sessions.get(clientRequestId);
  }

  /** Applies the next chosen slot (slots in order, each once). */
  apply(entry: ChosenEntry): AppliedSlot {
    const effects = this.sessions.apply(entry);
    if (entry.value.kind !== 'batch') return { slot: entry.slot, commands: [] };
    const commands = entry.value.commands;
    return {
      slot: entry.slot,
      commands: effects.map((e) => {
        const c = commands[e.index];
        if (c === undefined) throw new Error(`assertion: effect of command ${e.index} in slot ${entry.slot} of ${commands.length}`);
        const applied: AppliedCommand = { ...e, contentType: c.contentType };
        if (e.duplicateOf !== undefined || !isHarmonicCommand(c)) return applied;
        return { ...applied, harmonic: this.registry.apply(entry.slot, c) };
      }),
    };
  }

  /**
   * Applies the next chosen slot like apply() and builds no outcome (a node that keeps the state
   * for reads only: what apply() allocates per command is most of its cost there).
   */
  advance(entry: ChosenEntry): void {
    if (entry.value.kind !== 'batch' || !entry.value.commands.some(isHarmonicCommand)) {
      this.sessions.advance(entry);
      return;
    }
    this.apply(entry);
  }
}

/** What each command of a chosen slot did, by the sessions of a state that has applied the slot. */
export interface CommandOutcomeView {
  readonly clientRequestId: string;
  readonly index: number;
  readonly duplicate: boolean;
  readonly firstSlot: bigint;
  /** Whether this copy took effect is no longer known here (see commandOutcomes). */
  readonly forgotten: boolean;
}

/**
 * The outcome of each command of an applied slot, read back from the sessions (no per-slot
 * record is kept): a copy is a duplicate when its id took effect earlier. An id no longer
 * remembered, or remembered as taking effect after this copy (forgotten in between, then taken
 * again, in a later slot or later in this one), says nothing of this copy: it is marked forgotten, never "took effect" (an old duplicate
 * copy read back as having taken effect would be applied twice by a client replaying the log).
 */
export function commandOutcomes(entry: ChosenEntry, state: AgreedState): CommandOutcomeView[] {
  if (entry.value.kind !== 'batch') return [];
  return entry.value.commands.map((c, index) => {
    const first = state.session(c.clientRequestId);
    // Taken after this copy (a later slot, or later in this one once forgotten within it): says nothing of this copy.
    const forgotten = first === undefined || first.slot > entry.slot || (first.slot === entry.slot && first.index > index);
    const duplicate = !forgotten && (first.slot < entry.slot || first.index < index);
    return { clientRequestId: c.clientRequestId, index, duplicate, firstSlot: duplicate ? first.slot : entry.slot, forgotten };
  });
}
