import type { Ballot } from '@paxos/consensus-core';
import type { Ballot as WireBallot } from '@paxos/proto';
import { WireError } from './wire-error';

export function ballotToWire(b: Ballot): WireBallot {
  return { round: b.round, proposerId: b.proposerId };
}

/** A ballot from the wire; `field` names it in the error ("ballot is missing"). */
export function ballotFromWire(b: WireBallot | undefined, field = 'ballot'): Ballot {
  if (!b) throw new WireError(`${field} is missing`);
  return { round: b.round, proposerId: b.proposerId };
}
