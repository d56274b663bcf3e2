import { status } from '@grpc/grpc-js';
import type { ProposeResponse } from '@paxos/proto';
import type { TestCluster } from '@paxos/test-cluster';
import { proposeUntilChosen } from './chaos-run';

const failure = (code: number) => Object.assign(new Error(`${code} failed`), { code });

/** A cluster whose proposer answers each call from `answers` in turn. */
function clusterAnswering(answers: Array<ProposeResponse | Error>): { cluster: Pick<TestCluster, 'propose'>; ids: string[] } {
  const ids: string[] = [];
  const cluster = {
    propose: (_id: number, clientRequestId: string) => {
      ids.push(clientRequestId);
      const a = answers.shift();
      return a instanceof Error || a === undefined ? Promise.reject(a ?? new Error('no more answers')) : Promise.resolve(a);
    },
  };
  return { cluster, ids };
}

describe('the proposal after the heal', () => {
  it('is sent again with the same id after UNAVAILABLE (a proposer whose links are still reconnecting), until chosen', async () => {
    const { cluster, ids } = clusterAnswering([failure(status.UNAVAILABLE), failure(status.DEADLINE_EXCEEDED), { slot: 7n } as ProposeResponse]);
    await expect(proposeUntilChosen(cluster, 1, 'after-heal', 30_000)).resolves.toMatchObject({ slot: 7n });
    expect(ids).toEqual(['after-heal', 'after-heal', 'after-heal']);
  });

  it('gives up at once on an answer a retry cannot change', async () => {
    const { cluster, ids } = clusterAnswering([failure(status.INVALID_ARGUMENT)]);
    await expect(proposeUntilChosen(cluster, 1, 'after-heal', 30_000)).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(ids).toEqual(['after-heal']);
  });
});
