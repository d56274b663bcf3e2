import {
  AcceptRequest,
  RefusalKind,
  AcceptResponse,
  Ballot,
  ClusterStatusResponse,
  MonsterHarmonicProposal,
  PrepareRequest,
  PrepareResponse,
  ProposeRequest,
  ProposeResponse,
  SlotValue,
  StatusResponse,
  Verdict,
  VerifyClaimResponse,
  WatchChosenResponse,
  ReadLogResponse,
  GetLeaderboardResponse,
  GetProposalResponse,
} from './index';

const big = (1n << 63n) + 12345n; // above 2^53 and above int64

describe('every message round-trips through the generated code', () => {
  const ballot: Ballot = { round: big, proposerId: 4_000_000_000 };
  const value: SlotValue = {
    kind: {
      $case: 'batch',
      value: { commands: [{ clientRequestId: 'c-1', value: { contentType: 'text/plain', data: Buffer.from('héllo') }, verifiedBy: [] }] },
    },
  };
  const cases: Array<[string, { encode(m: never): { finish(): Uint8Array }; decode(b: Uint8Array): unknown }, unknown]> = [
    ['Ballot', Ballot, ballot],
    ['PrepareRequest', PrepareRequest, { requestId: big, ballot, fromSlot: big - 1n }],
    [
      'PrepareResponse promised',
      PrepareResponse,
      {
        requestId: 7n,
        outcome: {
          $case: 'promised',
          value: { ballot, accepted: [{ slot: big, ballot, value }], truncated: true, committedIndex: big },
        },
      },
    ],
    ['PrepareResponse rejected', PrepareResponse, { requestId: 8n, outcome: { $case: 'rejected', value: { promised: ballot } } }],
    ['AcceptRequest accept', AcceptRequest, { requestId: 9n, accept: { ballot, slot: big, value }, commits: [{ ballot, fromSlot: big - 9n, toSlot: big - 1n, values: [value] }], quorumCommittedIndex: big - 9n }],
    [
      'AcceptRequest commit notices alone',
      AcceptRequest,
      { requestId: 10n, commits: [{ ballot, fromSlot: 3n, toSlot: 4n, values: [{ kind: { $case: 'noop', value: {} } }] }], quorumCommittedIndex: 0n },
    ],
    ['AcceptResponse accepted', AcceptResponse, { requestId: 11n, outcome: { $case: 'accepted', value: { ballot, slot: big, committedIndex: big - 5n, durableCommittedIndex: big - 9n } } }],
    ['AcceptResponse refused', AcceptResponse, { requestId: 12n, outcome: { $case: 'refused', value: { reason: 'no', kind: RefusalKind.REFUSAL_KIND_REJOINING } } }],
    ['AcceptResponse committed', AcceptResponse, { requestId: 13n, outcome: { $case: 'committed', value: { committedIndex: big, durableCommittedIndex: big - 1n } } }],
    [
      'StatusResponse',
      StatusResponse,
      {
        nodeId: 22,
        promised: ballot,
        lastAccepted: { slot: big, ballot, valueDigest: 'ab'.repeat(32) },
        committedIndex: big,
        clusterSize: 23,
        quorumSize: 12,
        crashTolerance: 11,
        byzantineTolerance: 0,
        dataSource: {
          source: 2,
          table: 'lfunc_search',
          loaded: true,
          rowCount: big,
          invalidCount: 0n,
          snapshotSha256: 'cd'.repeat(32),
          baseUrl: 'https://www.lmfdb.org',
          fetchedAt: '2026-11-26T00:00:00Z',
          error: '',
        },
        uptimeMs: big,
        version: '0.1.0',
        counters: { prepares: big, promises: 1n, accepts: 2n, accepted: 3n, rejects: 4n, refusals: 5n, commits: 6n, invalidRequests: 7n },
        storage: { healthy: true, error: '', dataDir: '/tmp/x', logBytes: big, snapshotSlot: 5n, fsyncs: 9n, historyFirstSlot: 0n, historyBytes: big },
        appliedSlot: big - 2n,
        stateError: 'the chosen history starts at slot 83 and no state snapshot covers the slots below it',
        rejoining: true,
        rejoinCatchUpTo: big - 1n,
        stateSnapshotSlot: big - 3n,
      },
    ],
    ['ProposeRequest', ProposeRequest, { clientRequestId: 'r', value: { contentType: 'application/octet-stream', data: Buffer.from([0, 255]) }, includeVotes: true }],
    [
      'ProposeResponse',
      ProposeResponse,
      {
        clientRequestId: 'r',
        slot: big,
        ballot,
        valueDigest: 'ee',
        duplicate: true,
        votes: [{ nodeId: 3, address: '127.0.0.1:7103', phase: 2, outcome: 2, ballot, detail: '' }],
      },
    ],
    ['WatchChosenResponse', WatchChosenResponse, { slot: big, ballot, value, outcomes: [{ clientRequestId: 'c-1', index: 0, duplicate: true, firstSlot: big - 7n, forgotten: false }] }],
    [
      'ReadLogResponse',
      ReadLogResponse,
      { entries: [{ slot: big, ballot, value, outcomes: [{ clientRequestId: 'c-1', index: 0, duplicate: false, firstSlot: big, forgotten: true }] }], appliedSlot: big },
    ],
    [
      'GetLeaderboardResponse',
      GetLeaderboardResponse,
      {
        rows: [{ framework: 'x', score: '98.5', pricePerPoint: '0.0125', bid: '1.20', ask: '1.25', proposalNumber: big, slot: 3n }],
        history: [],
        appliedSlot: big,
        proposals: 1n,
        refused: 0n,
      },
    ],
    [
      'GetProposalResponse',
      GetProposalResponse,
      {
        proposal: {
          proposalNumber: big,
          proposerId: 1,
          slot: 4n,
          clientRequestId: 'p',
          leaderboard: [],
          leaderboardSha256: 'ff'.repeat(32),
          claims: [{ claim: { source: 0, label: '11.a2', field: 'jinv', claimedValue: '-122023936/161051' }, checkedBy: [0, 10, 20] }],
        },
        appliedSlot: 5n,
      },
    ],
    [
      'ClusterStatusResponse',
      ClusterStatusResponse,
      { nodes: [{ address: 'a', alive: false, error: 'down' }], alive: 0, clusterSize: 23, quorumSize: 12, quorumAlive: false, holdingLatest: 0, committedIndex: big, voting: 0, cannotChoose: 'acceptors 0, 1 promised ballot 4611686018427387904.16', learning: 'the proposer is still learning the chosen log (at slot 7)' },
    ],
    [
      'MonsterHarmonicProposal',
      MonsterHarmonicProposal,
      {
        proposalNumber: big,
        proposerId: 1,
        leaderboard: [{ framework: 'x', score: '98.5', pricePerPoint: '0.0125', bid: '1.20', ask: '1.25' }],
        leaderboardSha256: 'ff'.repeat(32),
        claims: [{ source: 0, label: '11.a2', field: 'jinv', claimedValue: '-122023936/161051' }],
      },
    ],
    ['VerifyClaimResponse', VerifyClaimResponse, { verdict: Verdict.VERDICT_FALSE, actualValue: '1/1', reason: 'r' }],
  ];

  it.each(cases)('%s', (_name, codec, message) => {
    const bytes = codec.encode(message as never).finish();
    expect(codec.decode(bytes)).toEqual(message);
  });

  it('keeps a uint64 above 2^53 exact', () => {
    const decoded = Ballot.decode(Ballot.encode({ round: 2n ** 53n + 1n, proposerId: 0 }).finish());
    expect(decoded.round).toBe(9007199254740993n);
    expect(typeof decoded.round).toBe('bigint');
  });
});
