import type { StatusResponse } from '@paxos/proto';

/**
 * Whether an acceptor that answered its Status votes: one whose storage failed, or that rejoins
 * after losing its data and has not yet reached its floor, refuses every prepare and accept. Only
 * voting acceptors make a quorum alive.
 */
export const acceptorVotes = (s: Pick<StatusResponse, 'storage' | 'rejoining'>): boolean => (s.storage?.healthy ?? true) && !s.rejoining;
