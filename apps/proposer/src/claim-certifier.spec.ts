import { status } from '@grpc/grpc-js';
import type { Command } from '@paxos/consensus-core';
import { GrpcError } from '@paxos/grpc-kit';
import { Verdict, type VerifyClaimsResponse } from '@paxos/proto';
import { buildProposal, encodeProposalValue } from '@paxos/proposal';
import type { AcceptorLink } from './acceptor-link';
import { ClaimCertifier } from './claim-certifier';

type Answer = Verdict | 'down' | 'never' | 'another network';

/** Acceptors 0..n-1 whose VerifyClaims answers as told (never: no answer at all). */
function links(n: number, answers: Record<number, Answer>, asked: number[] = []): AcceptorLink[] {
  return Array.from({ length: n }, (_, nodeId) => ({
    nodeId,
    address: `127.0.0.1:${7100 + nodeId}`,
    verifyClaims: (): Promise<VerifyClaimsResponse> => {
      asked.push(nodeId);
      const a = answers[nodeId] ?? Verdict.VERDICT_TRUE;
      if (a === 'never') return new Promise(() => undefined);
      if (a === 'down') return Promise.reject(new GrpcError(status.UNAVAILABLE, `acceptor ${nodeId} is down`));
      if (a === 'another network') return Promise.resolve({ acceptorId: nodeId, source: nodeId % 10, verdict: Verdict.VERDICT_TRUE, reason: '', clusterSize: 13 });
      return Promise.resolve({ acceptorId: nodeId, source: nodeId % 10, verdict: a, reason: a === Verdict.VERDICT_TRUE ? '' : 'the record says otherwise', clusterSize: n });
    },
  })) as unknown as AcceptorLink[];
}

function proposalCommand(sources: number[]): Command {
  const v = encodeProposalValue(
    buildProposal({
      proposalNumber: 1n,
      proposerId: 1,
      leaderboard: [{ framework: 'f', score: '1', pricePerPoint: '1', bid: '1', ask: '1' }],
      claims: sources.map((source) => ({ source, label: '11.a2', field: 'jinv', claimedValue: '1' })),
    }),
  );
  return { clientRequestId: 'p-1', contentType: v.contentType, data: v.data };
}

describe('the claim certifier: a proposal is proposed only with a majority of each claimed source behind it', () => {
  it('asks only the claimed sources\' acceptors, and certifies with the majority that verified', async () => {
    const asked: number[] = [];
    const certifier = new ClaimCertifier(links(23, { 10: Verdict.VERDICT_FALSE }, asked), { deadlineMs: 1000 });
    const command = proposalCommand([0, 3]);
    expect(certifier.sourcesOf(command)).toEqual([0, 3]);
    expect(certifier.sourcesOf({ clientRequestId: 't', contentType: 'text/plain', data: Buffer.from('x') })).toEqual([]);
    const certified = await certifier.certify(command, [0, 3]);
    // Source 0 (0, 10, 20): 0 and 20 verified, 10 refused; source 3 (3, 13): both verified.
    expect(certified.verifiedBy).toEqual([0, 3, 13, 20]);
    expect(asked.sort((a, b) => a - b)).toEqual([0, 3, 10, 13, 20]);
  });

  it('refuses with FAILED_PRECONDITION, naming the acceptor and why, as soon as refusals leave no majority', async () => {
    const certifier = new ClaimCertifier(links(23, { 3: Verdict.VERDICT_FALSE, 13: Verdict.VERDICT_UNKNOWN }), { deadlineMs: 1000 });
    await expect(certifier.certify(proposalCommand([3]), [3])).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      message: expect.stringMatching(/"p-1": its claims on source 3 need 2 of that source's acceptors \(3, 13\) to verify them, 0 did; refused by acceptor 3: false: the record says otherwise$/),
    });
  });

  it('answers UNAVAILABLE, to retry, when too few answered', async () => {
    const certifier = new ClaimCertifier(links(23, { 13: 'down' }), { deadlineMs: 1000 });
    await expect(certifier.certify(proposalCommand([3]), [3])).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      message: expect.stringMatching(/1 did; acceptor 13: .*down; retry with the same client_request_id/),
    });
  });

  it('answers UNAVAILABLE, not a refusal, when acceptors cannot verify (their data not loaded) or belong to another network', async () => {
    const unknown = new ClaimCertifier(links(23, { 3: Verdict.VERDICT_UNKNOWN }), { deadlineMs: 1000 });
    await expect(unknown.certify(proposalCommand([3]), [3])).rejects.toMatchObject({ code: status.UNAVAILABLE, message: expect.stringMatching(/acceptor 3: cannot verify: the record says otherwise/) });
    const misconfigured = new ClaimCertifier(links(23, { 13: 'another network' }), { deadlineMs: 1000 });
    await expect(misconfigured.certify(proposalCommand([3]), [3])).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      message: expect.stringMatching(/127\.0\.0\.1:7113 answers as acceptor 13 of 13 holding source 3; this proposer has it as acceptor 13 of 23 .*--cluster-size/),
    });
  });

  it('certifies as soon as a majority verified, without waiting for the slowest', async () => {
    const certifier = new ClaimCertifier(links(23, { 0: 'never' }), { deadlineMs: 60_000 });
    expect((await certifier.certify(proposalCommand([0]), [0])).verifiedBy).toEqual([10, 20]);
  });

  it('the negative control names every acceptor of the source without asking', async () => {
    const asked: number[] = [];
    const certifier = new ClaimCertifier(links(23, { 0: Verdict.VERDICT_FALSE }, asked), { deadlineMs: 1000, unsafeForgeCertificates: true });
    expect((await certifier.certify(proposalCommand([0]), [0])).verifiedBy).toEqual([0, 10, 20]);
    expect(asked).toEqual([]);
  });
});
