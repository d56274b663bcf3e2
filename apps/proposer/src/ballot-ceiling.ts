import { status } from '@grpc/grpc-js';
import { type BallotCeiling, BALLOT_ROUND_WIRE_MAX, formatBallot, type Quorum } from '@paxos/consensus-core';
import { GrpcError } from '@paxos/grpc-kit';
import { CANNOT_CHOOSE_TRAILER } from '@paxos/wire';

/** "acceptors 0 (addr), 1 (addr)" */
function named(ids: readonly number[], addressOf: (id: number) => string | undefined): string {
  const each = ids.map((id) => {
    const a = addressOf(id);
    return a === undefined ? String(id) : `${id} (${a})`;
  });
  return `acceptor${ids.length > 1 ? 's' : ''} ${each.join(', ')}`;
}

/**
 * What a client and an operator are told once the proposer can choose nothing more (DESIGN
 * section 12, "The ballot ceiling"): which acceptors promised which ballot, that no ballot above
 * it exists, who can send such a prepare, and what to do. FAILED_PRECONDITION: retrying does not
 * help until the operator has acted.
 */
export function ballotCeilingError(c: BallotCeiling, quorum: Quorum, addressOf: (id: number) => string | undefined): GrpcError {
  const top = `${BALLOT_ROUND_WIRE_MAX} (2^62)`;
  let why: string;
  let holder: number | undefined;
  if (c.promises.length > 0) {
    const byBallot = new Map<string, number[]>();
    for (const p of c.promises) byBallot.set(formatBallot(p.promised), [...(byBallot.get(formatBallot(p.promised)) ?? []), p.acceptor]);
    const groups = [...byBallot].map(([ballot, ids]) => `${named(ids, addressOf)} promised ballot ${ballot}`);
    holder = c.promises.reduce((m, p) => (p.promised.proposerId > m ? p.promised.proposerId : m), 0);
    why =
      `${groups.join('; ')}, and proposer ${c.proposerId} has no ballot above ${byBallot.size > 1 ? 'those' : 'it'}: ${top} is the highest round an acceptor takes. ` +
      `${c.promises.length} of ${quorum.n} acceptors hold such promises, more than the ${quorum.n - quorum.q} a quorum of ${quorum.q} can leave out`;
  } else {
    why = `it used ballot ${c.exhausted ? formatBallot(c.exhausted) : `${BALLOT_ROUND_WIRE_MAX}.${c.proposerId}`}, the highest it may (round ${top} is the highest an acceptor takes), and needs a new ballot above it, which no acceptor takes`;
  }
  const who =
    holder === undefined
      ? 'A rival ballot near the ceiling put it there'
      : `On a plaintext (--insecure) network any client can send such a prepare; with TLS only a holder of proposer-${holder}'s certificate and key can`;
  return new GrpcError(
    status.FAILED_PRECONDITION,
    `this proposer (id ${c.proposerId}) can choose nothing more in this network: ${why}. ` +
      `Promises are durable and never go down, so retrying here does not help; not chosen through this proposer (a value accepted before may still be chosen by whoever holds that ballot, and a retry with the same client_request_id then finds it). ` +
      `${who}. What to do: stop sending here, keep the acceptors' data dirs (their chosen log stays readable: npm run read -- log --node N), ` +
      `and take the clients to a new network (npm run launch with a new --dir, with TLS); see DESIGN section 12, "The ballot ceiling"`,
    { [CANNOT_CHOOSE_TRAILER]: 'ballot-ceiling' },
  );
}
