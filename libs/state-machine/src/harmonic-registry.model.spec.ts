// The registry against a reference written here from its documented rules (DESIGN section 12,
// "The registry"), not from its code: seeded logs of valid proposals, some reusing numbers, with
// small bounds so that every one of them is passed many times, applied to the registry (and to one
// restored now and then from the bytes of a durable snapshot) and to the reference, slot by slot.
// The other specs compare the registry with itself (from slot 0 and from snapshots), which a rule
// changed in the registry passes.
import type { ChosenEntry, Command } from '@paxos/consensus-core';
import { buildProposal, encodeProposalValue } from '@paxos/proposal';
import { AgreedState, type AgreedStateOptions } from './agreed-state';
import { type LeaderboardRow, type ProposalRecord, recordBytes, type RegistryOptions } from './harmonic-registry';
import { decodeStateSnapshot, encodeStateSnapshot } from './snapshot-codec';
import { type SpecRng, specRng } from './spec-rng';

const SEED = Number(process.env['STATE_MACHINE_SEED'] ?? 20_261_208);
const ballot = { round: 1n, proposerId: 1 };
// Names whose order by UTF-16 code units differs from a locale's, and from code points' (U+FF11 sorts after a surrogate pair).
const FRAMEWORKS = ['alpha', 'Alpha', 'beta', 'Zeta', 'f0', 'F0', 'f10', 'f9', 'é', 'e', 'e\u0301', '\u{1f642}', '\uff11', '_', 'a b'];


interface Row {
  readonly framework: string;
  readonly score: string;
  readonly pricePerPoint: string;
  readonly bid: string;
  readonly ask: string;
}

/** What the reference keeps of an accepted proposal. */
interface Kept {
  readonly n: bigint;
  readonly slot: bigint;
  readonly id: string;
  readonly rows: readonly Row[];
  readonly claims: ReadonlyArray<{ source: number; checkedBy: number[] }>;
  readonly bytes: number;
}

/**
 * The documented rules, kept as plainly as possible: lists scanned in full, no indexes. A number
 * kept or at or below the highest forgotten is refused; so is one that gives a framework two rows
 * (bad input, whatever its number), and one that would take the leaderboard past frameworksMax
 * frameworks. An accepted one sets each framework's row, adds its rows to the changes (the newest
 * historyMax kept), keeps its number (the newest numbersMax, in the order they took effect; the
 * oldest forgotten first) and its record (the newest proposalsMax, within recordsBytesMax bytes,
 * the newest always kept, and none whose number was forgotten).
 */
class ReferenceRegistry {
  numbers: Kept[] = [];
  records: Kept[] = [];
  board = new Map<string, LeaderboardRow>();
  changes: LeaderboardRow[] = [];
  forgotten: bigint | undefined;
  forgottenCount = 0;
  refused = 0;

  constructor(private readonly o: RegistryOptions) {}

  apply(slot: bigint, id: string, n: bigint, rows: readonly Row[], claims: ReadonlyArray<{ source: number }>, verifiedBy: readonly number[], bytes: number): 'accepted' | 'refused' {
    const fresh = new Set(rows.map((r) => r.framework).filter((f) => !this.board.has(f)));
    if (new Set(rows.map((r) => r.framework)).size < rows.length) {
      this.refused += 1;
      return 'refused';
    }
    if (this.numbers.some((k) => k.n === n) || (this.forgotten !== undefined && n <= this.forgotten) || this.board.size + fresh.size > this.o.frameworksMax) {
      this.refused += 1;
      return 'refused';
    }
    const kept: Kept = { n, slot, id, rows, claims: claims.map((c) => ({ source: c.source, checkedBy: verifiedBy.filter((a) => a % 10 === c.source) })), bytes };
    this.numbers.push(kept);
    this.records.push(kept);
    const total = () => this.records.reduce((sum, k) => sum + k.bytes, 0);
    while (this.records.length > 1 && (this.records.length > this.o.proposalsMax || total() > this.o.recordsBytesMax)) this.records.shift();
    while (this.numbers.length > Math.max(1, this.o.numbersMax)) {
      const old = this.numbers.shift() as Kept;
      this.forgotten = this.forgotten === undefined || old.n > this.forgotten ? old.n : this.forgotten;
      this.forgottenCount += 1;
      this.records = this.records.filter((k) => k !== old);
    }
    for (const r of rows) {
      const row: LeaderboardRow = { ...r, proposalNumber: n, slot };
      this.board.set(r.framework, row);
      this.changes.push(row);
    }
    this.changes = this.changes.slice(Math.max(0, this.changes.length - this.o.historyMax));
    return 'accepted';
  }

