import { Quorum, formatBallot } from '@paxos/consensus-core';
import { status as grpcStatus } from '@grpc/grpc-js';
import { describeGrpcError, type HealthReading, isServiceError, readHealth, SHUTDOWN_DEADLINE_MS, type Transport } from '@paxos/grpc-kit';
import type { StatusResponse } from '@paxos/proto';
import { acceptorVotes } from '@paxos/wire';
import { type NetworkLayout, type NodeLayout, portOf, STATUS_PAGE_NAME } from './network-dir';
import { type CertificateExpiry, formatCertificateExpiry } from './certificate-expiry';
import { formatAgreement, type LogAgreement } from './log-agreement';
import { certificateAdvice, certificateRefusal, describeCallFailure } from './certificate-refusal';
import { acceptorStatus, proposerNotServing } from './probe';
import { transportMismatch } from './transport-mismatch';
import { isPaused, listensOn } from './processes';
import { shellWord } from './shell-word';

export interface NodeRow {
  readonly node: number;
  readonly address: string;
  readonly alive: boolean;
  /** Alive and voting (its storage is healthy and it is not rejoining): only these make a quorum. */
  readonly voting?: boolean;
  readonly error?: string;
  readonly source?: string;
  readonly promised?: string;
  readonly lastAccepted?: string;
  readonly committedIndex?: string;
  /** Slots below this are applied to the node's state machine. */
  readonly appliedSlot?: string;
  /** Its chosen history starts at this slot (a state snapshot covers the slots below). */
  readonly historyFirstSlot?: string;
  /** The slot of the state snapshot it gives (GetStateSnapshot); "0" while it has none. */
  readonly stateSnapshotSlot?: string;
  readonly valueDigest?: string;
  /** What the node says of itself that differs from the network's layout (empty when nothing does). */
  readonly misconfigured?: string;
  /** Alive but not doing its work: storage failed, or no agreed state to read (healthProblem). */
  readonly unhealthy?: string;
  /** When it does not answer: whether the process launch started for it runs, and is paused (absent: not checked). */
  readonly process?: ServiceRow['process'];
}

/** A process of the network other than the acceptors (the proposer, the status page): does it answer? */
export interface ServiceRow {
  readonly address: string;
  readonly answering: boolean;
  /** Why not (absent when it answers). */
  readonly error?: string;
  /** A proposer that answers NOT_SERVING because it can choose nothing more (the ballot ceiling): why, and what to do. */
  readonly cannotChoose?: string;
  /** A proposer that answers NOT_SERVING because it is still learning the chosen log at its start (ClusterStatus.learning). */
  readonly learning?: string;
  /** When it does not answer: whether the process launch started for it runs, and is paused (absent: not checked). */
  readonly process?:
    | { readonly running: false; readonly lastWords?: string; readonly lostData?: LostData }
    // shuttingDown: the signal its log says it is ending on (its port closes first, its calls and storage then end).
    | { readonly running: true; readonly pid: number; readonly paused: boolean; readonly shuttingDown?: string };
}

/** An acceptor whose data dir holds no votes while the others' do: restart-missing leaves it down, rejoin brings it back. */
export interface LostData {
  readonly id: number;
  readonly dataDir: string;
}

/** What became of the process launch started for a service that does not answer (owners absent: not checked), and of one gone, what its log said last. */
function processOf(owners: Owners | undefined, pid: number | undefined, name: string): Pick<ServiceRow, 'process'> {
  if (!owners) return {};
  if (pid !== undefined) {
    const signal = owners.shutdownSignal?.(name, pid);
    return { process: { running: true, pid, paused: isPaused(pid), ...(signal !== undefined ? { shuttingDown: signal } : {}) } };
  }
  const lastWords = owners.lastWords?.(name);
  const lostData = owners.lostData?.(name);
  return { process: { running: false, ...(lastWords !== undefined ? { lastWords } : {}), ...(lostData !== undefined ? { lostData } : {}) } };
}

