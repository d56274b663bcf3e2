import { status } from '@grpc/grpc-js';
import { GrpcError } from '@paxos/grpc-kit';
import { lastValueFrom, Observable, Subject, throwError, toArray } from 'rxjs';
import { broadcast, failureReason, QuorumUnreachableError } from './fan-out';

const targets = [0, 1, 2, 3, 4].map((nodeId) => ({ nodeId }));

describe('the RxJS fan-out', () => {
  it('merges every answer as it arrives, failures as answers, and drops the outstanding requests when unsubscribed', async () => {
    const unsubscribed: number[] = [];
    const subjects = targets.map(() => new Subject<string>());
    const answers = broadcast(targets, (t) =>
      t.nodeId === 1
        ? throwError(() => new Error('down'))
        : new Observable<string>((s) => {
            const sub = subjects[t.nodeId]?.subscribe(s);
            return () => {
              sub?.unsubscribe();
              unsubscribed.push(t.nodeId);
            };
          }),
    );
    const got: Array<[number, string]> = [];
    const sub = answers.subscribe((a) => got.push([a.from, a.reply ?? String((a.error as Error).message)]));
    subjects[0]?.next('yes');
    subjects[3]?.next('no');
    sub.unsubscribe(); // the round ended (the core counted a quorum, or gave the slot up)
    expect(got).toEqual([
      [1, 'down'],
      [0, 'yes'],
      [3, 'no'],
    ]);
    expect(unsubscribed).toEqual(expect.arrayContaining([0, 2, 3, 4]));
  });

  it('completes once every request was answered', async () => {
    const answers = broadcast(targets, (t) => new Observable<number>((s) => (s.next(t.nodeId), s.complete())));
    expect((await lastValueFrom(answers.pipe(toArray()))).map((a) => a.reply)).toEqual([0, 1, 2, 3, 4]);
  });

  it('says why the failed acceptors failed, grouped by reason, for the log', () => {
    const late = (n: number) => new GrpcError(status.DEADLINE_EXCEEDED, `node ${n} (127.0.0.1:710${n}) did not answer within 2000 ms`);
    const failures = new Map([
      [2, failureReason(late(2))],
      [0, failureReason(late(0))],
      [1, failureReason(new GrpcError(status.UNAVAILABLE, 'node 1 (127.0.0.1:7101): UNAVAILABLE: No connection established'))],
    ]);
    const err = new QuorumUnreachableError(2, 5, 3, failures);
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.message).toBe('2 of 5 acceptors answered, 3 needed');
    expect(new QuorumUnreachableError(22, 23, 12, new Map(), 11).message).toBe('22 of 23 acceptors answered, 12 needed; 11 of them refused the value');
    // Turned away before anything was sent: said as links not connected, not acceptors that did not answer.
    expect(QuorumUnreachableError.notConnected(7, 23, 12)).toMatchObject({ code: 14, message: expect.stringMatching(/^7 of 23 acceptors connected to this proposer, 12 needed: the value was not sent/), trailers: { 'paxos-not-sent': 'links-not-connected' } });
    // Acceptors that answered with an error (not a timeout) are named in the client's message.
    const invalid = failureReason(new GrpcError(status.INTERNAL, 'node 1 (127.0.0.1:7101): INVALID_ARGUMENT: ballot round 4611686018427387905 is above the ceiling'));
    expect(new QuorumUnreachableError(1, 3, 2, new Map([[1, invalid], [2, invalid]])).message).toBe(
      '1 of 3 acceptors answered, 2 needed; answered with an error: INTERNAL INVALID_ARGUMENT: ballot round 4611686018427387905 is above the ceiling (nodes 1, 2)',
    );
    expect(err.failureSummary()).toEqual(['DEADLINE_EXCEEDED did not answer within 2000 ms: nodes 0, 2', 'UNAVAILABLE UNAVAILABLE: No connection established: node 1']);
  });
});
