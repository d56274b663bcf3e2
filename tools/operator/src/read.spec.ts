import { status } from '@grpc/grpc-js';
import { appliedThrough } from './probe';
import { describeReadFailure, type ReadTarget } from './read';

const proposer: ReadTarget = { address: '127.0.0.1:27100', who: 'the proposer', viaProposer: true, linearizable: true, deadlineMs: 10_000 };

describe('npm run read: what a failed read means', () => {
  it("says a node that is down by its cause and address, not grpc-js's text", () => {
    const down = describeReadFailure(status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:27100. Resolution note: ', proposer);
    expect(down).toEqual({
      details: 'connection refused: nothing listens on 127.0.0.1:27100 (ECONNREFUSED); is the proposer running? npm run check shows which nodes are; an acceptor answers a stale read: --node N',
      exitCode: 4,
    });
    const acceptor = describeReadFailure(status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:27103. Resolution note: ', {
      ...proposer,
      address: '127.0.0.1:27103',
      who: 'acceptor 3',
      viaProposer: false,
      linearizable: false,
    });
    expect(acceptor.details).toBe('connection refused: nothing listens on 127.0.0.1:27103 (ECONNREFUSED); is acceptor 3 running? npm run check shows which nodes are');
  });

  it('keeps the proposer\'s message when it cannot back a linearizable read with a quorum, and says how to read anyway', () => {
    const message = 'a linearizable read needs a quorum: 1 of 3 acceptors are reachable, 2 needed; retry the read, or read stale (CONSISTENCY_STALE)';
    expect(describeReadFailure(status.UNAVAILABLE, message, proposer)).toEqual({ details: `${message}; rerun with --stale, or --node N to read one acceptor`, exitCode: 4 });
    // A stale read never hears it; another UNAVAILABLE gets no such hint.
    expect(describeReadFailure(status.UNAVAILABLE, '1 of 3 acceptors answered, 2 needed', proposer).details).toBe('1 of 3 acceptors answered, 2 needed');
  });

  it('names the deadline it waited, and keeps other codes', () => {
    expect(describeReadFailure(status.DEADLINE_EXCEEDED, 'Deadline exceeded after 10.001s,name resolution: 0.001s,Waiting for LB pick', proposer)).toEqual({
      details: '127.0.0.1:27100 did not answer within 10000 ms (paused or overloaded?); an acceptor answers a stale read: --node N',
      exitCode: 4,
    });
    expect(describeReadFailure(status.NOT_FOUND, 'no proposal 9', proposer)).toEqual({ details: 'no proposal 9', exitCode: 3 });
    expect(describeReadFailure(status.INTERNAL, 'x', proposer).exitCode).toBe(1);
  });

  it('says this command was held, not the node, when the deadline was noticed long after it passed (the read was paused)', () => {
    expect(describeReadFailure(status.DEADLINE_EXCEEDED, 'Deadline exceeded after 61.204s,name resolution: 0.001s', proposer)).toEqual({
      details: 'the 10000 ms deadline passed while this command was held for 61.204 s (it was paused or starved of CPU; 127.0.0.1:27100 may have answered in time): run it again',
      exitCode: 4,
    });
  });
});

describe('an applied slot as the tools print it', () => {
  it('names the last slot applied, since applied_slot is the first one not applied', () => {
    expect(appliedThrough(5n)).toBe('after slot 4 (5 slots applied)');
    expect(appliedThrough(1n)).toBe('after slot 0 (1 slot applied)');
    expect(appliedThrough(0n)).toBe('before slot 0 (no slot applied yet)');
  });
});