/** What to do about a service that does not answer: start it again, resume it, or read its log. */
function serviceAdvice(row: ServiceRow, log: string, dir: string): string {
  const p = row.process;
  // Its log's last words: a node that refused to start (damaged data, a port taken) says why, and
  // starting it again will not help until that is mended.
  // restart-missing does not start an acceptor that lost its data (started empty it would forget its votes): rejoin does.
  if (p?.running === false && p.lostData) {
    return `its process is not running and its data dir ${p.lostData.dataDir} holds no votes while the other acceptors' do (it lost its data; --restart-missing leaves it down): bring it back with npm run rejoin -- --node ${p.lostData.id} --dir ${shellWord(dir)}`;
  }
  if (p?.running === false) return `its process is not running${p.lastWords ? ` (its log ends: ${p.lastWords})` : ''}: npm run launch -- --restart-missing --dir ${shellWord(dir)} starts it again${p.lastWords ? ' once that is mended' : ''}`;
  if (p?.running && p.paused) return `its process ${p.pid} is paused (stopped by a signal): resume it with kill -CONT ${p.pid}`;
  // Its port closes as its graceful shutdown starts; the process ends once its calls and storage have.
  if (p?.running && p.shuttingDown) {
    return `its process ${p.pid} is shutting down (${p.shuttingDown}, its log says): it no longer answers and ends within ${SHUTDOWN_DEADLINE_MS / 1000} s; then npm run launch -- --restart-missing --dir ${shellWord(dir)} starts it again`;
  }
  return `see ${log}`;
}

export interface CheckReport {
  readonly nodes: readonly NodeRow[];
  /** The proposer's health: clients reach the network through it. */
  readonly proposer: ServiceRow;
  /** The live status page (absent for a network launched without one). */
  readonly statusPage?: ServiceRow;
  /** A quorum of acceptors is alive and votes, and the proposer serves: the network takes work. */
  readonly serving: boolean;
  readonly alive: number;
  /** Alive acceptors that vote (the others' storage failed, or they rejoin). */
  readonly voting: number;
  readonly clusterSize: number;
  readonly quorumSize: number;
  readonly crashTolerance: number;
  readonly byzantineTolerance: number;
  /** A quorum of acceptors is alive and votes. */
  readonly quorumAlive: boolean;
  /** The highest committed index among alive acceptors, and how many hold it. */
  readonly committedIndex: string;
  readonly holdingLatest: number;
  /** How many alive acceptors applied every slot below it to their state machine (they apply within half a second). */
  readonly appliedLatest: number;
  /** Whether the alive acceptors hold the same values in the latest slots (absent: not compared). */
  readonly agreement?: LogAgreement;
  /** When the CA and the certificates the nodes present expire (absent: a plaintext network). */
  readonly certificates?: CertificateExpiry;
}

/**
 * How an acceptor's own view differs from the network's layout: its id, the network size it was
 * started with (its claim-certificate check and quorum figures depend on it) and the LMFDB source
 * it holds (id mod 10, whose claims it verifies). Undefined when they agree.
 */
