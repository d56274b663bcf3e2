import { status } from '@grpc/grpc-js';
import type { Command } from '@paxos/consensus-core';
import { GrpcError, type Logger } from '@paxos/grpc-kit';
import { Verdict, type VerifyClaimsResponse } from '@paxos/proto';
import { isHarmonicContentType, sourceHolders, sourcesToCertify, validateProposalValue, verificationsNeeded } from '@paxos/proposal';
import type { AcceptorLink } from './acceptor-link';

export interface ClaimCertifierOptions {
  /** Deadline of each acceptor's verdict. */
  readonly deadlineMs: number;
  /**
   * A negative control only: name every holder of each claimed source as a verifier without
   * asking any (the simulator's checker must then find refused claims chosen).
   */
  readonly unsafeForgeCertificates?: boolean;
  /** Told every verdict that is not TRUE, also one that came after a majority had verified (acceptors' data disagree), and every acceptor configured for another network. */
  readonly logger?: Logger;
}

/** What one source's acceptors said so far. */
interface SourceTally {
  readonly source: number;
  readonly holders: readonly number[];
  readonly need: number;
  verified: number;
  pending: number;
  /** Acceptors whose data say the claims are false, with why: no retry changes that. */
  readonly refusals: string[];
  /** Acceptors that cannot verify them now (record or source not loaded), did not answer, or answered for another network, with why. */
  readonly unanswered: string[];
}

type Outcome = { verified: true } | { refused: string } | { unanswered: string };

/**
 * Before a Monster Harmonic proposal is proposed, asks the acceptors of every source it makes
 * claims about for their verdict (AcceptorService.VerifyClaims) and puts the ones that verified
 * them in the command (`verifiedBy`): a majority of each claimed source's acceptors. Acceptors
 * vote on that certificate and never check the claims again, so a verdict cannot stop a slot,
 * and a claim a majority of its source's acceptors did not verify is never proposed.
 */
export class ClaimCertifier {
  private readonly byId = new Map<number, AcceptorLink>();

  constructor(
    private readonly links: readonly AcceptorLink[],
    private readonly opts: ClaimCertifierOptions,
  ) {
    for (const l of links) this.byId.set(l.nodeId, l);
  }

  /** The claimed sources whose acceptors must verify the command (none for most values). */
  sourcesOf(command: Command): number[] {
    if (!isHarmonicContentType(command.contentType)) return [];
    const checked = validateProposalValue(command.contentType, command.data);
    return checked.ok ? sourcesToCertify(checked.proposal, this.links.length) : [];
  }

  /**
   * The command with its certificate. Fails with FAILED_PRECONDITION when so many of a source's
   * acceptors say its claims are false that no majority can verify them (their reasons named), and
   * with UNAVAILABLE when too few verified for any other reason (down, late, their data not
   * loaded, configured for another network): a retry with the same id may succeed.
   */
  certify(command: Command, sources: readonly number[]): Promise<Command> {
    const tallies = sources.map((source): SourceTally => {
      const holders = sourceHolders(source, this.links.length);
      return { source, holders, need: verificationsNeeded(holders.length), verified: 0, pending: holders.length, refusals: [], unanswered: [] };
    });
    if (this.opts.unsafeForgeCertificates) return Promise.resolve({ ...command, verifiedBy: tallies.flatMap((t) => t.holders).sort((a, b) => a - b) });
    const verifiedBy = new Set<number>();
    return new Promise<Command>((resolve, reject) => {
      let settled = false;
      const decide = () => {
        if (settled) return;
        if (tallies.every((t) => t.verified >= t.need)) {
          settled = true;
          resolve({ ...command, verifiedBy: [...verifiedBy].sort((a, b) => a - b) });
          return;
        }
        const short = tallies.find((t) => t.verified + t.pending < t.need);
        if (!short) return;
        settled = true;
        reject(this.shortfall(command, short));
      };
      for (const t of tallies) {
        for (const id of t.holders) {
          const link = this.byId.get(id);
          const answered = (outcome: Outcome) => {
            t.pending--;
            if ('verified' in outcome) {
              t.verified++;
              verifiedBy.add(id);
            } else if ('refused' in outcome) t.refusals.push(`acceptor ${id}: ${outcome.refused}`);
            else t.unanswered.push(`acceptor ${id}: ${outcome.unanswered}`);
            decide();
          };
          if (!link) {
            answered({ unanswered: 'not configured on this proposer' });
            continue;
          }
          link.verifyClaims(command, this.opts.deadlineMs).then(
            (r) => answered(this.outcomeOf(command, link, t.source, r)),
            (e: unknown) => answered({ unanswered: e instanceof Error ? e.message : String(e) }),
          );
        }
      }
      decide();
    });
  }

  /** One acceptor's answer as the tally counts it; an acceptor of another network is no answer, and logged. */
  private outcomeOf(command: Command, link: AcceptorLink, source: number, r: VerifyClaimsResponse): Outcome {
    const n = this.links.length;
    if (r.acceptorId !== link.nodeId || r.source !== source || r.clusterSize !== n) {
      const why =
        `${link.address} answers as acceptor ${r.acceptorId} of ${r.clusterSize} holding source ${r.source}; ` +
        `this proposer has it as acceptor ${link.nodeId} of ${n} holding source ${source} (check --acceptors, and the acceptor's --id, --source and --cluster-size)`;
      this.opts.logger?.error({ acceptor: link.nodeId, address: link.address, answeredAs: r.acceptorId, source: r.source, clusterSize: r.clusterSize }, 'an acceptor is configured for another network: its claim verdicts are not counted');
      return { unanswered: why };
    }
    if (r.verdict === Verdict.VERDICT_TRUE) return { verified: true };
    this.opts.logger?.warn({ clientRequestId: command.clientRequestId, acceptor: link.nodeId, source, verdict: r.verdict, reason: r.reason }, 'an acceptor did not verify the claims of a proposal');
    if (r.verdict === Verdict.VERDICT_FALSE) return { refused: `false: ${r.reason}` };
    return { unanswered: `cannot verify: ${r.reason}` };
  }

  private shortfall(command: Command, t: SourceTally): GrpcError {
    const id = JSON.stringify(command.clientRequestId);
    const head = `${id}: its claims on source ${t.source} need ${t.need} of that source's acceptors (${t.holders.join(', ')}) to verify them, ${t.verified} did`;
    // Acceptors whose data say false leave too few: no retry can help.
    if (t.holders.length - t.refusals.length < t.need) return new GrpcError(status.FAILED_PRECONDITION, `${head}; refused by ${t.refusals.join('; ')}`);
    const why = [...t.refusals, ...t.unanswered].join('; ');
    return new GrpcError(status.UNAVAILABLE, `${head}; ${why}; retry with the same client_request_id`);
  }
}
