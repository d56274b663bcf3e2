// `npm run read`: the agreed state as a person reads it — the leaderboard, proposals, the chosen
// log — from the proposer (linearizable by default) or any acceptor (stale).
import { resolve } from 'node:path';
import { formatBallot } from '@paxos/consensus-core';
import { clientDeadlinePassed, ConfigError, deadlineNoticedLate, describeStatusDetails, helpText, isServiceError, notConnected, parseAddressList, parseCommand, printableField as f, unresolvedAddress } from '@paxos/grpc-kit';
import { Consistency, type LeaderboardRow, type ListProposalsResponse, type ProposalRecord, type ReadLogResponse } from '@paxos/proto';
import { status } from '@grpc/grpc-js';
import stringWidth from 'string-width';
import { LEADERBOARD_HISTORY_MAX } from '@paxos/read-service';
import { certificateAdvice, certificateRefusal, describeCallFailure } from './certificate-refusal';
import { clientTransport, defaultNetworkDir, readLayout } from './network-dir';
import { appliedThrough, counted, notRunningHint, readCall, UINT64_MAX } from './probe';
import { transportMismatch } from './transport-mismatch';
import { wireJson } from './wire-json';

export const readCommand = {
  program: 'read',
  refuseRepeats: true,
  summary: 'read the agreed state: the leaderboard, one proposal, the proposals, or the chosen log; exit 0 read, 2 bad input, 3 not found, 4 no answer, no quorum or one of the node\'s bounds on reads (run again, or --node N), 1 other',
  usage: 'npm run read -- leaderboard [--history H] | proposal <n> | proposals [--from N] | log [--from S] [--max M] [--node N | --address A] [--stale] [--json]',
  allowPositionals: true,
  options: {
    dir: { type: 'string', env: 'PAXOS_NETWORK_DIR', description: 'the network dir (finds the nodes)', defaultText: 'default ~/.openclaw/consensus' },
    node: { type: 'integer', min: 0, max: 99, description: 'read from acceptor N (a stale read of its applied state) instead of the proposer' },
    address: { type: 'string', description: 'read from this host:port (a proposer or an acceptor)' },
    stale: { type: 'boolean', description: 'a stale read (one node\'s applied state) instead of a linearizable one' },
    from: { type: 'string', description: 'first proposal number (proposals) or slot (log)', defaultText: 'default 0' },
    max: { type: 'integer', default: 20, min: 1, max: 1_000_000, description: 'most entries to print (log, proposals)' },
    history: { type: 'integer', default: 0, min: 0, max: LEADERBOARD_HISTORY_MAX, description: 'recent leaderboard changes to print too' },
    'deadline-ms': { type: 'integer', default: 10_000, min: 1, max: 600_000, description: 'deadline of the call' },
    json: { type: 'boolean', description: 'print the answer as JSON' },
  },
} as const;

const json = wireJson;

// Every text that came from a client (an id, a content type, a framework name, a claim) is
// printed through f (printableField): one field, on its line. A claimed value may hold any
// whitespace and still be true ("11" followed by 16 KiB of newlines is the conductor 11), and
// the log may hold ids and content types chosen before the proposer refused control characters.

/**
 * `text` followed by spaces up to `width` terminal columns. String length counts UTF-16 units: a
 * CJK name (two columns a character) or an emoji (two units, two columns) or a name with
 * combining marks (no column) shifted every column after it.
 */
const padColumns = (text: string, width: number): string => text + ' '.repeat(Math.max(0, width - stringWidth(text)));

export function formatRows(rows: readonly LeaderboardRow[]): string[] {
  if (rows.length === 0) return ['(the leaderboard is empty)'];
  const width = Math.max(9, ...rows.map((r) => stringWidth(f(r.framework))));
  const lines = [`${'framework'.padEnd(width)}  ${'score'.padStart(8)}  ${'price/pt'.padStart(9)}  ${'bid'.padStart(7)}  ${'ask'.padStart(7)}  proposal  slot`];
  for (const r of rows) {
    lines.push(
      `${padColumns(f(r.framework), width)}  ${f(r.score).padStart(8)}  ${f(r.pricePerPoint).padStart(9)}  ${f(r.bid).padStart(7)}  ${f(r.ask).padStart(7)}  ${String(r.proposalNumber).padStart(8)}  ${r.slot}`,
    );
  }
  return lines;
}

