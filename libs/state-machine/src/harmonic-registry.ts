// The Monster Harmonic registry: proposals by number, the leaderboard they build, and the claims
// they carried. Applied from the chosen log in slot order, deterministically: every node that
// applies the same log holds the same registry at the same slot.
import type { Command } from '@paxos/consensus-core';
import { isHarmonicContentType, leaderboardBoundProblem, leaderboardEntryProblem, sourceOfAcceptor, validateProposalValue } from '@paxos/proposal';
import type { Claim, LeaderboardEntry } from '@paxos/proto';
import { InsertionOrder } from './insertion-order';
import { SortedNumbers } from './sorted-numbers';

/** A claim as the registry keeps it, with who checks it. */
export interface ClaimRecord {
  readonly claim: Claim;
  /**
   * The acceptors of the claim's source (id mod 10 = source) that verified it against their copy
   * before the proposal was proposed: the command's certificate (Command.verified_by), a majority
   * of that source's acceptors. Empty when no acceptor holds the source (a network of fewer than
   * ten): then the proposer alone verified it, as it verifies every claim.
   */
  readonly checkedBy: readonly number[];
}

/** A chosen Monster Harmonic proposal that took effect. */
export interface ProposalRecord {
  readonly proposalNumber: bigint;
  readonly proposerId: number;
  readonly slot: bigint;
  readonly clientRequestId: string;
  readonly leaderboard: readonly LeaderboardEntry[];
  readonly leaderboardSha256: string;
  readonly claims: readonly ClaimRecord[];
}

/** One framework's row of the current leaderboard, and where it comes from. */
export interface LeaderboardRow {
  readonly framework: string;
  readonly score: string;
  readonly pricePerPoint: string;
  readonly bid: string;
  readonly ask: string;
  readonly proposalNumber: bigint;
  readonly slot: bigint;
}

/** What a harmonic command did to the registry. */
export type HarmonicOutcome =
  | { readonly kind: 'accepted'; readonly proposalNumber: bigint }
  | { readonly kind: 'refused'; readonly proposalNumber?: bigint; readonly reason: string };

export interface RegistryOptions {
  /** Proposals kept with their full records; older ones keep only their slot. */
  readonly proposalsMax: number;
  /** The full records kept hold at most about this many bytes (recordBytes); older ones keep only their slot. */
  readonly recordsBytesMax: number;
  /** Frameworks on the leaderboard: a proposal that would add more is refused. */
  readonly frameworksMax: number;
  /** Leaderboard changes kept as history. */
  readonly historyMax: number;
  /**
   * Proposal numbers kept with their slots; past it the oldest is forgotten, and a proposal whose
   * number is at or below the highest forgotten one is refused. At least the sessions' bound, so
   * that a retry the sessions still know finds its number (outcomeAt).
   */
  readonly numbersMax: number;
}

/**
 * Rules of the state machine, the same on every node (they decide what a proposal does, so they
 * are constants, not flags). A proposal has at most 256 rows of about 250 bytes and 64 claims of
 * up to 16 KB: the records are bounded in bytes as well as in number, and the leaderboard in
 * frameworks, so that the agreed state fits every node's memory and one GetLeaderboard answer.
 */
export const REGISTRY_DEFAULTS: RegistryOptions = { proposalsMax: 100_000, recordsBytesMax: 32 * 1024 * 1024, frameworksMax: 4096, historyMax: 10_000, numbersMax: 1_000_000 };

/**
 * What in a registry snapshot the rules refuse (a leaderboard row or a kept record out of its
 * bounds, more frameworks than the leaderboard takes), or undefined. A snapshot written before
 * the bounds (format 2) is taken only when this finds nothing (snapshot-codec.ts).
 */
export function registrySnapshotProblem(s: RegistrySnapshot, opts: RegistryOptions = REGISTRY_DEFAULTS): string | undefined {
  if (s.rows.length > opts.frameworksMax) return `its leaderboard holds ${s.rows.length} frameworks, the limit is ${opts.frameworksMax}`;
  for (const [i, row] of [...s.rows, ...s.changes].entries()) {
    const problem = leaderboardEntryProblem(row, i);
    if (problem !== undefined) return `a leaderboard row: ${problem}`;
  }
  for (const rec of s.records) {
    const problem = leaderboardBoundProblem(rec.leaderboard);
    if (problem !== undefined) return `proposal ${rec.proposalNumber}: ${problem}`;
  }
  return undefined;
}

/**
 * About how many bytes a record holds: its text and a fixed cost per record, row and claim.
 * Computed from the record alone, so every node evicts the same records.
 */
