import { type HealthRegistry, ServingStatus } from '@paxos/grpc-kit';

/**
 * Health once the proposer can choose nothing more (the ballot ceiling): the server as a whole and
 * ProposerService answer NOT_SERVING (npm run check names the cause from
 * ClusterStatus.cannot_choose), while ReadService stays SERVING: its stale reads of the applied
 * state answer as before (a linearizable one, which needs this proposer to lead, is refused naming
 * the ceiling).
 */
export function markCannotChoose(health: HealthRegistry): void {
  health.setStatus('', ServingStatus.NOT_SERVING);
  health.setStatus('paxos.v1.ProposerService', ServingStatus.NOT_SERVING);
}
