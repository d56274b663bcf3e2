// Reads the whole network once a poll while someone looks (an open page, or a read of /api/view
// within the last VIEW_ASKED_LINGER_MS): every acceptor's Status, the proposer's metrics, the
// agreed leaderboard with its recent changes, the latest chosen slots and the claims of the latest
// proposals. While no one looks, only the proposer's counters, for the chart's history. Every call
// has the node deadline, so one poll never outlasts it by much; a node that does not answer is
// shown paused or down, never waited for.
import { Quorum } from '@paxos/consensus-core';
import { status } from '@grpc/grpc-js';
import { isServiceError, type Logger, messageBytes, type Transport } from '@paxos/grpc-kit';
import type { GetLeaderboardResponse, LogEntry } from '@paxos/proto';
import { type AcceptorView, acceptorView, type LeaderboardView, leaderboardRows, type NetworkView, type ProposalView, type ProposerView, proposalView, type SlotView, slotView, votes } from './network-view';
import { failureState, NodeClients, scrapeMetrics } from './node-clients';
import { parsePrometheusText, type PromSample } from './prometheus-text';
import { type ProposerReading, RateHistory } from './rate-history';

export interface PollerOptions {
  readonly acceptors: readonly string[];
  readonly proposer: string;
  readonly proposerMetrics: string;
  readonly transport: Transport;
  readonly pollMs: number;
  readonly nodeDeadlineMs: number;
  readonly historySeconds: number;
  readonly logger: Logger;
  /** How long a read of the view keeps whole polls going (default VIEW_ASKED_LINGER_MS). */
  readonly viewAskedLingerMs?: number;
}

/** Chosen slots the page lists. */
const LATEST_SLOTS = 12;
/** Proposals whose claims the page lists. */
const LATEST_PROPOSALS = 6;
/** Leaderboard changes read per poll to find the latest proposals. */
const HISTORY_READ = 32;
/** Chosen slots kept for their pages (oldest read first out), and about how many bytes of them (slots hold up to 1 MiB each). */
const SLOT_CACHE_MAX = 256;
const SLOT_CACHE_BYTES_MAX = 16 * 1024 * 1024;
/** Proposal records kept between polls (a chosen proposal never changes). */
const PROPOSAL_CACHE_MAX = 256;
/**
 * How long a read of the view keeps the whole network polled after it (a script reading
 * /api/view every few seconds then gets views a poll old, not ones made for it).
 */
export const VIEW_ASKED_LINGER_MS = 30_000;

const PROPOSER_SERIES = new Set([
  'paxos_proposer_is_leader',
  'paxos_proposer_ballot_round',
  'paxos_proposer_delivered_slot',
  'paxos_proposer_in_flight_slots',
  'paxos_proposer_pending_commands',
  'paxos_proposer_acceptors_reachable',
  'paxos_proposer_cannot_choose',
  'paxos_proposer_learning',
  'paxos_proposer_chosen_commands_total',
  'paxos_proposer_propose_seconds_bucket',
]);

