import { Quorum } from '@paxos/consensus-core';
import { Registry } from 'prom-client';
import { acceptorMetrics, type AcceptorMetricSources } from './acceptor-metrics';
import { buildStatus, type StatusContext } from './status';

/** A node as the metrics and buildStatus read it, with storage health set by the test. */
function node(storage: { healthy: boolean; lastError?: string }, failure?: string) {
  return {
    nodeId: 3,
    quorum: new Quorum(5),
    failure,
    counters: { prepares: 0n, promises: 0n, accepts: 0n, accepted: 0n, rejects: 0n, refusals: 0n, commits: 0n, invalidRequests: 0n },
    refusalsByReason: { slotWindow: 0, valueCheck: 0, rejoining: 0 },
    core: { lastAccepted: () => undefined, promised: { round: 0n, proposerId: 0 }, committedIndex: 0n, rejoining: false, rejoinCatchUpTo: undefined },
    storage: {
      ...storage,
      stats: () => ({ dataDir: '/d', logBytes: 0, snapshotSlot: 0n, fsyncs: 0 }),
      history: { firstSlot: 0n, stats: () => ({ firstSlot: 0n, endSlot: 0n, bytes: 0 }) },
    },
  };
}

async function scrape(n: ReturnType<typeof node>, stateFailure?: string): Promise<string> {
  const registry = new Registry();
  const m = acceptorMetrics(registry);
  m.attach({ node: n, applier: { appliedSlot: 0n, hasState: true, failure: stateFailure }, retention: { quorumCommittedIndex: 0n } } as unknown as AcceptorMetricSources);
  return registry.metrics();
}

function statusHealthy(n: ReturnType<typeof node>): boolean {
  const ctx = { node: n as unknown as StatusContext['node'], appliedSlot: () => 0n, startedAtMs: performance.now(), version: 't', dataSource: () => ({}) as ReturnType<StatusContext['dataSource']> };
  return buildStatus(ctx).storage?.healthy ?? false;
}

describe('paxos_acceptor_storage_healthy', () => {
  const cases: Array<[string, ReturnType<typeof node>]> = [
    // A quiet node whose history write on its idle timer failed: no request has seen it yet.
    ['storage failing, not yet seen by a request', node({ healthy: false, lastError: 'the chosen history cannot be written: ENOSPC' })],
    ['storage failing, seen by a request', node({ healthy: false, lastError: 'ENOSPC' }, 'ENOSPC')],
    ['storage healed, the checkpoint that lets it vote not yet written', node({ healthy: true }, 'ENOSPC')],
    ['storage healthy', node({ healthy: true })],
  ];
  it.each(cases)('says what Status says (and the status page shows): %s', async (_name, n) => {
    const text = await scrape(n);
    const value = /^paxos_acceptor_storage_healthy (\d)$/m.exec(text)?.[1];
    expect(value).toBe(statusHealthy(n) ? '1' : '0');
  });

  it('is 0 while storage fails before any request saw it', async () => {
    expect(await scrape(node({ healthy: false, lastError: 'the chosen history cannot be written: ENOSPC' }))).toMatch(/^paxos_acceptor_storage_healthy 0$/m);
  });
});

describe('paxos_acceptor_replies_total', () => {
  it('describes the refused outcome as every refusal, by the reasons paxos_acceptor_refusals_total counts', async () => {
    const n = node({ healthy: true });
    n.counters.refusals = 3n;
    n.refusalsByReason.slotWindow = 1;
    n.refusalsByReason.valueCheck = 1;
    n.refusalsByReason.rejoining = 1;
    const text = await scrape(n);
    expect(text).toMatch(/^paxos_acceptor_replies_total\{outcome="refused"\} 3$/m);
    const help = /^# HELP paxos_acceptor_replies_total (.*)$/m.exec(text)?.[1] ?? '';
    const refused = /refused: ([^,]*)/.exec(help)?.[1] ?? '';
    for (const reason of ['slot_window', 'value_check', 'rejoining']) expect(refused).toContain(reason);
  });
});

describe('paxos_acceptor_state_machine_healthy', () => {
  it('is 0 once the state machine stopped on a slot it could not apply, as Status state_error says', async () => {
    expect(await scrape(node({ healthy: true }))).toMatch(/^paxos_acceptor_state_machine_healthy 1$/m);
    expect(await scrape(node({ healthy: true }), 'slot 7 could not be applied: the snapshot is damaged')).toMatch(/^paxos_acceptor_state_machine_healthy 0$/m);
  });
});