export function recordBytes(r: ProposalRecord): number {
  let n = 256 + r.clientRequestId.length + r.leaderboardSha256.length;
  for (const e of r.leaderboard) n += 64 + e.framework.length + e.score.length + e.pricePerPoint.length + e.bid.length + e.ask.length;
  for (const c of r.claims) n += 96 + c.claim.label.length + c.claim.field.length + c.claim.claimedValue.length + 8 * c.checkedBy.length;
  return n;
}

/** Is this command a Monster Harmonic proposal (the one content type the registry reads, however it is spelled)? */
export function isHarmonicCommand(c: Command): boolean {
  return isHarmonicContentType(c.contentType);
}

/** The registry as plain data (a durable snapshot of the state machine holds it), in insertion order. */
export interface RegistrySnapshot {
  readonly slotOf: ReadonlyArray<readonly [bigint, bigint]>;
  readonly records: readonly ProposalRecord[];
  readonly rows: readonly LeaderboardRow[];
  readonly changes: readonly LeaderboardRow[];
  readonly refusedCount: number;
  /** The highest proposal number forgotten (numbersMax), when one was: numbers at or below it are refused. */
  readonly forgottenAtOrBelow?: bigint;
  /** Proposal numbers forgotten past numbersMax so far (they took effect: GetLeaderboard counts them). */
  readonly forgottenCount?: number;
}

export class HarmonicRegistry {
  /** Proposal number -> the slot it took effect in (every proposal ever applied). */
  private readonly slotOf = new Map<bigint, bigint>();
  /** slotOf's numbers in the order they took effect (the oldest is forgotten first). */
  private readonly slotOrder = new InsertionOrder<bigint>();
  /** Every number in slotOf, ascending (pages of ListProposals). */
  private numbers = new SortedNumbers();
  /** Full records of the newest proposalsMax proposals, in log order. */
  private readonly records = new Map<bigint, ProposalRecord>();
  /** records' numbers in the order they were kept (the oldest goes first). */
  private readonly recordOrder = new InsertionOrder<bigint>();
  /** recordBytes of every record in `records`. */
  private recordsBytes = 0;
  private readonly rows = new Map<string, LeaderboardRow>();
  /**
   * Leaderboard changes from changesHead on (the ones before it are dropped, and cut off the array
   * once they are as many as historyMax): dropping the oldest from the front of the array moved
   * every change kept, on every proposal once the history was full.
   */
  private changes: LeaderboardRow[] = [];
  private changesHead = 0;
  private refusedCount = 0;
  /** The highest number forgotten past numbersMax (undefined: none yet). */
  private forgotten: bigint | undefined;
  /** How many numbers were forgotten past numbersMax (each took effect once). */
  private forgottenCount = 0;

  constructor(private readonly opts: RegistryOptions = REGISTRY_DEFAULTS) {}

  /** Applies one command (a harmonic proposal that took effect, not a duplicate). */
  apply(slot: bigint, c: Command): HarmonicOutcome {
    const checked = validateProposalValue(c.contentType, c.data);
    if (!checked.ok) {
      this.refusedCount += 1;
      return { kind: 'refused', reason: `not a valid proposal: ${checked.reason}` };
    }
    const p = checked.proposal;
    const earlier = this.slotOf.get(p.proposalNumber);
    if (earlier !== undefined) {
      this.refusedCount += 1;
      return { kind: 'refused', proposalNumber: p.proposalNumber, reason: `proposal ${p.proposalNumber} was already chosen in slot ${earlier}` };
    }
    if (this.forgotten !== undefined && p.proposalNumber <= this.forgotten) {
      this.refusedCount += 1;
      return { kind: 'refused', proposalNumber: p.proposalNumber, reason: this.forgottenReason(p.proposalNumber) };
    }
    const added = new Set(p.leaderboard.map((e) => e.framework).filter((f) => !this.rows.has(f))).size;
    if (this.rows.size + added > this.opts.frameworksMax) {
      this.refusedCount += 1;
      return {
        kind: 'refused',
        proposalNumber: p.proposalNumber,
        reason: `proposal ${p.proposalNumber} would add ${added} frameworks to the ${this.rows.size} on the leaderboard, the limit is ${this.opts.frameworksMax}`,
      };
    }
    const record: ProposalRecord = {
      proposalNumber: p.proposalNumber,
      proposerId: p.proposerId,
      slot,
      clientRequestId: c.clientRequestId,
      leaderboard: p.leaderboard,
      leaderboardSha256: p.leaderboardSha256,
      claims: p.claims.map((claim) => ({ claim, checkedBy: (c.verifiedBy ?? []).filter((id) => sourceOfAcceptor(id) === claim.source) })),
    };
    this.setSlot(p.proposalNumber, slot);
    this.numbers.insert(p.proposalNumber);
    this.keepRecord(record);
    this.forgetPastBound();
    for (const e of p.leaderboard) {
      const row: LeaderboardRow = { framework: e.framework, score: e.score, pricePerPoint: e.pricePerPoint, bid: e.bid, ask: e.ask, proposalNumber: p.proposalNumber, slot };
      this.rows.set(e.framework, row);
      this.changes.push(row);
    }
    this.dropOldChanges();
    return { kind: 'accepted', proposalNumber: p.proposalNumber };
  }

