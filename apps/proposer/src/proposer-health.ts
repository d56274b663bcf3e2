import { type HealthRegistry, ServingStatus } from '@paxos/grpc-kit';

const PROPOSER_SERVICE = 'paxos.v1.ProposerService';

/**
 * Health once the proposer can choose nothing more (the ballot ceiling): the server as a whole and
 * ProposerService answer NOT_SERVING (npm run check names the cause from
 * ClusterStatus.cannot_choose), while ReadService stays SERVING: its stale reads of the applied
 * state answer as before (a linearizable one, which needs this proposer to lead, is refused naming
 * the ceiling).
 */
export function markCannotChoose(health: HealthRegistry): void {
  health.setStatus('', ServingStatus.NOT_SERVING);
  health.setStatus(PROPOSER_SERVICE, ServingStatus.NOT_SERVING);
}

/**
 * Health while a starting proposer learns the chosen log (ClusterStatus.learning): ProposerService
 * is NOT_SERVING, as an acceptor's AcceptorService while it rejoins. The server answers (ReadService
 * and ClusterStatus), so the node ("") stays SERVING.
 */
export function markLearning(health: HealthRegistry): void {
  health.setStatus(PROPOSER_SERVICE, ServingStatus.NOT_SERVING);
}

/** Health once the proposer has learned the log and takes client work (unless it can choose nothing more). */
export function markLearned(health: HealthRegistry, cannotChoose: boolean): void {
  if (!cannotChoose) health.setStatus(PROPOSER_SERVICE, ServingStatus.SERVING);
}