export function configurationProblem(id: number, clusterSize: number, s: Pick<StatusResponse, 'nodeId' | 'clusterSize' | 'dataSource'>): string | undefined {
  const problems: string[] = [];
  if (s.nodeId !== id) problems.push(`answers as acceptor ${s.nodeId}, the layout has acceptor ${id} here`);
  if (s.clusterSize !== clusterSize) problems.push(`was started for ${s.clusterSize} acceptors, the network has ${clusterSize} (restart it with --cluster-size ${clusterSize})`);
  if (s.dataSource && s.dataSource.source !== id % 10) problems.push(`holds LMFDB source ${s.dataSource.source}, acceptor ${id} holds source ${id % 10}: proposers do not count its claim verdicts`);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/** What keeps an alive acceptor from doing its work: its storage failed (it does not vote) or its state machine stopped (it serves no reads). */
export function healthProblem(s: Pick<StatusResponse, 'storage' | 'stateError'> & Partial<Pick<StatusResponse, 'rejoining' | 'rejoinCatchUpTo' | 'committedIndex'>>): string | undefined {
  const problems: string[] = [];
  if (s.storage && !s.storage.healthy) problems.push(`does not vote: its storage failed (${s.storage.error || 'no reason given'})`);
  if (s.rejoining) problems.push(`does not vote yet: it lost its data and rejoined; it learns the chosen log up to slot ${s.rejoinCatchUpTo ?? 0n} first (it holds ${s.committedIndex ?? 0n})`);
  if (s.stateError) problems.push(`serves no reads: ${s.stateError}`);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

function row(id: number, address: string, clusterSize: number, s: StatusResponse): NodeRow {
  const ds = s.dataSource;
  const misconfigured = configurationProblem(id, clusterSize, s);
  const unhealthy = healthProblem(s);
  return {
    ...(misconfigured ? { misconfigured } : {}),
    ...(unhealthy ? { unhealthy } : {}),
    node: id,
    address,
    alive: true,
    voting: acceptorVotes(s),
    source: ds ? `${ds.source} ${ds.table}${ds.loaded ? ` (${ds.rowCount} rows)` : ' (not loaded)'}` : '',
    promised: s.promised ? formatBallot(s.promised) : '-',
    lastAccepted: s.lastAccepted ? `slot ${s.lastAccepted.slot} @ ${formatBallot(s.lastAccepted.ballot ?? { round: 0n, proposerId: 0 })}` : '-',
    committedIndex: s.committedIndex.toString(),
    appliedSlot: s.appliedSlot.toString(),
    historyFirstSlot: (s.storage?.historyFirstSlot ?? 0n).toString(),
    stateSnapshotSlot: s.stateSnapshotSlot.toString(),
    valueDigest: s.lastAccepted ? s.lastAccepted.valueDigest.slice(0, 12) : '-',
  };
}

/**
 * The deadlines of the attempts at one node. A node silent at the first deadline is asked once
 * more with a longer one: the first call also connects (and shakes hands for TLS), which takes
 * longer than a second on a busy machine; a paused node stays silent at both.
 */
export const attemptDeadlines = (deadlineMs: number): readonly number[] => [deadlineMs, 3 * deadlineMs];

/** Silent: the call found no one to answer in time (a retry may find the node), not an answer. */
const SILENT_CODES: ReadonlySet<number> = new Set([grpcStatus.DEADLINE_EXCEEDED, grpcStatus.UNAVAILABLE]);
const isSilence = (e: unknown): boolean => isServiceError(e) && SILENT_CODES.has(e.code);

/** call with each deadline in turn, while the node is silent; the last failure is thrown. */
export async function askUntilAnswered<T>(deadlines: readonly number[], call: (deadlineMs: number) => Promise<T>, silent: (e: unknown) => boolean = isSilence): Promise<T> {
  let failure: unknown = new Error('no attempt was made');
  for (const d of deadlines) {
    try {
      return await call(d);
    } catch (e) {
      failure = e;
      if (!silent(e)) break;
    }
  }
  throw failure;
}

async function acceptorRow(n: NodeLayout, clusterSize: number, deadlineMs: number, transport: Transport, owners?: Owners): Promise<NodeRow> {
  try {
    const s = await askUntilAnswered(attemptDeadlines(deadlineMs), (d) => acceptorStatus(n.address, d, transport));
    // Another acceptor at this address (another network on these ports, or a node started with
    // the wrong --id) does not count toward this network's quorum.
    if (s.nodeId !== n.id) return { node: n.id, address: n.address, alive: false, error: `answers as acceptor ${s.nodeId}, not acceptor ${n.id} of this network (another network on these ports, or a node started with another --id)` };
    return row(n.id, n.address, clusterSize, s);
  } catch (e) {
    const pid = owners?.acceptors?.get(n.id);
    const mismatch = isServiceError(e) ? await transportMismatch(e.code, e.details, n.address, transport) : undefined;
    if (mismatch !== undefined) return { node: n.id, address: n.address, alive: false, error: `UNAVAILABLE: no connection: ${mismatch}` };
    return { node: n.id, address: n.address, alive: false, error: withCertificateHint(isServiceError(e) ? `${grpcStatus[e.code] ?? e.code}: ${describeCallFailure(e.code, e.details)}` : describeGrpcError(e), listensOwn(pid, n.address)), ...(owners?.acceptors ? processOf(owners, pid, n.name) : {}) };
  }
}

/** Whether the network's own process (pid, from its pid file) is the one listening on address's port. */
const listensOwn = (pid: number | undefined, address: string): boolean => pid !== undefined && listensOn(pid, portOf(address)) === true;

/**
 * A handshake that fails on the certificate chain: another network (another CA) on these ports,
 * or, when the port's process is this network's own (`ours`), tls/ issued again after it started.
 */
export function withCertificateHint(error: string, ours = false): string {
  if (certificateRefusal(error) === undefined) return error;
  return ours ? `${error} (${certificateAdvice(true)})` : `${error} (a node made with another network's CA answers on this port: is another network running on these ports?)`;
}

/**
 * The pids of this network's proposer and status page (from its pid files, each checked to be
 * launch's process): something else answering on their ports is not them. Absent: not checked.
 */
export interface Owners {
  readonly proposer?: number;
  readonly statusPage?: number;
  /** Acceptor id -> pid of those whose process runs (absent: not checked). */
  readonly acceptors?: ReadonlyMap<number, number>;
  /** The last line of a process's log that says why it ended (by its name in the layout), if any. */
  readonly lastWords?: (name: string) => string | undefined;
  /** Whether an acceptor (by its name in the layout) lost its data, as launch's lostData tells. */
  readonly lostData?: (name: string) => LostData | undefined;
  /** The signal a running process (by its name and pid) is shutting down on, as its log says (undefined: it says nothing of it). */
  readonly shutdownSignal?: (name: string, pid: number) => string | undefined;
}

async function proposerRow(address: string, deadlineMs: number, transport: Transport, owners?: Owners): Promise<ServiceRow> {
  let health: HealthReading = { serving: false };
  for (const d of attemptDeadlines(deadlineMs)) {
    // ProposerService's own health: NOT_SERVING while the proposer learns the log at its start, or at the ballot ceiling.
    health = await readHealth(address, d, transport, 'paxos.v1.ProposerService');
    if (health.code === undefined || !SILENT_CODES.has(health.code)) break;
  }
  if (health.serving && owners) {
    if (owners.proposer === undefined) return { address, answering: false, error: `this network's proposer is not running (no live proposer.pid), and another process answers on ${address}` };
    if (listensOn(owners.proposer, portOf(address)) === false) return { address, answering: false, error: `another process answers on ${address}, not this network's proposer (pid ${owners.proposer})` };
  }
  const mismatch = health.code === undefined || health.reason === undefined ? undefined : await transportMismatch(health.code, health.reason.replace(/^UNAVAILABLE: /, ''), address, transport);
  if (mismatch !== undefined) return { address, answering: false, error: `UNAVAILABLE: no connection: ${mismatch}` };
  // It answers, NOT_SERVING: a proposer that can choose nothing more (the ballot ceiling), or still learns the log, says why in ClusterStatus.
  const why = !health.serving && health.code === undefined ? await proposerNotServing(address, deadlineMs, transport) : {};
  if (why.cannotChoose !== undefined) return { address, answering: false, error: health.reason ?? 'health answers NOT_SERVING', cannotChoose: why.cannotChoose };
  if (why.learning !== undefined) return { address, answering: false, error: health.reason ?? 'health answers NOT_SERVING', learning: why.learning };
  return { address, answering: health.serving, ...(health.reason ? { error: withCertificateHint(health.reason, listensOwn(owners?.proposer, address)) } : {}), ...(health.serving ? {} : processOf(owners, owners?.proposer, 'proposer')) };
}

/** The status page answers HEAD / as itself (its header names its pid: the one launch started, when known). */
async function statusPageRow(address: string, deadlineMs: number, owners?: Owners): Promise<ServiceRow> {
  const url = `http://${address}/`;
  try {
    const res = await askUntilAnswered(attemptDeadlines(deadlineMs), (d) => fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(d) }), (e) => (e as Error).name === 'TimeoutError');
    if (!res.ok) return { address, answering: false, error: `HTTP ${res.status} at ${url}` };
    const pid = res.headers.get('x-paxos-status-page');
    if (pid === null) return { address, answering: false, error: `${url} is served by something other than the status page` };
    if (owners && pid !== String(owners.statusPage)) return { address, answering: false, error: `${url} is another network's status page (pid ${pid.slice(0, 12)}), not this network's${owners.statusPage === undefined ? ' (which is not running)' : ` (pid ${owners.statusPage})`}` };
    return { address, answering: true };
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    return { address, answering: false, error: `${url}: ${(e as Error).name === 'TimeoutError' ? 'no answer in time (paused?)' : (cause ?? (e as Error).message)}`, ...processOf(owners, owners?.statusPage, STATUS_PAGE_NAME) };
  }
}

