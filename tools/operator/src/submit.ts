import { status } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { formatBallot, Quorum } from '@paxos/consensus-core';
import { ConfigError, deadlineNoticedLate, describeGrpcError, helpText, isServiceError, notConnected, parseAddressList, parseCommand, printable, type Transport, unresolvedAddress } from '@paxos/grpc-kit';
import { IntegerTooLongError, isSourceNumber, loadSource, parseLossless, type SourceCache, stringifyLossless, verifyClaim } from '@paxos/lmfdb-client';
import { type Claim, Consistency, type LeaderboardEntry, type MonsterHarmonicProposal, type ProposeResponse, VoteOutcome, VotePhase } from '@paxos/proto';
import { cannotChooseOf, notSentOf } from '@paxos/wire';
import { buildProposal, encodeProposalValue, parseProposalJson, ProposalFormatError } from '@paxos/proposal';
import { PROPOSAL_FILE_BYTES_MAX, readBoundedText } from './bounded-file';
import { certificateAdvice, certificateRefusal, describeCallFailure } from './certificate-refusal';
import { clientTransport, defaultNetworkDir, readLayout } from './network-dir';
import { appliedThrough, counted, notRunningHint, propose, readCall, UINT64_MAX } from './probe';
import { formatRows } from './read';
import { wireJson } from './wire-json';
import { transportMismatch } from './transport-mismatch';

export const submitCommand = {
  program: 'submit',
  refuseRepeats: true,
  summary: 'build a Monster Harmonic proposal and submit it through the proposer; print each node\'s promise and accept and the chosen slot; exit 0 chosen, 2 bad input (or an id already used for other bytes), 3 refused (false claim, wrong hash, a number already taken), 4 not chosen yet (no quorum, overload or the deadline: rerun with the printed --client-request-id), 1 other',
  usage: 'npm run submit -- <proposal-number> [--dir D] [--file proposal.json] [--entry "framework,score,price,bid,ask"]... [--claim "source:label:field=value"]...',
  allowPositionals: true,
  options: {
    dir: { type: 'string', env: 'PAXOS_NETWORK_DIR', description: 'the network dir (finds the proposer)', defaultText: 'default ~/.openclaw/consensus' },
    proposer: { type: 'string', env: 'PAXOS_PROPOSER', description: 'proposer address host:port (instead of --dir)' },
    file: { type: 'string', description: 'proposal.json: proposal_number, proposer_id, leaderboard[], claims[], optional leaderboard_sha256' },
    entry: { type: 'string', multiple: true, description: 'a leaderboard row "framework,score,price_per_point,bid,ask" (repeatable)' },
    claim: { type: 'string', multiple: true, description: 'an LMFDB claim "source:label:field=value", e.g. "0:11.a2:jinv=-122023936/161051" (repeatable)' },
    hash: { type: 'string', description: 'send this leaderboard_sha256 instead of the computed one (to see a wrong hash refused)' },
    'proposer-id': { type: 'integer', default: 0, min: 0, max: 4_294_967_295, description: 'proposer id written into the proposal' },
    'client-request-id': { type: 'string', description: 'id for exactly-once submission (reuse it to retry)', defaultText: 'default a fresh UUID' },
    'deadline-ms': { type: 'integer', default: 10_000, min: 1, max: 600_000, description: 'deadline of the Propose call' },
    json: { type: 'boolean', description: 'print the proposer\'s answer as JSON' },
  },
} as const;

/**
 * Each claim as the network will check it (the same library, on the network's LMFDB cache): its
 * verdict and what was computed or looked up. The proposer and the acceptors check again.
 */
async function describeClaims(proposal: MonsterHarmonicProposal, cacheDir: string): Promise<string[]> {
  const lines: string[] = [];
  const caches = new Map<number, SourceCache | undefined>();
  for (const c of proposal.claims) {
    if (!caches.has(c.source)) caches.set(c.source, await loadSource(cacheDir, c.source).catch(() => undefined));
    const r = verifyClaim(caches.get(c.source), c);
    lines.push(`  claim ${c.source}:${c.label}:${c.field}=${c.claimedValue}: ${r.verdict}${r.method ? ` (${r.method})` : ''}: ${r.reason}`);
  }
  return lines;
}

/** Exit codes: 0 chosen, 2 bad input (or an id already used for other bytes, or a request past the proposer's message bound), 3 refused (false claim or wrong hash), 4 no quorum, deadline or overload (retry with the same id), 1 other. */
export const EXIT = { chosen: 0, other: 1, badInput: 2, refused: 3, unavailable: 4 } as const;

