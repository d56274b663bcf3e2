import { buildProposal, encodeProposalValue } from './proposal-value';
import { certificateProblem, sourceHolders, sourcesToCertify, valueVoteProblem, verificationsNeeded, voteProblem } from './claim-certificate';

const claim = (source: number) => ({ source, label: '11.a2', field: 'jinv', claimedValue: '1' });
const proposal = (sources: number[]) => buildProposal({ proposalNumber: 1n, proposerId: 1, leaderboard: [{ framework: 'f', score: '1', pricePerPoint: '1', bid: '1', ask: '1' }], claims: sources.map(claim) });

describe('the claim certificate: a majority of each claimed source\'s acceptors', () => {
  it('derives who holds a source from the network size (acceptor id mod 10)', () => {
    expect(sourceHolders(0, 23)).toEqual([0, 10, 20]);
    expect(sourceHolders(9, 23)).toEqual([9, 19]);
    expect(sourceHolders(7, 5)).toEqual([]);
    expect([1, 2, 3].map(verificationsNeeded)).toEqual([1, 2, 2]);
    // Sources no acceptor holds are the proposer's alone; each source counts once.
    expect(sourcesToCertify(proposal([7, 0, 0, 3]), 5)).toEqual([0, 3]);
  });

  it('accepts a majority of every claimed source and refuses anything less, or a malformed list', () => {
    const p = proposal([0, 9]);
    expect(certificateProblem(p, [0, 10, 9, 19], 23)).toBeUndefined();
    expect(certificateProblem(p, [20, 10, 19, 9], 23)).toBeUndefined();
    expect(certificateProblem(p, [0, 10, 9], 23)).toMatch(/source 9 were verified by 1 of that source's acceptors \(9, 19\), 2 needed/);
    expect(certificateProblem(p, [0, 9, 19], 23)).toMatch(/source 0 were verified by 1/);
    expect(certificateProblem(p, [0, 0, 9, 19], 23)).toMatch(/names acceptor 0 twice/);
    expect(certificateProblem(p, [0, 10, 9, 19, 23], 23)).toMatch(/names acceptor 23, not one of the 23/);
    expect(certificateProblem(p, [0, 10, 9, 19, -1], 23)).toMatch(/names acceptor -1/);
    expect(certificateProblem(proposal([]), [], 23)).toBeUndefined();
  });

  it('is the one check an acceptor makes before it votes: the same verdict on every acceptor', () => {
    const v = encodeProposalValue(proposal([0]));
    const command = { clientRequestId: 'c', contentType: v.contentType, data: v.data };
    expect(voteProblem({ ...command, verifiedBy: [0, 20] }, 23)).toBeUndefined();
    expect(voteProblem(command, 23)).toMatch(/^c: its claims on source 0 were verified by 0/);
    expect(voteProblem({ ...command, data: Buffer.from('junk') }, 23)).toMatch(/^c: malformed/);
    expect(voteProblem({ clientRequestId: 't', contentType: 'text/plain', data: Buffer.from('x') }, 23)).toBeUndefined();
    expect(voteProblem({ clientRequestId: 't', contentType: 'not a type', data: Buffer.from('x') }, 23)).toMatch(/^t: /);
  });

  it('checks a whole slot value: the first command of a batch that fails, and nothing for a no-op', () => {
    const v = encodeProposalValue(proposal([0]));
    const good = { clientRequestId: 'a', contentType: v.contentType, data: v.data, verifiedBy: [0, 10] };
    const bad = { clientRequestId: 'b', contentType: v.contentType, data: v.data };
    expect(valueVoteProblem({ kind: 'noop' }, 23)).toBeUndefined();
    expect(valueVoteProblem({ kind: 'batch', commands: [good] }, 23)).toBeUndefined();
    expect(valueVoteProblem({ kind: 'batch', commands: [good, bad, { ...bad, clientRequestId: 'c' }] }, 23)).toMatch(/^b: /);
  });
});
