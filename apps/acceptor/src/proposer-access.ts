import type { Ballot } from '@paxos/consensus-core';
import { formatBallot } from '@paxos/consensus-core';
import { GrpcError, GrpcStatus, peerIdentity, type Transport } from '@paxos/grpc-kit';

/** A call whose peer's certificate can be asked for. */
type Call = Parameters<typeof peerIdentity>[0];

/**
 * Who vote-affecting traffic may come from. With TLS, only a connection presenting a proposer's
 * certificate may send Prepare, Accept, commits and state snapshots, and every prepare, accept and
 * install on it must carry that proposer's ballot (PERMISSION_DENIED otherwise); commit notices
 * carry the ballot their slot was chosen under, which may be another proposer's. With --insecure nothing is bound (the
 * configured proposer ids are still checked by the node).
 */
export class ProposerAccess {
  constructor(private readonly transport: Transport) {}

  /**
   * The proposer id the call's certificate names (undefined on plaintext: not bound); throws
   * PERMISSION_DENIED for any other certificate.
   */
  proposerOf(call: Call, what: string): number | undefined {
    if (this.transport.kind === 'insecure') return undefined;
    const peer = peerIdentity(call);
    if (peer?.role !== 'proposer' || peer.id === undefined) {
      throw new GrpcError(GrpcStatus.PERMISSION_DENIED, `${what} is taken only from a proposer's certificate; this connection presents ${peer ? peer.name : 'no certificate of this network'}`);
    }
    return peer.id;
  }

  /**
   * True when the call is known to come from a proposer: its certificate is a proposer's. Never on
   * plaintext, where any caller may claim to be one (work done for proposers at once is paced there).
   */
  isProposer(call: Call): boolean {
    return this.transport.kind !== 'insecure' && peerIdentity(call)?.role === 'proposer';
  }

  /** PERMISSION_DENIED unless the ballot is the bound proposer's (nothing to check when unbound). */
  static checkBallot(bound: number | undefined, ballot: Ballot): void {
    if (bound !== undefined && ballot.proposerId !== bound) {
      throw new GrpcError(GrpcStatus.PERMISSION_DENIED, `ballot ${formatBallot(ballot)} names proposer ${ballot.proposerId}, but this connection is proposer-${bound}'s`);
    }
  }
}
