import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AcceptorLink } from './acceptor-link';
import type { ProposerNode, RoundObserver } from './proposer-node';

/** How a proposal arrived. */
export type ProposeApi = 'unary' | 'stream' | 'bulk';
/** How it ended: chosen now, already chosen before (a retry), or not chosen (its status). */
export type ProposeOutcomeLabel = 'chosen' | 'duplicate' | 'failed';

export interface ProposerMetrics {
  /** One proposal answered: its API, outcome and seconds from arrival to answer. */
  readonly answered: (api: ProposeApi, outcome: ProposeOutcomeLabel, seconds: number) => void;
  readonly attach: (node: ProposerNode, links: readonly AcceptorLink[]) => void;
  /** Rounds by phase and outcome, and the commands of each accept round. */
  readonly rounds: RoundObserver;
}

/**
 * A proposer's metrics: propose latency by API and outcome (observed as answers leave), the rest
 * read from the node when Prometheus scrapes. The per-acceptor series are bounded by the cluster size.
 */
export function proposerMetrics(registry: Registry): ProposerMetrics {
  let node: ProposerNode | undefined;
  let acceptors: readonly AcceptorLink[] = [];
  const latency = new Histogram({
    name: 'paxos_proposer_propose_seconds',
    help: 'time from a proposal\'s arrival to its answer, by API (unary, stream, bulk) and outcome (chosen, duplicate, failed)',
    labelNames: ['api', 'outcome'],
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10],
    registers: [registry],
  });
  const gauge = (name: string, help: string, read: (n: ProposerNode) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (node) this.set(read(node));
      },
    });
  gauge('paxos_proposer_delivered_slot', 'slots below this one are chosen and delivered (applied to the proposer\'s state)', (n) => Number(n.chosen.nextSlot));
  gauge('paxos_proposer_in_flight_slots', 'slots proposed and not yet chosen', (n) => n.load.inFlightSlots);
  gauge('paxos_proposer_pending_commands', 'client commands queued for a slot', (n) => n.load.pendingCommands);
  gauge('paxos_proposer_is_leader', '1 while this proposer holds a ballot a quorum promised', (n) => (n.isLeader ? 1 : 0));
  gauge('paxos_proposer_ballot_round', 'the round of this proposer\'s current ballot', (n) => Number(n.ballot.round));
  gauge('paxos_proposer_acceptors_reachable', 'acceptors whose channel is connected', (n) => n.reachable());
  gauge('paxos_proposer_learning', '1 while this starting proposer learns the chosen log and holds client work (ClusterStatus.learning says where it is)', (n) => (n.learningAt !== undefined ? 1 : 0));
  gauge('paxos_proposer_cannot_choose', '1 once this proposer can choose nothing more (acceptors beyond n - q promised ballots at the round ceiling it cannot pass; ClusterStatus.cannot_choose says why)', (n) => (n.cannotChoose !== undefined ? 1 : 0));
  new Counter({
    name: 'paxos_proposer_chosen_commands_total',
    help: 'client commands in the slots delivered since this proposer began to take client work (duplicates included; the log it learned at start, chosen before, is not counted)',
    registers: [registry],
    collect() {
      if (!node) return;
      this.reset();
      this.inc(node.chosen.commandsDeliveredInService);
    },
  });
  new Gauge({
    name: 'paxos_proposer_acceptor_lag_slots',
    help: 'how far each acceptor\'s committed index is behind the delivered log (catch-up lag; absent while unknown)',
    labelNames: ['acceptor'],
    registers: [registry],
    collect() {
      if (!node) return;
      this.reset();
      const delivered = node.chosen.nextSlot;
      for (const l of acceptors) {
        const at = node.acceptorCommitted(l.nodeId);
        if (at !== undefined) this.set({ acceptor: String(l.nodeId) }, Number(delivered > at ? delivered - at : 0n));
      }
    },
  });
  const rounds = new Counter({
    name: 'paxos_proposer_rounds_total',
    help: 'full rounds ended, by phase (prepare: phase 1, accept: phase 2) and outcome (quorum; rejected: an acceptor promised a higher ballot; unreachable: too few acceptors can answer)',
    labelNames: ['phase', 'outcome'],
    registers: [registry],
  });
  for (const phase of ['prepare', 'accept']) for (const outcome of ['quorum', 'rejected', 'unreachable']) rounds.inc({ phase, outcome }, 0);
  const batch = new Histogram({
    name: 'paxos_proposer_batch_commands',
    help: 'client commands in the slot of each accept round (0: a no-op)',
    buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [registry],
  });
  return {
    rounds: { ended: (phase, outcome) => rounds.inc({ phase, outcome }), opened: (commands) => batch.observe(commands) },
    answered: (api, outcome, seconds) => latency.observe({ api, outcome }, seconds),
    attach: (n, links) => {
      node = n;
      acceptors = links;
    },
  };
}