  /**
   * How a harmonic command that took effect in `slot` (not a duplicate) fared in the registry,
   * decided again from the state after it: accepted when its number took effect there, refused
   * otherwise (a retry of a proposal the registry refused hears the same as its first answer).
   */
  outcomeAt(slot: bigint, c: Command): HarmonicOutcome {
    const checked = validateProposalValue(c.contentType, c.data);
    if (!checked.ok) return { kind: 'refused', reason: `not a valid proposal: ${checked.reason}` };
    const n = checked.proposal.proposalNumber;
    const took = this.slotOf.get(n);
    if (took === slot) {
      // Two proposals of one number in one slot (one batch): the first took it, the other was
      // refused there. The kept record names the one that took it (past the records kept, the
      // slot alone cannot tell them apart).
      const taker = this.records.get(n)?.clientRequestId;
      if (taker !== undefined && taker !== c.clientRequestId) return { kind: 'refused', proposalNumber: n, reason: `proposal ${n} was already chosen in slot ${took}` };
      return { kind: 'accepted', proposalNumber: n };
    }
    if (took !== undefined && took < slot) return { kind: 'refused', proposalNumber: n, reason: `proposal ${n} was already chosen in slot ${took}` };
    // Refused for its number or for the leaderboard: which, the state no longer tells (a proposal
    // that took effect is forgotten only numbersMax proposals later, past what the sessions remember).
    if (this.forgotten !== undefined && n <= this.forgotten) {
      return { kind: 'refused', proposalNumber: n, reason: `${this.forgottenReason(n)} (or it would have taken the leaderboard past its ${this.opts.frameworksMax} frameworks)` };
    }
    return { kind: 'refused', proposalNumber: n, reason: `proposal ${n} would have taken the leaderboard past its ${this.opts.frameworksMax} frameworks` };
  }

  private forgottenReason(n: bigint): string {
    return `proposal ${n} is at or below ${this.forgotten}, the highest proposal number the registry no longer keeps (it keeps the newest ${this.opts.numbersMax}): use a number above ${this.forgotten}`;
  }

  /**
   * Forgets the oldest proposal numbers past numbersMax (the newest is always kept): their slots,
   * and their records when still kept; numbers at or below the highest forgotten are refused from
   * then on, so no number takes effect twice.
   */
  private forgetPastBound(): void {
    while (this.slotOf.size > Math.max(1, this.opts.numbersMax)) {
      const oldest = this.slotOrder.takeOldest((n) => this.slotOf.has(n)) as bigint;
      this.slotOf.delete(oldest);
      this.numbers.remove(oldest);
      const r = this.records.get(oldest);
      if (r !== undefined) {
        this.records.delete(oldest);
        this.recordsBytes -= recordBytes(r);
        this.recordOrder.prune((n) => this.records.has(n));
      }
      if (this.forgotten === undefined || oldest > this.forgotten) this.forgotten = oldest;
      this.forgottenCount += 1;
    }
  }

  /** Keeps the record whole, and forgets the oldest ones past the bounds (the newest is always kept). */
  private keepRecord(record: ProposalRecord): void {
    if (!this.records.has(record.proposalNumber)) this.recordOrder.added(record.proposalNumber);
    this.records.set(record.proposalNumber, record);
    this.recordsBytes += recordBytes(record);
    while (this.records.size > 1 && (this.records.size > this.opts.proposalsMax || this.recordsBytes > this.opts.recordsBytesMax)) {
      const oldest = this.recordOrder.takeOldest((n) => this.records.has(n)) as bigint;
      const r = this.records.get(oldest) as ProposalRecord;
      this.records.delete(oldest);
      this.recordsBytes -= recordBytes(r);
    }
  }