export function formatProposal(p: ProposalRecord): string[] {
  const lines = [`proposal ${p.proposalNumber}: slot ${p.slot}, proposer ${p.proposerId}, client_request_id ${f(p.clientRequestId)}, leaderboard sha256 ${f(p.leaderboardSha256.slice(0, 16))}...`];
  for (const e of p.leaderboard) lines.push(`  ${f(e.framework)}: score ${f(e.score)}, price/pt ${f(e.pricePerPoint)}, bid ${f(e.bid)}, ask ${f(e.ask)}`);
  for (const c of p.claims) {
    const claim = c.claim;
    if (claim) lines.push(`  claim ${claim.source}:${f(claim.label)}:${f(claim.field)}=${f(claim.claimedValue)}, verified by the proposer${c.checkedBy.length ? ` and acceptors ${c.checkedBy.join(', ')}` : ''} (source ${claim.source})`);
  }
  return lines;
}

/**
 * What a read's answer reflects, said with every read: `consistency` is what the node applied it
 * under (LINEARIZABLE: the proposer confirmed with a quorum that it leads and applied every slot
 * opened before the read; STALE: one node's applied state as it was, later slots may be chosen
 * already; UNSPECIFIED: the node's own default, for an address the network dir does not name).
 */
export interface ReadConsistency {
  readonly consistency: 'CONSISTENCY_LINEARIZABLE' | 'CONSISTENCY_STALE' | 'CONSISTENCY_UNSPECIFIED';
  /** "the proposer", "acceptor 3", "the node at host:port". */
  readonly who: string;
  /** How to read linearizably instead ("drop --node"), for a stale read. */
  readonly instead?: string;
}

/** The line a read ends with: its consistency, whose state it is and the slot it reflects. */
export function consistencyLine(c: ReadConsistency, appliedSlot: bigint): string {
  const at = appliedThrough(appliedSlot);
  switch (c.consistency) {
    case 'CONSISTENCY_LINEARIZABLE':
      return `consistency: linearizable: ${c.who} confirmed with a quorum that it leads and answered ${at}`;
    case 'CONSISTENCY_STALE':
      return `consistency: stale: ${c.who}'s applied state ${at}; slots chosen since are not in it${c.instead ? ` (${c.instead} for a linearizable read)` : ''}`;
    default:
      return `consistency: the default of ${c.who} (linearizable at a proposer, stale at an acceptor), ${at}`;
  }
}

