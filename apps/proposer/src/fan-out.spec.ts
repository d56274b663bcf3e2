import { status } from '@grpc/grpc-js';
import { Quorum } from '@paxos/consensus-core';
import { GrpcError } from '@paxos/grpc-kit';
import { firstValueFrom, lastValueFrom, Observable, of, Subject, throwError, toArray } from 'rxjs';
import { type Answer, broadcast, QuorumDeniedError, QuorumUnreachableError, untilQuorum } from './fan-out';

const quorum = new Quorum(5); // q = 3
const targets = [0, 1, 2, 3, 4].map((nodeId) => ({ nodeId }));

describe('the RxJS quorum fan-out', () => {
  it('completes on the q-th matching reply and unsubscribes the stragglers', async () => {
    const unsubscribed: number[] = [];
    const subjects = targets.map(() => new Subject<string>());
    const answers = broadcast(targets, (t) => new Observable<string>((s) => {
      const sub = subjects[t.nodeId]?.subscribe(s);
      return () => {
        sub?.unsubscribe();
        unsubscribed.push(t.nodeId);
      };
    }));
    const done = lastValueFrom(answers.pipe(untilQuorum(quorum, (r: string) => r === 'yes'), toArray()));
    subjects[0]?.next('yes');
    subjects[1]?.next('no');
    subjects[2]?.next('yes');
    subjects[3]?.next('yes');
    const got = await done;
    expect(got.map((a) => a.from)).toEqual([0, 1, 2, 3]);
    expect(unsubscribed).toEqual(expect.arrayContaining([4]));
  });

  it('fails with UNAVAILABLE as soon as n - failures < q, naming how many can still answer', async () => {
    const answers = broadcast(targets, (t) => (t.nodeId < 3 ? throwError(() => new Error('down')) : new Observable<string>()));
    await expect(firstValueFrom(answers.pipe(untilQuorum(quorum, () => true), toArray()))).rejects.toThrow(
      new QuorumUnreachableError(2, 5, 3),
    );
    expect(new QuorumUnreachableError(11, 23, 12).message).toBe('11 of 23 acceptors answered, 12 needed');
  });

  it('says why the failed acceptors failed, grouped by reason, for the log', async () => {
    const late = (n: number) => new GrpcError(status.DEADLINE_EXCEEDED, `node ${n} (127.0.0.1:710${n}) did not answer within 2000 ms`);
    const errors = [late(0), new GrpcError(status.UNAVAILABLE, 'node 1 (127.0.0.1:7101): UNAVAILABLE: No connection established'), late(2)];
    const answers = broadcast(targets, (t) => (t.nodeId < 3 ? throwError(() => errors[t.nodeId]) : new Observable<string>()));
    const err = await firstValueFrom(answers.pipe(untilQuorum(quorum, () => true), toArray())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuorumUnreachableError);
    expect((err as QuorumUnreachableError).failureSummary()).toEqual([
      'DEADLINE_EXCEEDED did not answer within 2000 ms: nodes 0, 2',
      'UNAVAILABLE UNAVAILABLE: No connection established: node 1',
    ]);
  });

  it('fails with a denial when refusals alone make the quorum impossible', async () => {
    const denials: Answer<string>[] = [{ from: 0, reply: 'no' }, { from: 1, reply: 'no' }, { from: 2, reply: 'no' }];
    const answers = of(...denials);
    await expect(lastValueFrom(answers.pipe(untilQuorum(quorum, (r: string) => r === 'yes')))).rejects.toBeInstanceOf(QuorumDeniedError);
  });
  it('forgets a failure once that acceptor answers, and ignores a failure after its yes (answers of several groups)', async () => {
    const answers = new Subject<Answer<string>>();
    const outcome = lastValueFrom(answers.pipe(untilQuorum(quorum, (r: string) => r === 'yes'), toArray()));
    const down = new Error('down');
    answers.next({ from: 0, error: down });
    answers.next({ from: 0, reply: 'yes' }); // asked again, it answers
    answers.next({ from: 1, error: down });
    answers.next({ from: 0, error: down }); // a late failure of a request it already answered
    answers.next({ from: 2, error: down });
    // Failed now: 1 and 2 (not 0), so 3 of 5 can still answer: not unreachable yet.
    answers.next({ from: 3, reply: 'yes' });
    answers.next({ from: 4, reply: 'yes' });
    expect((await outcome).length).toBe(7);
  });
});