  leaderboard(): LeaderboardRow[] {
    // Array.prototype.sort's default order: UTF-16 code units, the same on every node whatever its locale.
    const names = [...this.board.keys()].sort();
    return names.map((f) => this.board.get(f) as LeaderboardRow);
  }
}

function proposalCommand(id: string, n: bigint, rows: readonly Row[], claims: ReadonlyArray<{ source: number }>, verifiedBy: number[]): Command {
  const v = encodeProposalValue(
    buildProposal({ proposalNumber: n, proposerId: 1, leaderboard: rows.map((r) => ({ ...r })), claims: claims.map((c) => ({ source: c.source, label: '11.a2', field: 'jinv', claimedValue: '-122023936/161051' })) }),
  );
  return { clientRequestId: id, contentType: v.contentType, data: v.data, verifiedBy };
}

function randomRows(r: SpecRng): Row[] {
  const d = () => `${r.int(100)}.${r.int(10)}`;
  // Now and then one framework twice in one proposal: refused, as the value is malformed.
  return Array.from({ length: r.int(5) }, () => ({ framework: r.pick(FRAMEWORKS), score: d(), pricePerPoint: d(), bid: d(), ask: d() }));
}

const bigints = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? `${v}n` : v);
const show = (x: unknown) => JSON.stringify(x, bigints);

function compare(state: AgreedState, ref: ReferenceRegistry, numbersUsed: readonly bigint[], o: RegistryOptions, at: string, problems: string[]): void {
  const reg = state.registry;
  if (show(reg.leaderboard()) !== show(ref.leaderboard())) problems.push(`${at}: leaderboard ${show(reg.leaderboard().map((x) => x.framework))}, the rules give ${show(ref.leaderboard().map((x) => x.framework))}`);
  for (const max of [0, 1, 3, o.historyMax, o.historyMax + 1, 1000]) {
    const want = ref.changes.slice(Math.max(0, ref.changes.length - max));
    if (show(reg.history(max)) !== show(want)) problems.push(`${at}: history(${max}) holds ${reg.history(max).length} changes, the rules give ${want.length}`);
  }
  if (reg.proposalCount !== ref.numbers.length + ref.forgottenCount) problems.push(`${at}: ${reg.proposalCount} proposals counted, the rules give ${ref.numbers.length + ref.forgottenCount}`);
  if (reg.refused !== ref.refused) problems.push(`${at}: ${reg.refused} refused, the rules give ${ref.refused}`);
  if (reg.forgottenAtOrBelow !== ref.forgotten) problems.push(`${at}: forgotten at or below ${reg.forgottenAtOrBelow}, the rules give ${ref.forgotten}`);
  for (const n of numbersUsed) {
    const got = reg.proposal(n);
    const kept = ref.records.find((k) => k.n === n);
    const num = ref.numbers.find((k) => k.n === n);
    const want = kept !== undefined ? `record@${kept.slot}` : num !== undefined ? `slot@${num.slot}` : 'none';
    const seen = got === undefined ? 'none' : 'forgotten' in got ? `slot@${got.slot}` : `record@${got.slot}`;
    if (seen !== want) problems.push(`${at}: proposal ${n} is ${seen}, the rules give ${want}`);
    if (got !== undefined && !('forgotten' in got) && kept !== undefined) {
      const rec = got as ProposalRecord;
      const same = rec.clientRequestId === kept.id && show(rec.leaderboard.map((e) => [e.framework, e.score])) === show(kept.rows.map((e) => [e.framework, e.score])) && show(rec.claims.map((c) => [c.claim.source, c.checkedBy])) === show(kept.claims.map((c) => [c.source, c.checkedBy]));
      if (!same) problems.push(`${at}: proposal ${n}'s record is not the one the rules keep`);
    }
  }
  const listed = reg.proposals(0n, 1_000_000).map((p) => p.proposalNumber);
  const wantListed = ref.numbers.map((k) => k.n).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (show(listed) !== show(wantListed)) problems.push(`${at}: proposals listed ${show(listed)}, the rules give ${show(wantListed)}`);
}