/** Polls every acceptor's Status, the proposer's health and the status page (each with its own deadline). */
export async function checkNetwork(layout: NetworkLayout, deadlineMs: number, transport: Transport, owners?: Owners): Promise<CheckReport> {
  const acceptors = layout.nodes.filter((n) => n.role === 'acceptor');
  const quorum = Quorum.majority(acceptors.length);
  const [rows, proposer, statusPage] = await Promise.all([
    Promise.all(acceptors.map((n) => acceptorRow(n, quorum.n, deadlineMs, transport, owners))),
    proposerRow(layout.proposer, deadlineMs, transport, owners),
    layout.statusPage ? statusPageRow(layout.statusPage, deadlineMs, owners) : Promise.resolve(undefined),
  ]);
  const alive = rows.filter((r) => r.alive);
  const voting = alive.filter((r) => r.voting !== false).length;
  const latest = alive.reduce((m, r) => (BigInt(r.committedIndex ?? '0') > m ? BigInt(r.committedIndex ?? '0') : m), 0n);
  return {
    nodes: rows,
    proposer,
    ...(statusPage ? { statusPage } : {}),
    serving: quorum.isQuorum(voting) && proposer.answering,
    alive: alive.length,
    voting,
    clusterSize: quorum.n,
    quorumSize: quorum.q,
    crashTolerance: quorum.crashTolerance,
    byzantineTolerance: quorum.byzantineTolerance,
    quorumAlive: quorum.isQuorum(voting),
    committedIndex: latest.toString(),
    holdingLatest: alive.filter((r) => BigInt(r.committedIndex ?? '0') === latest).length,
    appliedLatest: alive.filter((r) => BigInt(r.appliedSlot ?? '0') >= latest).length,
  };
}

