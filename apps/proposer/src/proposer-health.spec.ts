import { HealthRegistry, ServingStatus } from '@paxos/grpc-kit';
import { markCannotChoose } from './proposer-health';

describe('the proposer\'s health at the ballot ceiling', () => {
  it('is NOT_SERVING for the server and ProposerService, and SERVING for ReadService, whose stale reads still answer', () => {
    const health = new HealthRegistry(['paxos.v1.ProposerService', 'paxos.v1.ReadService']);
    markCannotChoose(health);
    expect(health.status('')).toBe(ServingStatus.NOT_SERVING);
    expect(health.status('paxos.v1.ProposerService')).toBe(ServingStatus.NOT_SERVING);
    expect(health.status('paxos.v1.ReadService')).toBe(ServingStatus.SERVING);
  });
});
