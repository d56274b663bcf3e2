import type { AcceptorStorage } from './storage';
import { storageFailure } from './status';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AcceptorNode } from '@paxos/acceptor-node';
import type { HistoryRetention, StateApplier } from '@paxos/acceptor-node';

/** What the acceptor's metrics read at each scrape. */
export interface AcceptorMetricSources {
  readonly node: AcceptorNode<AcceptorStorage>;
  readonly applier: StateApplier;
  readonly retention: HistoryRetention;
}

/**
 * An acceptor's metrics. Most are read from the node's own counters and state when Prometheus
 * scrapes (nothing on the voting path); the group commits are observed as they happen.
 */
export function acceptorMetrics(registry: Registry): { readonly synced: (seconds: number, records: number) => void; readonly attach: (s: AcceptorMetricSources) => void } {
  let sources: AcceptorMetricSources | undefined;
  const c = () => sources?.node.counters;
  new Counter({
    name: 'paxos_acceptor_requests_total',
    help: 'requests taken, by type (prepare, accept, commit)',
    labelNames: ['type'],
    registers: [registry],
    collect() {
      const k = c();
      if (!k) return;
      this.reset();
      this.inc({ type: 'prepare' }, Number(k.prepares));
      this.inc({ type: 'accept' }, Number(k.accepts));
      this.inc({ type: 'commit' }, Number(k.commits));
    },
  });
  new Counter({
    name: 'paxos_acceptor_replies_total',
    help: 'answers given, by outcome (promise, accepted, reject, refused: an accept refused without a vote for any reason paxos_acceptor_refusals_total counts (slot_window or value_check or rejoining), invalid: a malformed or unauthorised request)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      const k = c();
      if (!k) return;
      this.reset();
      this.inc({ outcome: 'promise' }, Number(k.promises));
      this.inc({ outcome: 'accepted' }, Number(k.accepted));
      this.inc({ outcome: 'reject' }, Number(k.rejects));
      this.inc({ outcome: 'refused' }, Number(k.refusals));
      this.inc({ outcome: 'invalid' }, Number(k.invalidRequests));
    },
  });
  new Counter({
    name: 'paxos_acceptor_refusals_total',
    help: 'accepts refused without a vote, by reason (slot_window: the slot is too far above the committed index; value_check: the value failed this node\'s check of its form or of its claim certificate; rejoining: this node lost its data and has not yet learned the chosen log up to its floor)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      if (!sources) return;
      this.reset();
      this.inc({ reason: 'slot_window' }, sources.node.refusalsByReason.slotWindow);
      this.inc({ reason: 'value_check' }, sources.node.refusalsByReason.valueCheck);
      this.inc({ reason: 'rejoining' }, sources.node.refusalsByReason.rejoining);
    },
  });
  const gauge = (name: string, help: string, read: (s: AcceptorMetricSources) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (sources) this.set(read(sources));
      },
    });
  gauge('paxos_acceptor_committed_slot', 'slots below this one are known chosen here (the committed index)', (s) => Number(s.node.core.committedIndex));
  gauge('paxos_acceptor_applied_slot', 'slots below this one are applied to this node\'s state machine', (s) => Number(s.applier.appliedSlot));
  gauge('paxos_acceptor_history_first_slot', 'the first slot the chosen history keeps (above 0 under --history-retain-slots)', (s) => Number(s.node.storage.history.firstSlot));
  gauge('paxos_acceptor_quorum_committed_slot', 'the quorum\'s committed index the proposers last reported: retention keeps every slot at or above it (0 until a proposer reports one)', (s) => Number(s.retention.quorumCommittedIndex));
  gauge('paxos_acceptor_history_bytes', 'bytes of the chosen history on disk', (s) => s.node.storage.history.stats().bytes);
  gauge('paxos_acceptor_promised_round', 'the round of the highest ballot promised', (s) => Number(s.node.core.promised.round));
  // As Status says it (and the status page shows it): 0 as soon as storage fails, also on a quiet
  // node whose failure no request has met yet, and until the checkpoint after it healed is written.
  gauge(
    'paxos_acceptor_storage_healthy',
    '1 while storage works and the node votes; 0 while storage fails, and after it healed until the checkpoint that lets the node vote again is written (as Status storage.healthy)',
    (s) => (storageFailure(s.node) === undefined ? 1 : 0),
  );
  gauge('paxos_acceptor_state_available', '1 while the node has agreed state to answer reads from', (s) => (s.applier.hasState ? 1 : 0));
  // Status state_error: the state machine stopped on a slot it could not apply (reads then say so);
  // state_available stays 1, the state it holds being readable, only no longer advancing.
  gauge('paxos_acceptor_state_machine_healthy', '1 while the node\'s state machine applies the chosen log; 0 once it stopped on a slot it could not apply (Status state_error says why)', (s) => (s.applier.failure === undefined ? 1 : 0));
  const syncSeconds = new Histogram({
    name: 'paxos_acceptor_fdatasync_seconds',
    help: 'duration of each fdatasync of the vote log (one per group commit)',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const groupRecords = new Histogram({
    name: 'paxos_acceptor_group_commit_records',
    help: 'records made durable by one fdatasync',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [registry],
  });
  return {
    synced: (seconds, records) => {
      syncSeconds.observe(seconds);
      groupRecords.observe(records);
    },
    attach: (s) => {
      sources = s;
    },
  };
}
