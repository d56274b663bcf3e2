import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// deploy/prometheus.yml scrapes what `npm start` launches: acceptor i on 9100 + i, proposer 1 on 9201.
describe('deploy/', () => {
  const root = join(__dirname, '../../..');

  it('scrapes the 23 acceptors and the proposer on the ports the nodes use by default', () => {
    const yml = readFileSync(join(root, 'deploy/prometheus.yml'), 'utf8');
    const targets = [...yml.matchAll(/- (127\.0\.0\.1:\d+)/g)].map((m) => m[1]);
    expect(targets).toEqual([...Array.from({ length: 23 }, (_, i) => `127.0.0.1:${9100 + i}`), '127.0.0.1:9201']);
  });

  it('ships a Grafana dashboard whose queries name only metrics the nodes export', () => {
    const dash = JSON.parse(readFileSync(join(root, 'deploy/grafana-dashboard.json'), 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    // Metric names, not the label names of "by (...)" and "{...}".
    const metricNames = (expr: string) => [...expr.replace(/by \([^)]*\)|\{[^}]*\}/g, ' ').matchAll(/\b((?:paxos|grpc|process|nodejs)_[a-z_]+)\b/g)].map((m) => (m[1] as string).replace(/_(bucket|sum|count)$/, ''));
    const names = new Set(dash.panels.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr))));
    expect(names.size).toBeGreaterThan(10);
    const exported = [
      'paxos_proposer_chosen_commands_total', 'paxos_proposer_propose_seconds', 'paxos_proposer_in_flight_slots', 'paxos_proposer_pending_commands',
      'paxos_proposer_is_leader', 'paxos_proposer_acceptors_reachable', 'paxos_proposer_acceptor_lag_slots', 'paxos_acceptor_committed_slot',
      'paxos_acceptor_applied_slot', 'paxos_acceptor_requests_total', 'paxos_acceptor_replies_total', 'paxos_acceptor_fdatasync_seconds',
      'paxos_acceptor_group_commit_records', 'paxos_acceptor_storage_healthy', 'grpc_server_handled_total', 'process_resident_memory_bytes', 'process_cpu_seconds_total',
      'paxos_proposer_rounds_total', 'paxos_proposer_batch_commands', 'paxos_lmfdb_claims_checked_total', 'paxos_acceptor_refusals_total',
    ];
    for (const n of names) expect(exported).toContain(n);
  });
});
