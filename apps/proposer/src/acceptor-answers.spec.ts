import { RefusalKind } from '@paxos/proto';
import { acceptEvent } from './acceptor-answers';

describe("an acceptor's answer to an accept, as the core's event", () => {
  const ballot = { round: 5n, proposerId: 1 };
  const refused = (kind: RefusalKind) => ({ from: 2, reply: { requestId: 1n, outcome: { $case: 'refused' as const, value: { reason: 'no', kind } } } });

  it('takes a refusal of the value as a refusal, and a rejoining acceptor as one that did not answer (it votes for no value yet)', () => {
    expect(acceptEvent(refused(RefusalKind.REFUSAL_KIND_VALUE_CHECK), ballot, 7n).event).toEqual({ type: 'refused', from: 2, ballot, slot: 7n, reason: 'no' });
    // An acceptor older than the kind: a value check, as before.
    expect(acceptEvent(refused(RefusalKind.REFUSAL_KIND_UNSPECIFIED), ballot, 7n).event?.type).toBe('refused');
    expect(acceptEvent(refused(RefusalKind.REFUSAL_KIND_REJOINING), ballot, 7n).event).toEqual({ type: 'unreachable', from: 2, ballot, slot: 7n });
  });
});
