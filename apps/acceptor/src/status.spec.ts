import { Quorum } from '@paxos/consensus-core';
import { buildStatus, type StatusContext } from './status';

/** A node as buildStatus reads it, with storage health and errors set by the test. */
function context(storage: { healthy: boolean; lastError?: string }, nodeFailure?: string): StatusContext {
  const node = {
    nodeId: 3,
    quorum: new Quorum(5),
    failure: nodeFailure,
    counters: {},
    core: { lastAccepted: () => undefined, promised: { round: 0n, proposerId: 0 }, committedIndex: 0n, rejoining: false, rejoinCatchUpTo: undefined },
    storage: {
      ...storage,
      stats: () => ({ dataDir: '/d', logBytes: 0, snapshotSlot: 0n, fsyncs: 0 }),
      history: { stats: () => ({ firstSlot: 0n, endSlot: 0n, bytes: 0 }) },
    },
  };
  return { node: node as unknown as StatusContext['node'], appliedSlot: () => 0n, startedAtMs: performance.now(), version: 't', dataSource: () => ({}) as ReturnType<StatusContext['dataSource']> };
}

describe('Status storage field', () => {
  it('shows the storage error of now while storage is unhealthy, not the first of the episode', () => {
    const s = buildStatus(context({ healthy: false, lastError: 'fdatasync of /d/log-1.wal failed: EPERM: operation not permitted' }, 'fdatasync of /d/log-1.wal failed: ENOSPC: no space left on device'));
    expect(s.storage).toMatchObject({ healthy: false, error: 'fdatasync of /d/log-1.wal failed: EPERM: operation not permitted' });
  });

  it("shows the node's failure once storage healed but the checkpoint that lets it vote is not written", () => {
    const s = buildStatus(context({ healthy: true }, 'fdatasync of /d/log-1.wal failed: ENOSPC: no space left on device'));
    expect(s.storage).toMatchObject({ healthy: false, error: 'fdatasync of /d/log-1.wal failed: ENOSPC: no space left on device' });
  });

  it('is healthy with no error otherwise', () => {
    expect(buildStatus(context({ healthy: true })).storage).toMatchObject({ healthy: true, error: '' });
  });
});