export async function runRead(argv: readonly string[], out: (line: string) => void): Promise<number> {
  const parsed = parseCommand(readCommand, argv);
  if (parsed.help) {
    out(helpText(readCommand));
    return 0;
  }
  const o = parsed.options;
  const [what, arg, ...extra] = parsed.positionals;
  if (what === undefined || extra.length > 0) throw new ConfigError('say what to read: leaderboard, proposal <n>, proposals or log');
  // Only `proposal` takes a word after it: another was ignored, and the read answered something else than asked.
  if (arg !== undefined && what !== 'proposal') throw new ConfigError(`read ${what} takes no "${arg}" after it${what === 'proposals' || what === 'log' ? ' (--from N says where to start)' : ''}`);
  // So does a flag of another read (`leaderboard --max 5` printed every row, `proposals --history 3` no change).
  const flagsOf: Record<string, readonly string[]> = { leaderboard: ['history'], proposal: [], proposals: ['from', 'max'], log: ['from', 'max'] };
  const misplaced = flagsOf[what] === undefined ? [] : (['from', 'max', 'history'] as const).filter((flag) => parsed.given.has(flag) && !flagsOf[what]?.includes(flag));
  if (misplaced.length > 0) {
    const takers = (flag: string) => Object.keys(flagsOf).filter((w) => flagsOf[w]?.includes(flag)).join(' and ');
    throw new ConfigError(`read ${what} takes no ${misplaced.map((flag) => `--${flag}`).join(' or ')}: ${misplaced.map((flag) => `--${flag} is for read ${takers(flag)}`).join('; ')}`);
  }
  if (o.address !== undefined && o.node !== undefined) throw new ConfigError('--node and --address both name the node to read from: give one');
  const addresses = o.address === undefined ? undefined : parseAddressList(o.address, '--address');
  if (addresses !== undefined && addresses.length > 1) throw new ConfigError(`--address names ${addresses.length} nodes: give the one to read from`);
  let address = addresses?.[0];
  const dir = resolve(o.dir ?? defaultNetworkDir());
  const transport = clientTransport(dir);
  if (!address) {
    const layout = readLayout(dir);
    if (o.node !== undefined) {
      const node = layout.nodes.find((n) => n.role === 'acceptor' && n.id === o.node);
      if (!node) throw new ConfigError(`no acceptor ${o.node} in this network (it has ${layout.nodes.filter((n) => n.role === 'acceptor').length})`);
      address = node.address;
    } else address = layout.proposer;
  }
  const consistency = o.stale || (o.node !== undefined && !o.address) ? Consistency.CONSISTENCY_STALE : Consistency.CONSISTENCY_UNSPECIFIED;
  const who = o.address !== undefined ? `the node at ${address}` : o.node !== undefined ? `acceptor ${o.node}` : 'the proposer';
  // An --address the network dir names is read as that node's role reads: a proposer linearizable, an acceptor stale.
  const role = o.address === undefined ? (o.node !== undefined ? 'acceptor' : 'proposer') : roleAt(dir, address);
  const answered: ReadConsistency =
    consistency === Consistency.CONSISTENCY_STALE || role === 'acceptor' || what === 'log'
      ? {
          consistency: 'CONSISTENCY_STALE',
          // ReadLog takes no consistency: the log is the node's applied log, at the proposer too.
          who,
          ...(what === 'log' ? {} : { instead: o.node !== undefined ? 'drop --node' : o.stale ? 'drop --stale' : 'read the proposer, without --address' }),
        }
      : role === 'proposer'
        ? { consistency: 'CONSISTENCY_LINEARIZABLE', who }
        : { consistency: 'CONSISTENCY_UNSPECIFIED', who };
  const deadline = o['deadline-ms'] as number;
  const from = o.from ?? '0';
  if (!/^\d+$/.test(from) || BigInt(from) > UINT64_MAX) throw new ConfigError(`--from "${from}" must be an integer in 0..${UINT64_MAX}`);
  const max = o.max as number;
  try {
    switch (what) {
      case 'leaderboard': {
        const r = await readCall(address, 'getLeaderboard', { consistency, historyMax: o.history as number }, deadline, transport);
        if (o.json) out(json({ ...r, consistency: answered.consistency }, 'paxos.v1.GetLeaderboardResponse'));
        else {
          formatRows(r.rows).forEach((l) => out(l));
          if (r.history.length > 0) {
            out('recent changes (oldest first):');
            for (const h of r.history) out(`  slot ${h.slot}: proposal ${h.proposalNumber} set ${f(h.framework)} to score ${f(h.score)}`);
          }
          out(`${appliedThrough(r.appliedSlot)}: ${r.proposals} proposals took effect, ${r.refused} refused`);
          out(consistencyLine(answered, r.appliedSlot));
        }
        return 0;
      }
      case 'proposal': {
        if (arg === undefined || !/^\d+$/.test(arg)) throw new ConfigError('give the proposal number: npm run read -- proposal 7');
        if (BigInt(arg) > UINT64_MAX) throw new ConfigError(`proposal number "${arg}" must be an integer in 0..${UINT64_MAX}`);
        const r = await readCall(address, 'getProposal', { proposalNumber: BigInt(arg), consistency }, deadline, transport);
        if (o.json) out(json({ ...r, consistency: answered.consistency }, 'paxos.v1.GetProposalResponse'));
        else if (r.proposal) {
          formatProposal(r.proposal).forEach((l) => out(l));
          out(consistencyLine(answered, r.appliedSlot));
        }
        return 0;
      }
      case 'proposals': {
        let next = BigInt(from);
        let shown = 0;
        // --json prints one document for all pages: { proposals, appliedSlot, nextNumber }.
        const pages: ListProposalsResponse[] = [];
        let more = 0n;
        let firstApplied: bigint | undefined;
        /** How many numbers the registry had forgotten at the first page, and its highest forgotten number and count at the last. */
        let forgottenCountFirst: bigint | undefined;
        let forgottenLast: { atOrBelow?: bigint; count: bigint } | undefined;
        // Bounded by --max: every page that goes on adds at least one proposal (a page may be
        // short of 256, cut at 4 MiB), and asks from a number above the last.
        while (shown < max) {
          const r = await readCall(address, 'listProposals', { fromNumber: next, maxEntries: Math.min(256, max - shown), consistency }, deadline, transport);
          forgottenCountFirst ??= r.forgottenCount;
          firstApplied ??= r.appliedSlot;
          forgottenLast = { ...(r.forgottenAtOrBelow === undefined ? {} : { atOrBelow: r.forgottenAtOrBelow }), count: r.forgottenCount };
          if (o.json) pages.push(r);
          else {
            // In number order, the kept records and the forgotten ones (number and slot) together.
            const lines: Array<[bigint, string]> = [
              ...r.proposals.map((p): [bigint, string] => [p.proposalNumber, `proposal ${p.proposalNumber}: slot ${p.slot}, ${counted(p.leaderboard.length, 'row')}, ${counted(p.claims.length, 'claim')}, client_request_id ${f(p.clientRequestId)}`]),
              ...r.forgotten.map((f): [bigint, string] => [f.proposalNumber, `proposal ${f.proposalNumber}: slot ${f.slot} (its full record is no longer kept here: read -- log --from ${f.slot} --max 1)`]),
            ];
            lines.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
            for (const [, line] of lines) out(line);
          }
          const count = r.proposals.length + r.forgotten.length;
          shown += count;
          more = r.nextNumber;
          if (r.nextNumber <= next || count === 0) break;
          next = r.nextNumber;
        }
        if (o.json) {
          const last = pages.at(-1);
          out(
            json({
              proposals: pages.flatMap((p) => p.proposals),
              forgotten: pages.flatMap((p) => p.forgotten),
              appliedSlot: last?.appliedSlot ?? 0n,
              nextNumber: last?.nextNumber ?? 0n,
              ...(forgottenLast?.atOrBelow === undefined ? {} : { forgottenAtOrBelow: forgottenLast.atOrBelow }),
              forgottenCount: forgottenLast?.count ?? 0n,
              consistency: answered.consistency,
            }),
          );
        } else {
          if (shown === 0) out('(no proposals)');
          else if (more !== 0n) out(`more proposals from number ${more} on: --from ${more}`);
          const lost = forgottenLast === undefined || forgottenCountFirst === undefined ? 0n : forgottenLast.count - forgottenCountFirst;
          if (lost > 0n) out(`the registry forgot ${lost} proposal number${lost === 1n ? '' : 's'} while these pages were read: a number listed nowhere above may be one of them; the chosen log holds them (read -- log)`);
          if (forgottenLast?.atOrBelow !== undefined) {
            out(`the registry has forgotten ${counted(Number(forgottenLast.count), 'proposal number')} (it keeps the newest 1,000,000, the oldest go first), the highest ${forgottenLast.atOrBelow}: a new proposal must be numbered above it; the chosen log holds them (read -- log)`);
          }
          // Each page is read on its own: the first page's applied slot is what the list starts from.
          out(consistencyLine(answered, firstApplied ?? 0n));
        }
        return 0;
      }
      case 'log': {
        // Page by page (1,024 entries at most each) up to --max; text is printed as it comes.
        const entries: ReadLogResponse['entries'] = [];
        let shown = 0;
        let next = BigInt(from);
        let appliedSlot = 0n;
        while (shown < max) {
          const r = await readCall(address, 'readLog', { fromSlot: next, maxEntries: Math.min(max - shown, 1024) }, deadline, transport);
          appliedSlot = r.appliedSlot;
          shown += r.entries.length;
          if (o.json) entries.push(...r.entries);
          else for (const e of r.entries) for (const line of formatLogEntry(e)) out(line);
          const last = r.entries.at(-1);
          if (last === undefined || last.slot + 1n >= r.appliedSlot) break;
          next = last.slot + 1n;
        }
        if (o.json) out(json({ entries, appliedSlot, consistency: answered.consistency }));
        else {
          out(`log ${appliedThrough(appliedSlot)}`);
          out(consistencyLine(answered, appliedSlot));
        }
        return 0;
      }
      default:
        throw new ConfigError(`unknown read "${what}": leaderboard, proposal <n>, proposals or log`);
    }
  } catch (e) {
    if (!isServiceError(e)) throw e;
    let target: ReadTarget = {
      address,
      who: o.address !== undefined ? `the node at ${address}` : o.node !== undefined ? `acceptor ${o.node}` : 'the proposer',
      viaProposer: o.node === undefined && !o.address,
      linearizable: consistency !== Consistency.CONSISTENCY_STALE && what !== 'log',
      deadlineMs: deadline,
      ...(o.address === undefined ? { dir } : {}),
    };
    const mismatch = await transportMismatch(e.code, e.details, address, transport, dir);
    if (mismatch !== undefined) target = { ...target, transportMismatch: mismatch };
    const failure = describeReadFailure(e.code, e.details, target);
    out(o.json ? json({ error: { code: status[e.code], details: failure.details } }) : `${status[e.code]}: ${failure.details}`);
    return failure.exitCode;
  }
}

