import { type HealthRegistry, ServingStatus } from '@paxos/grpc-kit';

/** What an acceptor's health statuses follow: the same facts its Status answers with. */
export interface AcceptorHealthFacts {
  /** Why its storage does not let it vote (Status storage.error), or undefined. */
  readonly storageFailure: string | undefined;
  /** It lost its data and rejoined, and neither promises nor votes yet (Status rejoining). */
  readonly rejoining: boolean;
  /** Why its state machine stopped or has no state, so that its reads answer UNAVAILABLE (Status state_error), or undefined. */
  readonly stateError: string | undefined;
}

/** How often the statuses are recomputed besides the storage events (a Watch hears a change within this). */
export const HEALTH_FOLLOW_MS = 1000;

const status = (ok: boolean) => (ok ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);

/**
 * An acceptor's health statuses, each SERVING only while that part can do its job:
 *   - "" (the node): its storage lets it vote. Launch and the test cluster wait for this; an
 *     acceptor that rejoins is up and learning, so it counts.
 *   - paxos.v1.AcceptorService: it votes, so storage is healthy and it does not rejoin.
 *   - paxos.v1.ReadService: its state machine applies the chosen log (reads answer from it).
 */
export function acceptorHealth(facts: AcceptorHealthFacts): Readonly<Record<string, ServingStatus>> {
  const stores = facts.storageFailure === undefined;
  return {
    '': status(stores),
    'paxos.v1.AcceptorService': status(stores && !facts.rejoining),
    'paxos.v1.ReadService': status(facts.stateError === undefined),
  };
}

/**
 * Keeps `health` at acceptorHealth(facts()): at once, whenever the returned `update` is called (a
 * storage failure or recovery), and every HEALTH_FOLLOW_MS (a rejoin that completes, a state
 * machine that stops or gets a state installed). A Watch stream hears only real changes.
 */
export function followAcceptorHealth(health: HealthRegistry, facts: () => AcceptorHealthFacts, everyMs = HEALTH_FOLLOW_MS): { update(): void; stop(): void } {
  const update = () => {
    for (const [service, s] of Object.entries(acceptorHealth(facts()))) health.setStatus(service, s);
  };
  update();
  const timer = setInterval(update, everyMs);
  timer.unref();
  return { update, stop: () => clearInterval(timer) };
}
