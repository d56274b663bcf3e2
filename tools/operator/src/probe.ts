import { resolve } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { channelCredentials, defaultNetworkDir, serverNameOptions, type Transport, deadlineAfter } from '@paxos/grpc-kit';
import {
  AcceptorServiceClient,
  type GetLeaderboardResponse,
  type GetProposalResponse,
  type ListProposalsResponse,
  ProposerServiceClient,
  ReadServiceClient,
  type ReadLogResponse,
  type ProposeRequest,
  type ProposeResponse,
  type StatusResponse,
} from '@paxos/proto';
import { shellWord } from './shell-word';

/** The largest value of a uint64 wire field (proposal numbers, slots): a larger one cannot be sent. */
export const UINT64_MAX = 18_446_744_073_709_551_615n;

/**
 * How far an answer's applied_slot (exclusive: the slots below it are applied) reaches, said so
 * that it cannot be read as one slot more: "after slot 4 (5 slots applied)", slots count from 0.
 * Every tool that prints an applied slot says it this way.
 */
export function appliedThrough(appliedSlot: bigint): string {
  if (appliedSlot === 0n) return 'before slot 0 (no slot applied yet)';
  return `after slot ${appliedSlot - 1n} (${appliedSlot} ${appliedSlot === 1n ? 'slot' : 'slots'} applied)`;
}

/** `n` and its noun, singular or plural as it counts ("1 claim", "0 claims", "3 rows"). */
export function counted(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/**
 * What to ask when a call found nothing listening: is `what` (the proposer, acceptor 3) running?
 * With `dir`, the network dir the address came from: the check it names looks there (a bare
 * `npm run check` looked at the default dir, another network or none).
 */
export const notRunningHint = (what: string, dir?: string): string =>
  `is ${what} running? npm run check${dir !== undefined && resolve(dir) !== resolve(defaultNetworkDir()) ? ` -- --dir ${shellWord(dir)}` : ''} shows which nodes are`;

export function acceptorStatus(address: string, deadlineMs: number, transport: Transport): Promise<StatusResponse> {
  const client = new AcceptorServiceClient(address, channelCredentials(transport), serverNameOptions(transport, address));
  return new Promise((resolve, reject) => {
    client.status({}, new Metadata(), { deadline: deadlineAfter(deadlineMs) }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res);
    });
  });
}

/**
 * Why the proposer at `address` takes no client work, from its ClusterStatus: it can choose nothing
 * more (cannot_choose: the ballot ceiling), or it is still learning the chosen log (learning); empty
 * when it does not say. Its acceptors are asked with a 1 ms deadline: only the proposer's own answer is read.
 */
export function proposerNotServing(address: string, deadlineMs: number, transport: Transport): Promise<{ readonly cannotChoose?: string; readonly learning?: string }> {
  const client = new ProposerServiceClient(address, channelCredentials(transport), serverNameOptions(transport, address));
  return new Promise((resolve) => {
    client.clusterStatus({ nodeDeadlineMs: 1 }, new Metadata(), { deadline: deadlineAfter(deadlineMs) }, (err, res) => {
      client.close();
      if (err) resolve({});
      else resolve({ ...(res.cannotChoose ? { cannotChoose: res.cannotChoose } : {}), ...(res.learning ? { learning: res.learning } : {}) });
    });
  });
}

export function propose(address: string, request: ProposeRequest, deadlineMs: number, transport: Transport): Promise<ProposeResponse> {
  const client = new ProposerServiceClient(address, channelCredentials(transport), serverNameOptions(transport, address));
  return new Promise((resolve, reject) => {
    client.propose(request, new Metadata(), { deadline: deadlineAfter(deadlineMs) }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res);
    });
  });
}

/**
 * The largest ReadService answer the tools take: a node cuts a ReadLog answer at a client's default
 * 4 MiB, but keeps at least one slot, and one slot's value may be as large as --max-value-bytes
 * (up to 64 MiB) plus each command's outcome.
 */
export const READ_RECEIVE_BYTES_MAX = 80 * 1024 * 1024;

/** A client of paxos.v1.ReadService: one unary call with a deadline. */
export function readCall<K extends 'readLog' | 'getProposal' | 'listProposals' | 'getLeaderboard'>(
  address: string,
  method: K,
  request: Parameters<ReadServiceClient[K]>[0],
  deadlineMs: number,
  transport: Transport,
): Promise<ReadAnswer<K>> {
  const client = new ReadServiceClient(address, channelCredentials(transport), { ...serverNameOptions(transport, address), 'grpc.max_receive_message_length': READ_RECEIVE_BYTES_MAX });
  return new Promise((resolve, reject) => {
    const call = client[method] as unknown as (r: unknown, m: Metadata, o: object, cb: (e: Error | null, r: ReadAnswer<K>) => void) => void;
    call.call(client, request, new Metadata(), { deadline: deadlineAfter(deadlineMs) }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res);
    });
  });
}

export type ReadAnswer<K extends string> = K extends 'readLog'
  ? ReadLogResponse
  : K extends 'getProposal'
    ? GetProposalResponse
    : K extends 'listProposals'
      ? ListProposalsResponse
      : GetLeaderboardResponse;