/** The role of the node at `address` in the network dir's layout (undefined: the dir names no such node, or no network). */
function roleAt(dir: string, address: string): 'acceptor' | 'proposer' | undefined {
  try {
    return readLayout(dir).nodes.find((n) => n.address === address)?.role;
  } catch {
    return undefined;
  }
}

/** The node a read asked, as its failure names it. */
export interface ReadTarget {
  readonly address: string;
  /** "the proposer", "acceptor 3" or "the node at host:port". */
  readonly who: string;
  /** The proposer of the network dir (an acceptor could be read instead). */
  readonly viaProposer: boolean;
  /** A linearizable read (the proposer needs a quorum for it; a stale read does not). */
  readonly linearizable: boolean;
  readonly deadlineMs: number;
  /** The port speaks TLS where the tool dialled plaintext, or the reverse (transportMismatch's advice). */
  readonly transportMismatch?: string;
  /** The network dir whose layout named the address (not for --address): the check to run looks there. */
  readonly dir?: string;
}

/**
 * A failed read as a person reads it, and the exit code (3 not found, 4 no answer or no quorum, 1
 * other). grpc-js's own text is said as its cause (the translation check uses too); a
 * linearizable read the proposer could not back with a quorum keeps the server's message and
 * says how to read anyway with this tool.
 */
