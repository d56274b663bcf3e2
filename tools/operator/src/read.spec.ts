import { status } from '@grpc/grpc-js';
import { defaultNetworkDir, printable } from '@paxos/grpc-kit';
import { appliedThrough } from './probe';
import { describeReadFailure, formatLogEntry, formatProposal, formatRows, type ReadTarget } from './read';

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
    // Of a network in another dir than the default, the check it names looks there: a bare one looked at the default dir.
    const elsewhere = describeReadFailure(status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:27100. Resolution note: ', { ...proposer, dir: '/tmp/my net' });
    expect(elsewhere.details).toBe("connection refused: nothing listens on 127.0.0.1:27100 (ECONNREFUSED); is the proposer running? npm run check -- --dir '/tmp/my net' shows which nodes are; an acceptor answers a stale read: --node N");
    expect(describeReadFailure(status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:27100. Resolution note: ', { ...proposer, dir: defaultNetworkDir() })).toEqual(down);
  });

  it('keeps the proposer\'s message when it cannot back a linearizable read with a quorum, and says how to read anyway', () => {
    const message = 'a linearizable read needs a quorum: 1 of 3 acceptors are reachable, 2 needed; retry the read, or read stale (CONSISTENCY_STALE)';
    expect(describeReadFailure(status.UNAVAILABLE, message, proposer)).toEqual({ details: `${message}; rerun with --stale, or --node N to read one acceptor`, exitCode: 4 });
    // A stale read never hears it; another UNAVAILABLE gets no such hint.
    expect(describeReadFailure(status.UNAVAILABLE, '1 of 3 acceptors answered, 2 needed', proposer).details).toBe('1 of 3 acceptors answered, 2 needed');
  });

  it('exits 4 for a bound of the node\'s reads, as submit does, but 1 for an answer too large to take', () => {
    expect(describeReadFailure(status.RESOURCE_EXHAUSTED, 'the proposer reads the acceptors\' histories for 8 clients at once already', proposer).exitCode).toBe(4);
    expect(describeReadFailure(status.RESOURCE_EXHAUSTED, 'Received message larger than max (5000000 vs 4194304)', proposer).exitCode).toBe(1);
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

describe('text from clients in what read prints', () => {
  // What bin/read.ts does with each line: printable(line), then a newline.
  const printed = (lines: readonly string[]) => lines.map(printable).join('\n');
  const seed = Number(process.env['SEED'] ?? 4242);
  let x = seed >>> 0;
  const next = (n: number) => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) % n;
  const PIECES = ['a', ' ', '\n', '\r\n', '\t', '\u001b[2J', '\u009b31m', '\u202e', '\u2028', 'slot 99  ballot 1.1  no-op'];
  const hostile = () => Array.from({ length: 1 + next(12) }, () => PIECES[next(PIECES.length)] as string).join('');

  it('writes invisible characters in an id chosen before the proposer refused them as escapes: r1 and r1 + U+200B print apart', () => {
    expect(printed(['r1\u200b', 'r1', '\ufeffr\u20601'])).toBe('r1\\u200b\nr1\n\\ufeffr\\u20601');
  });

  it('keeps each record on its lines: an id, a content type or a claimed value cannot start a line (seeded)', () => {
    console.log(`read text seed ${seed} (SEED=${seed} to repeat)`);
    for (let i = 0; i < 100; i++) {
      const commands = Array.from({ length: 1 + next(3) }, () => ({ clientRequestId: hostile(), value: { contentType: `text/plain; x="${hostile()}"`, data: Buffer.from('v') }, verifiedBy: [] }));
      const entry = { slot: 7n, ballot: { round: 1n, proposerId: 1 }, value: { kind: { $case: 'batch' as const, value: { commands } } }, outcomes: [] };
      const text = printed(formatLogEntry(entry as unknown as Parameters<typeof formatLogEntry>[0]));
      expect(text.split('\n')).toHaveLength(1 + commands.length);
      // eslint-disable-next-line no-control-regex -- control characters are what it looks for
      expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
    }
  });

  it('prints a true claim whose value ends in 16 KiB of newlines on one line, and the leaderboard rows on theirs', () => {
    const claimedValue = `11${'\n'.repeat(16 * 1024 - 2)}`;
    const record = {
      proposalNumber: 1n,
      slot: 3n,
      proposerId: 1,
      clientRequestId: 'p1',
      leaderboardSha256: 'ab'.repeat(32),
      leaderboard: [{ framework: 'alpha', score: '1', pricePerPoint: '1', bid: '1', ask: '2' }],
      claims: [{ claim: { source: 0, label: '11.a2', field: 'conductor', claimedValue }, checkedBy: [0] }],
    };
    const lines = printed(formatProposal(record as unknown as Parameters<typeof formatProposal>[0])).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^ {2}claim 0:11\.a2:conductor=11(\\u000a)+, verified by the proposer and acceptors 0 \(source 0\)$/);
  });

  it('lines the leaderboard up in terminal columns: a CJK name takes two a character, a combining mark none', () => {
    const row = (framework: string, score: string) => ({ framework, score, pricePerPoint: '1', bid: '1', ask: '2', proposalNumber: 1n, slot: 3n });
    const lines = formatRows([row('\u6a21\u578b\u7532', '10'), row('cafe\u0301', '9'), row('plain-name', '8')]);
    // Every line's "score" column ends at the same terminal column.
    const scoreEnds = lines.map((l) => {
      const at = l.search(/(score|10|9|8)(?= {2})/);
      return [...l.slice(0, at)].reduce((w, c) => w + (/[\u4e00-\u9fff]/.test(c) ? 2 : /[\u0300-\u036f]/.test(c) ? 0 : 1), 0) + (l.slice(at).match(/^\S+/)?.[0].length ?? 0);
    });
    expect(new Set(scoreEnds).size).toBe(1);
  });
});