/** Why nothing is compared when every acceptor is silent. */
export const NO_ACCEPTOR_ANSWERED = 'no acceptor answered';

/**
 * What to do when no acceptor answers: with every silent one's process known to run paused, resume
 * them (the down lines name each); else start the stopped ones again.
 */
function silentAdvice(nodes: CheckReport['nodes'], dir: string): string {
  const paused = nodes.filter((n) => n.process?.running === true && n.process.paused).length;
  if (paused === nodes.length && paused > 0) return `every acceptor's process is paused: resume them (kill -CONT, each named below)`;
  const restart = `npm run launch -- --restart-missing --dir ${shellWord(dir)} brings back the nodes whose process is gone`;
  return paused > 0 ? `${paused} of them are paused (resume them with kill -CONT, each named below); ${restart}` : `is the network running? ${restart}`;
}

/**
 * The table and the summary lines. With no acceptor answering, the consensus and agreement figures
 * would read as a network that chose nothing: they say instead that no one answered (`dir` names
 * the network dir in the command that restarts it).
 */
export function formatCheck(r: CheckReport, dir = 'D'): string[] {
  const head = ['node', 'alive', 'source', 'promised', 'last accepted', 'committed', 'applied', 'value digest'];
  const body = r.nodes.map((n) =>
    n.alive
      ? [String(n.node), 'yes', n.source ?? '', n.promised ?? '', n.lastAccepted ?? '', n.committedIndex ?? '', n.appliedSlot ?? '', n.valueDigest ?? '']
      : [String(n.node), 'NO', n.error ?? '', '', '', '', '', ''],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.filter((b) => b[1] !== 'NO' || i < 3).map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(Math.min(widths[i] ?? 0, 48)))).join('  ').trimEnd();
  return [
    line(head),
    ...body.map(line),
    `alive: ${r.alive}/${r.clusterSize}${r.voting < r.alive ? ` (${r.alive - r.voting} of them not voting)` : ''}; quorum ${r.quorumSize} ${r.quorumAlive ? 'is alive' : 'is NOT alive'} (crash tolerance ${r.crashTolerance}, Byzantine tolerance ${r.byzantineTolerance})`,
    r.alive === 0
      ? `consensus: ${NO_ACCEPTOR_ANSWERED}: ${silentAdvice(r.nodes, dir)}`
      : `consensus: ${r.holdingLatest} of ${r.alive} alive acceptors hold the latest chosen slot (committed index ${r.committedIndex})`,
    ...(r.agreement ? (r.alive === 0 ? [`agreement: could not be compared: ${NO_ACCEPTOR_ANSWERED}`] : formatAgreement(r.agreement)) : []),
    r.proposer.answering
      ? `proposer ${r.proposer.address}: serving`
      : r.proposer.cannotChoose !== undefined
        ? `proposer ${r.proposer.address}: NOT serving: it cannot choose (the ballot ceiling): ${r.proposer.cannotChoose}`
        : r.proposer.learning !== undefined
          ? `proposer ${r.proposer.address}: NOT serving yet: ${r.proposer.learning} (it holds the proposals it receives meanwhile; check again shortly)`
          : `proposer ${r.proposer.address}: NOT serving (${r.proposer.error ?? 'no answer'}): clients cannot propose; ${serviceAdvice(r.proposer, 'proposer.log', dir)}`,
    ...(r.statusPage ? [r.statusPage.answering ? `status page: http://${r.statusPage.address}/` : `status page: NOT answering (${r.statusPage.error ?? 'no answer'}): ${serviceAdvice(r.statusPage, 'status-page.log', dir)}`] : []),
    // A silent acceptor whose process is known: paused (resume it) or gone (start it again).
    ...r.nodes.flatMap((n) => (!n.alive && n.process ? [`down: acceptor ${n.node} (${n.address}) ${serviceAdvice({ address: n.address, answering: false, process: n.process }, `node_${n.node}.log`, dir)}`] : [])),
    ...r.nodes.flatMap((n) => (n.misconfigured ? [`configuration: acceptor ${n.node} (${n.address}) ${n.misconfigured}`] : [])),
    ...r.nodes.flatMap((n) => (n.unhealthy ? [`health: acceptor ${n.node} (${n.address}) ${n.unhealthy}; see its log`] : [])),
    ...formatCertificateExpiry(r.certificates, dir),
  ];
}