export function describeReadFailure(code: status, details: string, t: ReadTarget): { details: string; exitCode: number } {
  const staleHint = t.viaProposer ? '; an acceptor answers a stale read: --node N' : '';
  let said: string;
  const heldFor = deadlineNoticedLate({ code, details }, t.deadlineMs);
  if (heldFor !== undefined) said = `the ${t.deadlineMs} ms deadline passed while this command was held for ${heldFor} s (it was paused or starved of CPU; ${t.address} may have answered in time): run it again`;
  else if (clientDeadlinePassed({ code, details }) !== undefined) said = `${t.address} did not answer within ${t.deadlineMs} ms (paused or overloaded?)${staleHint}`;
  else if (notConnected(code, details) && t.transportMismatch !== undefined) said = `no connection: ${t.transportMismatch}`;
  else if (unresolvedAddress(code, details) !== undefined) said = describeCallFailure(code, details);
  else if (notConnected(code, details)) said = `${describeCallFailure(code, details)}; ${certificateRefusal(details) ? certificateAdvice() : notRunningHint(t.who, t.dir)}${staleHint}`;
  else if (t.linearizable && code === status.UNAVAILABLE && /CONSISTENCY_STALE/.test(details)) said = `${details}; rerun with --stale, or --node N to read one acceptor`;
  else said = describeStatusDetails(code, details);
  // A bound of the node's reads (RESOURCE_EXHAUSTED) passes as the others do: run it again, exit
  // 4 as submit's. A message too large for this tool to take does not: the same read fails again.
  const again = code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED || (code === status.RESOURCE_EXHAUSTED && !/^Received message larger than max/.test(details));
  return { details: said, exitCode: code === status.NOT_FOUND ? 3 : again ? 4 : 1 };
}

/** One chosen slot as the log prints it: its commands, their certificates and duplicates. */
export function formatLogEntry(e: ReadLogResponse['entries'][number]): string[] {
  const value = e.value?.kind;
  const ballot = e.ballot ? formatBallot(e.ballot) : '-';
  if (value?.$case !== 'batch') return [`slot ${e.slot}  ballot ${ballot}  no-op`];
  const lines = [`slot ${e.slot}  ballot ${ballot}  ${value.value.commands.length} command(s)`];
  value.value.commands.forEach((c, i) => {
    const outcome = e.outcomes[i];
    const certificate = c.verifiedBy.length > 0 ? `  claims verified by acceptors ${c.verifiedBy.join(', ')}` : '';
    const note = `${certificate}${outcome?.duplicate ? `  duplicate of slot ${outcome.firstSlot}` : outcome?.forgotten ? '  (its id is forgotten here: took effect or a duplicate, not known)' : ''}`;
    lines.push(`  ${f(c.clientRequestId)}  ${f(c.value?.contentType ?? '')}  ${c.value?.data.length ?? 0} bytes${note}`);
  });
  return lines;
}
