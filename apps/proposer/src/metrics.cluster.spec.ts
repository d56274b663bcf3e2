// Prometheus metrics of real processes: names and types as documented, and counters that move
// when a value is chosen.
import { buildProposal, encodeProposalValue } from '@paxos/proposal';
import { METRICS_RENDER_EVERY_MS } from '@paxos/grpc-kit';
import { TestCluster, textValue } from '@paxos/test-cluster';
import { get } from 'node:http';

jest.setTimeout(120_000);

/** The metrics as they are now: a scrape within METRICS_RENDER_EVERY_MS of another answers the same text, so wait that long first. */
async function scrape(port: number): Promise<string> {
  await new Promise((r) => setTimeout(r, METRICS_RENDER_EVERY_MS));
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body}`))));
    }).on('error', reject);
  });
}

/** Metric name -> type, from the exposition's # TYPE lines. */
const typesOf = (text: string) => new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]));

/** The sum of a metric's samples whose labels include every one given. */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))) {
    const l = m[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))) sum += Number(m[2]);
  }
  return sum;
}

describe('Prometheus metrics (real processes)', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ acceptors: 3 });
    await cluster.startProposer(1);
  });
  afterAll(() => cluster.stop());

  it('exports the documented names and types, and counters move after a proposal', async () => {
    const acceptorPort = cluster.metricsPorts.get('acceptor-0') as number;
    const proposerPort = cluster.metricsPorts.get('proposer-1') as number;
    const [a0, p0] = await Promise.all([scrape(acceptorPort), scrape(proposerPort)]);
    const acceptorTypes = typesOf(a0);
    for (const [name, type] of [
      ['paxos_acceptor_requests_total', 'counter'],
      ['paxos_acceptor_replies_total', 'counter'],
      ['paxos_acceptor_refusals_total', 'counter'],
      ['paxos_acceptor_committed_slot', 'gauge'],
      ['paxos_acceptor_applied_slot', 'gauge'],
      ['paxos_acceptor_storage_healthy', 'gauge'],
      ['paxos_acceptor_fdatasync_seconds', 'histogram'],
      ['paxos_acceptor_group_commit_records', 'histogram'],
      ['grpc_server_handled_total', 'counter'],
      ['grpc_server_handling_seconds', 'histogram'],
      ['process_cpu_seconds_total', 'counter'],
      ['nodejs_heap_size_used_bytes', 'gauge'],
    ]) expect([name, acceptorTypes.get(name as string)]).toEqual([name, type]);
    const proposerTypes = typesOf(p0);
    for (const [name, type] of [
      ['paxos_proposer_propose_seconds', 'histogram'],
      ['paxos_proposer_delivered_slot', 'gauge'],
      ['paxos_proposer_in_flight_slots', 'gauge'],
      ['paxos_proposer_is_leader', 'gauge'],
      ['paxos_proposer_acceptors_reachable', 'gauge'],
      ['paxos_proposer_cannot_choose', 'gauge'],
      ['paxos_proposer_learning', 'gauge'],
      ['paxos_proposer_chosen_commands_total', 'counter'],
      ['paxos_proposer_acceptor_lag_slots', 'gauge'],
      ['paxos_proposer_rounds_total', 'counter'],
      ['paxos_proposer_batch_commands', 'histogram'],
      ['paxos_lmfdb_claims_checked_total', 'counter'],
      ['grpc_server_handled_total', 'counter'],
    ]) expect([name, proposerTypes.get(name as string)]).toEqual([name, type]);
    expect(acceptorTypes.get('paxos_lmfdb_claims_checked_total')).toBe('counter');
    expect(a0).toMatch(/node="acceptor-0"/);

    for (let i = 0; i < 3; i++) await cluster.propose(1, `metrics-${i}`, textValue(`value ${i}`));
    const [a1, p1] = await Promise.all([scrape(acceptorPort), scrape(proposerPort)]);
    expect(value(a1, 'paxos_acceptor_requests_total', { type: 'accept' })).toBeGreaterThan(value(a0, 'paxos_acceptor_requests_total', { type: 'accept' }));
    expect(value(a1, 'paxos_acceptor_fdatasync_seconds_count')).toBeGreaterThan(value(a0, 'paxos_acceptor_fdatasync_seconds_count'));
    expect(value(a1, 'grpc_server_handled_total', { grpc_method: '/paxos.v1.AcceptorService/Status', grpc_code: 'OK' })).toBeGreaterThanOrEqual(0);
    expect(value(p1, 'paxos_proposer_propose_seconds_count', { api: 'unary', outcome: 'chosen' })).toBe(3);
    expect(value(p1, 'grpc_server_handled_total', { grpc_method: '/paxos.v1.ProposerService/Propose', grpc_code: 'OK' })).toBe(3);
    expect(value(p1, 'paxos_proposer_delivered_slot')).toBeGreaterThan(value(p0, 'paxos_proposer_delivered_slot'));
    expect(value(p1, 'paxos_proposer_chosen_commands_total')).toBeGreaterThanOrEqual(3);
    expect(value(p1, 'paxos_proposer_acceptors_reachable')).toBe(3);
    expect(value(p1, 'paxos_proposer_cannot_choose')).toBe(0);
    expect(value(p1, 'paxos_proposer_learning')).toBe(0);
    expect(value(p1, 'paxos_proposer_rounds_total', { phase: 'prepare', outcome: 'quorum' })).toBeGreaterThanOrEqual(1);
    expect(value(p1, 'paxos_proposer_rounds_total', { phase: 'accept', outcome: 'quorum' })).toBeGreaterThan(value(p0, 'paxos_proposer_rounds_total', { phase: 'accept', outcome: 'quorum' }));
    expect(value(p1, 'paxos_proposer_batch_commands_count')).toBeGreaterThan(value(p0, 'paxos_proposer_batch_commands_count'));
    expect(value(p1, 'paxos_proposer_batch_commands_sum')).toBeGreaterThanOrEqual(3);

    // This cluster holds no LMFDB data: a claim is checked, found unverifiable, and counted.
    const claimed = encodeProposalValue(
      buildProposal({ proposalNumber: 1n, proposerId: 1, leaderboard: [], claims: [{ source: 0, label: '11.a2', field: 'jinv', claimedValue: '-122023936/161051' }] }),
    );
    await expect(cluster.propose(1, 'metrics-claim', claimed)).rejects.toMatchObject({ details: expect.stringContaining('cannot be verified') });
    const p2 = await scrape(proposerPort);
    expect(value(p2, 'paxos_lmfdb_claims_checked_total', { result: 'unknown' })).toBe(value(p1, 'paxos_lmfdb_claims_checked_total', { result: 'unknown' }) + 1);
    expect(value(p2, 'paxos_proposer_propose_seconds_count', { api: 'unary', outcome: 'failed' })).toBeGreaterThanOrEqual(1);
  });

  it('answers 404 off /metrics', async () => {
    await expect(
      new Promise((resolve) => get({ host: '127.0.0.1', port: cluster.metricsPorts.get('acceptor-0') as number, path: '/' }, (res) => resolve(res.statusCode))),
    ).resolves.toBe(404);
  });
});