export class NetworkPoller {
  private readonly acceptors: readonly NodeClients[];
  private readonly proposer: NodeClients;
  private readonly quorum: Quorum;
  private readonly rates: RateHistory;
  private readonly proposalCache = new Map<string, ProposalView>();
  private readonly slotCache = new Map<bigint, { entry: LogEntry; from: string; bytes: number }>();
  private slotCacheBytes = 0;
  private readonly listeners = new Set<(v: NetworkView) => void>();
  private current: NetworkView | undefined;
  /** True once a poll read only the proposer: `current` no longer follows the network. */
  private stale = false;
  /** Open pages (each holds the poller to whole polls). */
  private watchers = 0;
  private viewAskedAtMs = -Infinity;
  /** Reads of the view waiting for the next whole poll (each an HTTP request: bounded by the server's connections). */
  private viewWaiters: Array<(v: NetworkView | undefined) => void> = [];
  private timer: NodeJS.Timeout | undefined;
  /** Ends the wait between polls at once: set only while the loop waits. */
  private wake: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly opts: PollerOptions) {
    this.acceptors = opts.acceptors.map((a) => new NodeClients(a, opts.transport, opts.nodeDeadlineMs));
    this.proposer = new NodeClients(opts.proposer, opts.transport, opts.nodeDeadlineMs);
    this.quorum = Quorum.majority(opts.acceptors.length);
    this.rates = new RateHistory(Math.ceil((opts.historySeconds * 1000) / opts.pollMs));
  }

  /**
   * Polls now, then every pollMs (measured from the start of one poll to the next): the whole
   * network while someone looks, else the proposer's counters alone. Every idle node answered a
   * Status call a second for a page no one had open: about 10 % of a core for 23 acceptors.
   */
  start(): void {
    const loop = async () => {
      this.wake = undefined;
      const started = performance.now();
      const whole = this.watched();
      if (whole) {
        try {
          const view = await this.pollOnce();
          this.current = view;
          this.stale = false;
          for (const l of this.listeners) l(view);
        } catch (e) {
          this.opts.logger.error({ err: e }, 'poll failed');
        }
        const waiters = this.viewWaiters;
        this.viewWaiters = [];
        for (const w of waiters) w(this.current);
      } else {
        this.stale = true;
        try {
          await this.pollProposerMetrics([]);
        } catch (e) {
          this.opts.logger.error({ err: e }, 'poll failed');
        }
      }
      if (this.stopped) return;
      // Someone came to look while the counters were read: the whole network at once. After a
      // whole poll, pollMs from its start even when it failed (the view then still stale): a poll
      // that fails at once was otherwise run again at once, without end, while the page was open.
      const waitMs = !whole && this.watched() ? 0 : Math.max(0, this.opts.pollMs - (performance.now() - started));
      const timer = (this.timer = setTimeout(() => void loop(), waitMs));
      this.wake = () => {
        clearTimeout(timer);
        void loop();
      };
    };
    void loop();
  }

  stop(): void {
    this.stopped = true;
    this.wake = undefined;
    if (this.timer) clearTimeout(this.timer);
    for (const c of [...this.acceptors, this.proposer]) c.close();
    const waiters = this.viewWaiters;
    this.viewWaiters = [];
    for (const w of waiters) w(this.current);
  }

  /** The latest view while it follows the network (undefined before the first whole poll, and while no one looks). */
  latest(): NetworkView | undefined {
    return this.stale ? undefined : this.current;
  }

  /** The view as of now: the latest one while someone looks, else the one a whole poll made at once (undefined when none could be made). */
  viewNow(): Promise<NetworkView | undefined> {
    this.viewAskedAtMs = performance.now();
    const v = this.latest();
    if (v !== undefined || this.stopped) return Promise.resolve(v);
    return new Promise((resolve) => {
      this.viewWaiters.push(resolve);
      this.wake?.();
    });
  }

  /** Holds the poller to whole polls until the returned function is called (an open page); polls at once when it was idle. */
  watch(): () => void {
    this.watchers++;
    if (this.stale) this.wake?.();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.watchers--;
    };
  }

  /** The chart's history: one point per poll, kept whether or not anyone looks. */
  rateHistory(): NetworkView['rates'] {
    return [...this.rates.all()];
  }

  private watched(): boolean {
    return this.watchers > 0 || this.viewWaiters.length > 0 || performance.now() - this.viewAskedAtMs < (this.opts.viewAskedLingerMs ?? VIEW_ASKED_LINGER_MS);
  }

  /** Calls fn with every new view until the returned function is called. */
  subscribe(fn: (v: NetworkView) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async pollOnce(): Promise<NetworkView> {
    const problems: string[] = [];
    const [acceptors, proposerFigures] = await Promise.all([this.pollAcceptors(), this.pollProposerMetrics(problems)]);
    const reads = await this.pollAgreedState(acceptors, problems);
    const alive = acceptors.filter((a) => a.state === 'alive').length;
    const voting = acceptors.filter(votes).length;
    const proposer: ProposerView = {
      address: this.opts.proposer,
      ...(reads.proposerState ?? { state: 'alive' as const }),
      ...proposerFigures,
    };
    return {
      // eslint-disable-next-line no-restricted-properties -- the moment the page shows ("updated 12:01:07")
      at: Date.now(),
      pollMs: this.opts.pollMs,
      historySeconds: this.opts.historySeconds,
      clusterSize: this.quorum.n,
      quorumSize: this.quorum.q,
      alive,
      voting,
      quorumAlive: this.quorum.isQuorum(voting),
      busy: acceptors.filter((a) => a.state === 'busy').length,
      acceptors,
      proposer,
      rates: [...this.rates.all()],
      latestSlots: reads.latestSlots,
      ...(reads.leaderboard ? { leaderboard: reads.leaderboard } : {}),
      proposals: reads.proposals,
      problems,
    };
  }

  /**
   * One chosen slot, from the proposer or else any acceptor that has it (asked at once, each with
   * its deadline: the first few down or paused do not hide the slot the others hold).
   */
  async readSlot(slot: bigint): Promise<{ entry?: LogEntry; from: string; problem?: string; noneAnswered?: boolean }> {
    // A chosen slot never changes: one read serves every later page of it.
    const cached = this.slotCache.get(slot);
    if (cached) return cached;
    const found = await this.findSlot(slot);
    const bytes = found.entry ? messageBytes(found.entry) : 0;
    // Two reads of one slot at once both land here: the second finds it cached already.
    if (found.entry && bytes <= SLOT_CACHE_BYTES_MAX && !this.slotCache.has(slot)) {
      for (const [oldest, kept] of this.slotCache) {
        if (this.slotCache.size < SLOT_CACHE_MAX && this.slotCacheBytes + bytes <= SLOT_CACHE_BYTES_MAX) break;
        this.slotCache.delete(oldest);
        this.slotCacheBytes -= kept.bytes;
      }
      this.slotCache.set(slot, { entry: found.entry, from: found.from, bytes });
      this.slotCacheBytes += bytes;
    }
    return found;
  }

  private async findSlot(slot: bigint): Promise<{ entry?: LogEntry; from: string; problem?: string; noneAnswered?: boolean }> {
    /** Why each node could not give the slot, by reason: the addresses that gave it. */
    const problems = new Map<string, string[]>();
    const problem = (address: string, reason: string): void => {
      const at = problems.get(reason);
      if (at) at.push(address);
      else problems.set(reason, [address]);
    };
    let answered = 0;
    const ask = async (node: NodeClients): Promise<{ entry: LogEntry; from: string }> => {
      try {
        const r = await node.readLog(slot, 1);
        answered++;
        const entry = r.entries[0];
        if (entry && entry.slot === slot) return { entry, from: node.address };
        // applied_slot counts the slots applied: the last one applied is the slot before it.
        problem(node.address, `not chosen there yet (${r.appliedSlot === 0n ? 'no slot applied yet' : `applied through slot ${r.appliedSlot - 1n}`})`);
      } catch (e) {
        // OUT_OF_RANGE: an acceptor answered that it no longer keeps the slot (below its retained
        // history). An answer, as final as "not chosen yet": not a reason to ask again. The
        // proposer's OUT_OF_RANGE is the acceptors' answers as it heard them (it keeps only recent
        // slots itself), and the acceptors are asked next: theirs decide.
        if (isServiceError(e) && e.code === status.OUT_OF_RANGE && node !== this.proposer) answered++;
        problem(node.address, failureState(e, this.opts.nodeDeadlineMs).reason);
      }
      throw new Error('not read there');
    };
    try {
      return await ask(this.proposer);
    } catch {
      // the acceptors, then
    }
    try {
      return await Promise.any(this.acceptors.map(ask));
    } catch {
      // One line per reason, so that 23 nodes saying one thing are said once, not cut off after four.
      const groups = [...problems].map(([reason, at]) => `${at.slice(0, 3).join(', ')}${at.length > 3 ? ` and ${at.length - 3} more` : ''}: ${reason}`);
      const shown = groups.slice(0, 4).join('; ');
      return { from: '', problem: groups.length > 4 ? `${shown}; and ${groups.length - 4} more reasons` : shown, ...(answered === 0 ? { noneAnswered: true } : {}) };
    }
  }

  private pollAcceptors(): Promise<AcceptorView[]> {
    return Promise.all(
      this.acceptors.map(async (c, id): Promise<AcceptorView> => {
        try {
          // eslint-disable-next-line no-restricted-properties -- the moment the page shows as the node's last answer
          return acceptorView(id, c.address, await c.status(), Date.now());
        } catch (e) {
          return { id, address: c.address, ...failureState(e, this.opts.nodeDeadlineMs) };
        }
      }),
    );
  }

  private async pollProposerMetrics(problems: string[]): Promise<Partial<ProposerView>> {
    let text: string;
    try {
      text = await scrapeMetrics(this.opts.proposerMetrics, this.opts.nodeDeadlineMs);
    } catch (e) {
      this.rates.gap();
      problems.push(`proposer metrics at ${this.opts.proposerMetrics}: ${failureState(e, this.opts.nodeDeadlineMs).reason}`);
      return {};
    }
    const samples = parsePrometheusText(text, (n) => PROPOSER_SERIES.has(n));
    const one = (name: string): number | undefined => samples.find((s) => s.name === name)?.value;
    const buckets = latencyBuckets(samples);
    const chosenCommands = one('paxos_proposer_chosen_commands_total');
    const deliveredSlot = one('paxos_proposer_delivered_slot');
    if (chosenCommands !== undefined && deliveredSlot !== undefined) {
      // eslint-disable-next-line no-restricted-properties -- the moment shown on the chart
      const reading: ProposerReading = { at: Date.now(), elapsedMs: performance.now(), chosenCommands, deliveredSlot, latencyBuckets: buckets };
      this.rates.add(reading);
    }
    const figures: Record<string, number | boolean> = {};
    const leader = one('paxos_proposer_is_leader');
    if (leader !== undefined) figures['leader'] = leader === 1;
    const blocked = one('paxos_proposer_cannot_choose');
    if (blocked !== undefined) figures['cannotChoose'] = blocked === 1;
    const learning = one('paxos_proposer_learning');
    if (learning !== undefined) figures['learning'] = learning === 1;
    for (const [key, name] of [
      ['ballotRound', 'paxos_proposer_ballot_round'],
      ['deliveredSlot', 'paxos_proposer_delivered_slot'],
      ['inFlightSlots', 'paxos_proposer_in_flight_slots'],
      ['pendingCommands', 'paxos_proposer_pending_commands'],
      ['acceptorsReachable', 'paxos_proposer_acceptors_reachable'],
    ] as const) {
      const v = one(name);
      if (v !== undefined) figures[key] = v;
    }
    return figures as Partial<ProposerView>;
  }

  /**
   * The leaderboard, the latest slots and proposals, read from the proposer; when it does not
   * answer, or has applied fewer slots than an alive acceptor (a restarted proposer still learning
   * the log), from the applied state of the alive acceptor that has applied the most (marked as such).
   */
  private async pollAgreedState(
    acceptors: readonly AcceptorView[],
    problems: string[],
  ): Promise<{ proposerState?: Pick<ProposerView, 'state' | 'reason'>; leaderboard?: LeaderboardView; latestSlots: SlotView[]; proposals: ProposalView[] }> {
    let proposerState: Pick<ProposerView, 'state' | 'reason'> | undefined;
    const candidates: Array<{ node: NodeClients; name: string }> = [{ node: this.proposer, name: `proposer ${this.opts.proposer}` }];
    // An acceptor whose state machine stopped serves no reads: the furthest of the others.
    let fallback: AcceptorView | undefined;
    for (const a of acceptors) {
      if (a.state !== 'alive' || a.stateError !== undefined) continue;
      if (!fallback || BigInt(a.appliedSlot ?? 0) > BigInt(fallback.appliedSlot ?? 0)) fallback = a;
    }
    const fallbackApplied = BigInt(fallback?.appliedSlot ?? 0);
    if (fallback) candidates.push({ node: this.acceptors[fallback.id] as NodeClients, name: `acceptor ${fallback.id} (its applied state)` });
    // The proposer, then one alive acceptor: at most two rounds of calls, so a poll stays within a few deadlines.
    let behind: { node: NodeClients; name: string; board: GetLeaderboardResponse } | undefined;
    for (const { node, name } of candidates) {
      let board: GetLeaderboardResponse | undefined;
      try {
        board = await node.leaderboard(HISTORY_READ);
        if (node === this.proposer && fallback && board.appliedSlot < fallbackApplied) {
          // Its state would take the page back (an empty leaderboard after a restart) until it has learned the log.
          problems.push(`${name}: has applied ${board.appliedSlot} slots, acceptor ${fallback.id} ${fallbackApplied} (it is still learning the log)`);
          behind = { node, name, board };
          continue;
        }
        return { ...(proposerState ? { proposerState } : {}), ...(await this.agreedStateOf(node, name, board, problems)) };
      } catch (e) {
        const f = failureState(e, this.opts.nodeDeadlineMs);
        if (node === this.proposer) proposerState = f;
        problems.push(`${name}: ${f.reason}`);
      }
    }
    // The acceptor it was behind did not answer its reads: the proposer's own state, older but
    // named by its slot, rather than none ("no node answered", when the proposer did).
    if (behind) {
      try {
        return await this.agreedStateOf(behind.node, behind.name, behind.board, problems);
      } catch (e) {
        const f = failureState(e, this.opts.nodeDeadlineMs);
        proposerState = f;
        problems.push(`${behind.name}: ${f.reason}`);
      }
    }
    return { ...(proposerState ? { proposerState } : {}), latestSlots: [], proposals: [] };
  }

  /** The leaderboard `board` (read from `node`), with the latest slots and proposals read from `node` too. */
  private async agreedStateOf(
    node: NodeClients,
    name: string,
    board: GetLeaderboardResponse,
    problems: string[],
  ): Promise<{ leaderboard: LeaderboardView; latestSlots: SlotView[]; proposals: ProposalView[] }> {
    const applied = board.appliedSlot;
    const from = applied > BigInt(LATEST_SLOTS) ? applied - BigInt(LATEST_SLOTS) : 0n;
    const log = applied > 0n ? await node.readLog(from, LATEST_SLOTS) : { entries: [] };
    const latestSlots = log.entries.slice(0, LATEST_SLOTS).map(slotView).reverse();
    const proposals = await this.latestProposals(node, board.history.map((h) => h.proposalNumber), problems);
    return {
      leaderboard: { from: name, appliedSlot: String(applied), proposals: String(board.proposals), refused: String(board.refused), rows: leaderboardRows(board.rows) },
      latestSlots,
      proposals,
    };
  }

  private async latestProposals(node: NodeClients, numbersOldestFirst: readonly bigint[], problems: string[]): Promise<ProposalView[]> {
    const numbers: bigint[] = [];
    for (let i = numbersOldestFirst.length - 1; i >= 0 && numbers.length < LATEST_PROPOSALS; i--) {
      const n = numbersOldestFirst[i] as bigint;
      if (!numbers.includes(n)) numbers.push(n);
    }
    // The ones not seen before, read at once (a chosen proposal never changes: the rest come from the cache).
    const missing = numbers.filter((n) => !this.proposalCache.has(String(n)));
    await Promise.all(
      missing.map(async (n) => {
        try {
          const r = await node.proposal(n);
          if (!r.proposal) return;
          this.proposalCache.set(String(n), proposalView(r.proposal));
          if (this.proposalCache.size > PROPOSAL_CACHE_MAX) this.proposalCache.delete(this.proposalCache.keys().next().value as string);
        } catch (e) {
          problems.push(`proposal ${n}: ${failureState(e, this.opts.nodeDeadlineMs).reason}`);
        }
      }),
    );
    return numbers.flatMap((n) => {
      const v = this.proposalCache.get(String(n));
      return v ? [v] : [];
    });
  }
}

/**
 * The proposer's propose latency as cumulative buckets (seconds upper bound -> answers), every API,
 * chosen answers only, as the dashboard charts it: a duplicate (a retry of a command in the log)
 * is answered from memory in a few ms, so a retry storm pulled the page's p50 down.
 */
export function latencyBuckets(samples: readonly PromSample[]): Map<number, number> {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== 'paxos_proposer_propose_seconds_bucket' || s.labels['outcome'] !== 'chosen') continue;
    const le = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
    if (!Number.isNaN(le)) buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  return buckets;
}