  /** Keeps the newest historyMax changes; O(1) amortized per change. */
  private dropOldChanges(): void {
    const over = this.changes.length - this.changesHead - this.opts.historyMax;
    if (over > 0) this.changesHead += over;
    if (this.changesHead > 0 && this.changesHead >= this.opts.historyMax) {
      this.changes = this.changes.slice(this.changesHead);
      this.changesHead = 0;
    }
  }

  /** Sets a number's slot (a number set again keeps its place in the order, as in the Map). */
  private setSlot(n: bigint, slot: bigint): void {
    if (!this.slotOf.has(n)) this.slotOrder.added(n);
    this.slotOf.set(n, slot);
  }

  /** Numbers and records in their eviction orders, kept and skipped (bounded by what the maps hold). */
  get orderLengths(): { readonly numbers: number; readonly records: number } {
    return { numbers: this.slotOrder.length, records: this.recordOrder.length };
  }

  snapshot(): RegistrySnapshot {
    return {
      slotOf: [...this.slotOf.entries()],
      records: [...this.records.values()],
      rows: [...this.rows.values()],
      changes: this.changes.slice(this.changesHead),
      refusedCount: this.refusedCount,
      ...(this.forgotten !== undefined ? { forgottenAtOrBelow: this.forgotten, forgottenCount: this.forgottenCount } : {}),
    };
  }

  /** A registry that continues from a snapshot (insertion orders kept: they decide what is evicted). */
  static fromSnapshot(s: RegistrySnapshot, opts: RegistryOptions = REGISTRY_DEFAULTS): HarmonicRegistry {
    const r = new HarmonicRegistry(opts);
    for (const [n, slot] of s.slotOf) r.setSlot(n, slot);
    r.numbers = SortedNumbers.fromAscending([...r.slotOf.keys()].sort(compareBigint));
    // Kept as when applied: a snapshot from before the records' bound in bytes (format 2) is cut
    // to it here, to the same newest records a node applying the log keeps.
    for (const rec of s.records) r.keepRecord(rec);
    for (const row of s.rows) r.rows.set(row.framework, row);
    // The newest historyMax, as applying the log keeps: a snapshot with more (from a lying or
    // damaged node) would otherwise hold them until the next proposal.
    r.changes = s.changes.slice(Math.max(0, s.changes.length - Math.max(0, opts.historyMax)));
    r.refusedCount = s.refusedCount;
    r.forgotten = s.forgottenAtOrBelow;
    r.forgottenCount = s.forgottenCount ?? 0;
    r.forgetPastBound();
    return r;
  }

  /** The proposal's record; 'forgotten' when only its slot is still kept (read that slot of the log). */
  proposal(n: bigint): ProposalRecord | { forgotten: true; slot: bigint } | undefined {
    const r = this.records.get(n);
    if (r) return r;
    const slot = this.slotOf.get(n);
    return slot === undefined ? undefined : { forgotten: true, slot };
  }

  /**
   * Proposals with numbers >= fromNumber, by number, at most max: the record when it is kept, its
   * number and slot when only those are (none skipped; a search of sorted blocks, not a sort per page).
   */
  proposals(fromNumber: bigint, max: number): Array<ProposalRecord | { forgotten: true; proposalNumber: bigint; slot: bigint }> {
    return this.numbers.from(fromNumber, max).map((n) => this.records.get(n) ?? { forgotten: true, proposalNumber: n, slot: this.slotOf.get(n) as bigint });
  }

  /** The highest proposal number forgotten past numbersMax, if any: GetProposal below it finds nothing. */
  get forgottenAtOrBelow(): bigint | undefined {
    return this.forgotten;
  }

  /** How many proposal numbers were forgotten past numbersMax (counted since snapshots carry the count). */
  get forgottenNumbers(): number {
    return this.forgottenCount;
  }

  /** Proposal numbers kept at most (RegistryOptions.numbersMax). */
  get numbersMax(): number {
    return this.opts.numbersMax;
  }

  /** Proposals that took effect: the numbers kept and the ones forgotten past numbersMax. */
  get proposalCount(): number {
    return this.slotOf.size + this.forgottenCount;
  }

  get refused(): number {
    return this.refusedCount;
  }

  /** The current leaderboard, one row per framework, by framework. */
  leaderboard(): LeaderboardRow[] {
    return [...this.rows.values()].sort((a, b) => (a.framework < b.framework ? -1 : a.framework > b.framework ? 1 : 0));
  }

  /** The newest leaderboard changes, oldest first (at most historyMax are kept). */
  history(max: number): LeaderboardRow[] {
    return this.changes.slice(Math.max(this.changesHead, this.changes.length - max));
  }
}

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