function runLog(seed: number, o: RegistryOptions, slots: number): string[] {
  const r = specRng(seed);
  const opts: AgreedStateOptions = { registry: o };
  let state = new AgreedState(opts);
  const ref = new ReferenceRegistry(o);
  const used = new Set<bigint>();
  const problems: string[] = [];
  let ids = 0;
  for (let s = 0; s < slots && problems.length === 0; s++) {
    const slot = BigInt(s);
    const commands: Command[] = [];
    const expected: string[] = [];
    for (let k = 1 + r.int(3); k > 0; k--) {
      const n = BigInt(r.int(30));
      const rows = randomRows(r);
      const claims = Array.from({ length: r.int(3) }, () => ({ source: r.int(10) }));
      const verifiedBy = r.chance(0.8) ? [r.int(23), r.int(23), r.int(23)] : [];
      const c = proposalCommand(`id-${ids++}`, n, rows, claims, verifiedBy);
      commands.push(c);
      used.add(n);
      const bytes = recordBytes({ proposalNumber: n, proposerId: 1, slot, clientRequestId: c.clientRequestId, leaderboard: rows, leaderboardSha256: buildProposal({ proposalNumber: n, proposerId: 1, leaderboard: rows }).leaderboardSha256, claims: claims.map((cl) => ({ claim: { source: cl.source, label: '11.a2', field: 'jinv', claimedValue: '-122023936/161051' }, checkedBy: verifiedBy.filter((a) => a % 10 === cl.source) })) });
      expected.push(ref.apply(slot, c.clientRequestId, n, rows, claims, verifiedBy, bytes));
    }
    const entry: ChosenEntry = { slot, ballot, value: { kind: 'batch', commands } };
    const said = state.apply(entry).commands.map((c) => c.harmonic?.kind);
    if (show(said) !== show(expected)) problems.push(`slot ${s}: outcomes ${show(said)}, the rules give ${show(expected)}`);
    compare(state, ref, [...used], o, `slot ${s}`, problems);
    // Now and then continue from the bytes of a durable snapshot: the rules go on from it unchanged.
    if (r.chance(0.1)) state = new AgreedState(opts, decodeStateSnapshot(encodeStateSnapshot(state.snapshot())));
  }
  return problems;
}

describe(`the Monster Harmonic registry against its documented rules (seed ${SEED})`, () => {
  const bounds: Array<[string, RegistryOptions]> = [
    ['small bounds', { proposalsMax: 4, recordsBytesMax: 2400, frameworksMax: 8, historyMax: 6, numbersMax: 7 }],
    ['fewer numbers than records', { proposalsMax: 9, recordsBytesMax: 1 << 20, frameworksMax: 12, historyMax: 20, numbersMax: 3 }],
    ['a byte bound below one record', { proposalsMax: 50, recordsBytesMax: 300, frameworksMax: 5, historyMax: 1, numbersMax: 12 }],
  ];
  it.each(bounds)('decides, keeps and forgets as the rules say (%s)', (_name, o) => {
    for (let run = 0; run < 3; run++) expect({ seed: SEED + run, problems: runLog(SEED + run, o, 150).slice(0, 5) }).toEqual({ seed: SEED + run, problems: [] });
  });

  it('keeps records that fill the bound in bytes exactly, and goes below it only past it', () => {
    // The bound set to what the first three records take: all three are kept; a fourth pushes out the oldest.
    const rows = (i: number): Row[] => [{ framework: `f${i}`, score: `${i}.5`, pricePerPoint: '1', bid: '1', ask: '2' }];
    const commands = [1, 2, 3, 4].map((i) => proposalCommand(`id-${i}`, BigInt(i), rows(i), [], []));
    const probe = new AgreedState({});
    commands.forEach((c, i) => probe.apply({ slot: BigInt(i), ballot, value: { kind: 'batch', commands: [c] } }));
    const sizes = [1n, 2n, 3n].map((n) => recordBytes(probe.registry.proposal(n) as ProposalRecord));
    const o = { proposalsMax: 100, recordsBytesMax: sizes.reduce((a, b) => a + b, 0), frameworksMax: 10, historyMax: 10, numbersMax: 100 };
    const s = new AgreedState({ registry: o });
    const kept = () => [1n, 2n, 3n, 4n].filter((n) => { const p = s.registry.proposal(n); return p !== undefined && !('forgotten' in p); });
    commands.slice(0, 3).forEach((c, i) => s.apply({ slot: BigInt(i), ballot, value: { kind: 'batch', commands: [c] } }));
    expect(kept()).toEqual([1n, 2n, 3n]);
    s.apply({ slot: 3n, ballot, value: { kind: 'batch', commands: [commands[3] as Command] } });
    expect(kept()).toEqual([2n, 3n, 4n]);
  });
});