const SAMPLE_LEADERBOARD: LeaderboardEntry[] = [
  { framework: 'monster-harmonic/baseline', score: '98.50', pricePerPoint: '0.0125', bid: '1.20', ask: '1.25' },
  { framework: 'monster-harmonic/moonshine', score: '97.25', pricePerPoint: '0.0130', bid: '1.18', ask: '1.27' },
  { framework: 'monster-harmonic/griess', score: '95.00', pricePerPoint: '0.0110', bid: '1.02', ask: '1.10' },
];

export function parseEntry(text: string): LeaderboardEntry {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length !== 5 || parts.some((p) => p === '')) throw new ConfigError(`--entry "${text}" must be "framework,score,price_per_point,bid,ask"`);
  const [framework, score, pricePerPoint, bid, ask] = parts as [string, string, string, string, string];
  return { framework, score, pricePerPoint, bid, ask };
}

export function parseClaim(text: string): Claim {
  const m = /^(\d+):([^:]+):([^=]+)=(.+)$/.exec(text.trim());
  if (!m) throw new ConfigError(`--claim "${text}" must be "source:label:field=value", e.g. "0:11.a2:jinv=-122023936/161051"`);
  const source = Number(m[1]);
  if (!isSourceNumber(source)) throw new ConfigError(`--claim "${text}": source must be 0..9`);
  return { source, label: m[2] as string, field: m[3] as string, claimedValue: m[4] as string };
}

/** proposal.json, with a leaderboard_sha256 it gives passed on as given (the proposer checks it); a file that cannot be read or is not a proposal is bad input. */
function proposalFromFile(path: string): { proposal: MonsterHarmonicProposal; hashGiven: boolean } {
  const text = readBoundedText(path, PROPOSAL_FILE_BYTES_MAX, '--file');
  let doc: unknown;
  try {
    doc = parseLossless(text, { refuseLongIntegers: true });
  } catch (e) {
    // Reading an integer costs more than linear time in its digits: one of 4,000,000 took 7.6 s.
    if (e instanceof IntegerTooLongError) throw new ConfigError(`--file ${path} holds ${e.message} (a proposal's numbers have at most 32 characters): is it the right file?`);
    // The parser recurses once per level: JSON nested thousands deep is valid JSON it cannot read.
    if (e instanceof RangeError) throw new ConfigError(`--file ${path} nests lists or objects too deep to read (a proposal nests 3 deep): is it the right file?`);
    throw new ConfigError(`--file ${path} is not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigError(`--file ${path} must hold one JSON object (proposal_number, proposer_id, leaderboard, claims)`);
  const fields = { ...(doc as Record<string, unknown>) };
  const given = fields['leaderboard_sha256'];
  // Passed on as given when it is text; anything else was dropped and the computed hash sent in its place.
  if (given !== undefined && typeof given !== 'string') throw new ConfigError(`--file ${path}: leaderboard_sha256 must be a string of 64 hex digits, or left out to have it computed`);
  delete fields['leaderboard_sha256'];
  let proposal: MonsterHarmonicProposal;
  try {
    proposal = parseProposalJson(stringifyLossless(fields));
  } catch (e) {
    throw new ConfigError(`--file ${path}: ${(e as Error).message}`);
  }
  return typeof given === 'string' ? { proposal: { ...proposal, leaderboardSha256: given }, hashGiven: true } : { proposal, hashGiven: false };
}

/** What submit's flags say; proposerId only when --proposer-id was given. */
export interface SubmitOptions {
  readonly file?: string;
  readonly entry: string[];
  readonly claim: string[];
  readonly hash?: string;
  readonly proposerId?: number;
}

export function buildFromOptions(number: string, o: SubmitOptions): MonsterHarmonicProposal {
  if (!/^\d+$/.test(number) || BigInt(number) > UINT64_MAX) throw new ConfigError(`proposal number "${number}" must be an integer in 0..${UINT64_MAX}`);
  let proposal: MonsterHarmonicProposal;
  if (o.file) {
    const read = proposalFromFile(o.file);
    proposal = read.proposal;
    // A flag that contradicts the file is refused rather than silently winning or losing.
    if (proposal.proposalNumber !== BigInt(number)) throw new ConfigError(`--file ${o.file} holds proposal_number ${proposal.proposalNumber}, the command line says ${number}: make them agree`);
    if (o.proposerId !== undefined && o.proposerId !== proposal.proposerId) throw new ConfigError(`--file ${o.file} holds proposer_id ${proposal.proposerId}, --proposer-id says ${o.proposerId}: make them agree`);
    if (o.entry.length || o.claim.length) {
      if (read.hashGiven && !o.hash) throw new ConfigError(`--file ${o.file} gives a leaderboard_sha256, which --entry/--claim would change: drop it from the file, or the flags`);
      proposal = buildProposal({ ...proposal, leaderboard: [...proposal.leaderboard, ...o.entry.map(parseEntry)], claims: [...proposal.claims, ...o.claim.map(parseClaim)] });
    }
  } else {
    proposal = buildProposal({
      proposalNumber: BigInt(number),
      proposerId: o.proposerId ?? 0,
      leaderboard: o.entry.length ? o.entry.map(parseEntry) : SAMPLE_LEADERBOARD,
      claims: o.claim.map(parseClaim),
    });
  }
  return o.hash ? { ...proposal, leaderboardSha256: o.hash } : proposal;
}

const ANSWER: Record<number, string> = {
  [VoteOutcome.VOTE_OUTCOME_PROMISED]: 'promised',
  [VoteOutcome.VOTE_OUTCOME_ACCEPTED]: 'accepted',
  [VoteOutcome.VOTE_OUTCOME_REJECTED]: 'rejected',
  [VoteOutcome.VOTE_OUTCOME_REFUSED]: 'refused',
  [VoteOutcome.VOTE_OUTCOME_NO_ANSWER]: 'no answer',
};

/**
 * The votes, the quorum and the chosen slot. Without the network's size (only --proposer named
 * it) the nodes that voted are listed and the quorum line says the size is unknown. The digest is
 * of the proposal's own bytes; check's "value digest" is of the slot's whole value (a batch of
 * commands), so the two differ for the same slot.
 */
export function formatChosen(r: ProposeResponse, clusterSize: number | undefined): string[] {
  const lines: string[] = [];
  const voters = [...new Set(r.votes.map((v) => v.nodeId))].sort((a, b) => a - b);
  const nodes = clusterSize !== undefined ? Array.from({ length: clusterSize }, (_, i) => i) : voters;
  const phases = r.votes.some((v) => v.phase === VotePhase.VOTE_PHASE_PREPARE) ? [VotePhase.VOTE_PHASE_PREPARE, VotePhase.VOTE_PHASE_ACCEPT] : [VotePhase.VOTE_PHASE_ACCEPT];
  for (const phase of phases) {
    for (const node of nodes) {
      const v = r.votes.find((x) => x.phase === phase && x.nodeId === node);
      const name = phase === VotePhase.VOTE_PHASE_PREPARE ? 'prepare' : 'accept';
      const answer = v ? (ANSWER[v.outcome] ?? 'unknown') : 'not awaited';
      const detail = v ? (v.detail ? `  ${v.detail}` : '') : '  (the quorum was reached first)';
      lines.push(`node ${String(node).padStart(2)}  ${name.padEnd(7)}  ${answer.padEnd(11)}  ballot ${v?.ballot ? formatBallot(v.ballot) : '-'}${detail}`);
    }
  }
  const promised = r.votes.filter((v) => v.outcome === VoteOutcome.VOTE_OUTCOME_PROMISED).length;
  const accepted = r.votes.filter((v) => v.outcome === VoteOutcome.VOTE_OUTCOME_ACCEPTED).length;
  const phase1 = r.votes.some((v) => v.phase === VotePhase.VOTE_PHASE_PREPARE)
    ? `${promised} promised`
    : 'phase 1 skipped (stable leader)';
  if (clusterSize !== undefined) {
    const quorum = Quorum.majority(clusterSize);
    lines.push(`quorum: ${quorum.q} of ${quorum.n} needed; ${phase1}, ${accepted} accepted before the quorum was reached`);
  } else lines.push(`quorum: the network's size is unknown (only --proposer named it; add --dir); ${phase1}, ${accepted} accepted before the quorum was reached`);
  lines.push(
    `consensus: ${r.duplicate ? 'already chosen' : 'chosen'} in slot ${r.slot} under ballot ${r.ballot ? formatBallot(r.ballot) : '-'} (value digest ${r.valueDigest ? r.valueDigest.slice(0, 16) : 'not known'}: sha256 of the proposal's bytes)`,
  );
  return lines;
}

/** The agreed leaderboard once the proposal took effect (a linearizable read at the proposer). */
async function printLeaderboard(address: string, proposalNumber: bigint, deadlineMs: number, transport: Transport, out: (line: string) => void): Promise<void> {
  try {
    const r = await readCall(address, 'getLeaderboard', { consistency: Consistency.CONSISTENCY_LINEARIZABLE, historyMax: 0 }, deadlineMs, transport);
    const mine = r.rows.some((row) => row.proposalNumber === proposalNumber);
    out(`leaderboard ${appliedThrough(r.appliedSlot)}${mine ? '' : ` (proposal ${proposalNumber} changed no row: see npm run read -- log)`}:`);
    for (const l of formatRows(r.rows)) out(`  ${l}`);
  } catch (e) {
    out(`leaderboard: could not be read (${describeGrpcError(e)})`);
  }
}

export async function runSubmit(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const parsed = parseCommand(submitCommand, argv);
  if (parsed.help) {
    out(helpText(submitCommand));
    return 0;
  }
  const o = parsed.options;
  // With --json, stdout carries one JSON document; what is said before the call (the id to retry
  // with first of all) goes to stderr.
  const say = o.json ? (l: string) => process.stderr.write(`${printable(l)}\n`) : out;
  const [number, ...extra] = parsed.positionals;
  if (number === undefined || extra.length > 0) throw new ConfigError(`give exactly one proposal number, e.g. npm run submit -- 7`);
  let proposal: MonsterHarmonicProposal;
  try {
    proposal = buildFromOptions(number, { ...(o.file ? { file: o.file } : {}), entry: o.entry ?? [], claim: o.claim ?? [], ...(o.hash ? { hash: o.hash } : {}), ...(parsed.given.has('proposer-id') ? { proposerId: o['proposer-id'] as number } : {}) });
  } catch (e) {
    if (e instanceof ProposalFormatError) throw new ConfigError(e.message);
    throw e;
  }
  const dir = resolve(o.dir ?? defaultNetworkDir());
  // An explicit flag wins over another flag's environment variable: --dir over PAXOS_PROPOSER.
  const proposerFlag = parsed.given.has('proposer') || !parsed.given.has('dir') ? o.proposer : undefined;
  const proposerAddress = proposerFlag === undefined ? undefined : oneAddress(proposerFlag, parsed.given.has('proposer') ? '--proposer' : 'PAXOS_PROPOSER');
  // The network's size comes from its layout: the dir's, unless only --proposer names the network.
  const layout = proposerAddress && !parsed.given.has('dir') ? undefined : readLayout(dir);
  const transport = clientTransport(dir);
  const address = proposerAddress ?? (layout as NonNullable<typeof layout>).proposer;
  const clusterSize = layout?.nodes.filter((n) => n.role === 'acceptor').length;
  const value = encodeProposalValue(proposal);
  say(
    `proposal ${proposal.proposalNumber}: ${counted(proposal.leaderboard.length, 'leaderboard entry', 'leaderboard entries')}, ${counted(proposal.claims.length, 'claim')}, leaderboard sha256 ${proposal.leaderboardSha256.slice(0, 16)}...`,
  );
  if (layout && proposal.claims.length > 0) for (const l of await describeClaims(proposal, layout.lmfdbCacheDir)) say(l);
  const clientRequestId = o['client-request-id'] ?? randomUUID();
  say(`client_request_id ${clientRequestId}`);
  try {
    const r = await propose(address, { clientRequestId, value, includeVotes: true }, o['deadline-ms'] as number, transport);
    // As read --json writes its answers: protobuf's JSON mapping, enums by name.
    if (o.json) out(wireJson(r, 'paxos.v1.ProposeResponse'));
    else {
      for (const l of formatChosen(r, clusterSize)) out(l);
      await printLeaderboard(address, proposal.proposalNumber, o['deadline-ms'] as number, transport, out);
    }
    return EXIT.chosen;
  } catch (e) {
    if (!isServiceError(e)) throw e;
    const mismatch = await transportMismatch(e.code, e.details, address, transport, dir);
    const [line, code] = describeFailure(e.code, e.details, clientRequestId, {
      deadlineMs: o['deadline-ms'] as number,
      transportMismatch: mismatch,
      cannotChoose: cannotChooseOf(e.metadata),
      notSent: notSentOf(e.metadata),
      ...(proposerAddress === undefined ? { addressFrom: join(dir, 'network.json'), dir } : {}),
    });
    out(o.json ? JSON.stringify({ error: { code: status[e.code], details: e.details }, clientRequestId, outcome: line.slice(0, line.indexOf(':')), exitCode: code }, null, 2) : line);
    return code;
  }
}

/** The one host:port a flag names (a bad one is a ConfigError before anything is sent). */
function oneAddress(text: string, what: string): string {
  const list = parseAddressList(text, what);
  if (list.length > 1) throw new ConfigError(`${what} names ${list.length} addresses: give the one proposer to send to`);
  return list[0] as string;
}

/**
 * What a failed Propose means to the person who sent it, and the exit code. Only a decided "no"
 * is "refused". A deadline, a round that reached no quorum (its accepts may still count in a
 * later round) or a connection lost mid-call leave the outcome open; a call that never reached
 * the proposer (no connection) or that it turned away for overload chose nothing. Either way a
 * retry with the same client_request_id answers it without choosing the value twice.
 */
export interface FailureContext {
  /** The call's deadline (to tell a paused command from a slow proposer). */
  readonly deadlineMs?: number;
  /** Why the transports do not match (TLS against plaintext), when that is why no connection was made. */
  readonly transportMismatch?: string;
  /** The proposer's paxos-cannot-choose trailer. */
  readonly cannotChoose?: string;
  /** The proposer's paxos-not-sent trailer. */
  readonly notSent?: string;
  /** Where the proposer's address came from, for a host that does not resolve (default --proposer or PAXOS_PROPOSER). */
  readonly addressFrom?: string;
  /** The network dir whose layout named the proposer: the check to run looks there. */
  readonly dir?: string;
}

export function describeFailure(code: status, details: string, clientRequestId: string, context: FailureContext = {}): [string, number] {
  const { deadlineMs, transportMismatch, cannotChoose, notSent } = context;
  // grpc-js's own text (a connection that failed, a deadline) said as its cause.
  const heldFor = deadlineMs === undefined ? undefined : deadlineNoticedLate({ code, details }, deadlineMs);
  const what = heldFor !== undefined
    ? `${status[code]}: the ${(deadlineMs as number) / 1000} s deadline passed while this command was held for ${heldFor} s (it was paused or starved of CPU; the proposer may have answered in time)`
    : `${status[code] ?? code}: ${describeCallFailure(code, details)}`;
  const retry = `retry with --client-request-id ${clientRequestId}: it is chosen at most once, and a retry answers with its slot`;
  switch (code) {
    case status.FAILED_PRECONDITION:
      // The proposer can choose nothing more (the ballot ceiling): not a verdict on this proposal.
      if (cannotChoose !== undefined) return [`failed: ${what}`, EXIT.other];
      return [`refused: ${what}`, EXIT.refused];
    case status.INVALID_ARGUMENT:
    case status.ALREADY_EXISTS:
      return [`refused: ${what}`, EXIT.badInput];
    case status.RESOURCE_EXHAUSTED:
      // grpc-js refuses a request past the proposer's 4 MiB message bound before any check runs:
      // the same bytes are refused again, so this is bad input, not a bound to wait out.
      if (/^Received message larger than max/.test(details)) return [`refused: ${what}: the proposal is too large for the proposer to read; no retry changes that: make it smaller (a value may hold 1 MiB)`, EXIT.badInput];
      return [`not chosen: ${what}; ${retry}`, EXIT.unavailable];
    case status.UNAVAILABLE:
      if (notConnected(code, details) && transportMismatch !== undefined) return [`not sent: UNAVAILABLE: no connection: ${transportMismatch}; ${retry}`, EXIT.unavailable];
      if (unresolvedAddress(code, details) !== undefined) return [`not sent: ${what}; ${context.addressFrom === undefined ? 'give --proposer (or PAXOS_PROPOSER) a host that resolves' : `the address comes from ${context.addressFrom}: correct it there, or give --proposer a host that resolves`}`, EXIT.unavailable];
      if (notConnected(code, details)) return [`not sent: ${what}; ${certificateRefusal(details) ? certificateAdvice() : notRunningHint('the proposer', context.dir)}; ${retry}`, EXIT.unavailable];
      // The proposer turned the value away before sending it (too few of its links to the
      // acceptors were connected): its own words say so, and "may still be chosen" contradicted them.
      if (notSent !== undefined) return [`not sent: ${what}; ${retry}`, EXIT.unavailable];
      return [`not known to be chosen: ${what}; the proposal may still be chosen: ${retry}`, EXIT.unavailable];
    case status.DEADLINE_EXCEEDED:
      return [`not known to be chosen: ${what}; the proposal may still be chosen: ${retry}`, EXIT.unavailable];
    default:
      return [`failed: ${what}`, EXIT.other];
  }
}
