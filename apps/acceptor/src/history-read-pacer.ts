// Reads of the chosen history for anyone but a proposer's certificate (Learn from a client
// certificate, and every Learn on plaintext, where a caller cannot be told from a proposer;
// ReadService.ReadLog) run on the event loop that answers votes: each reads up to
// PACED_ANSWER_BYTES_MAX from the history and encodes it, milliseconds of work, and a client that asks as fast as it reads its
// answers could keep an acceptor from voting. Those reads therefore go one at a time at a bounded
// rate of bytes, for the whole node; a read waits for its turn (at most READS_WAITING_MAX wait, 8 of
// one client; more are RESOURCE_EXHAUSTED), and is dropped if its caller left meanwhile. Every read
// (a proposer's too, which goes at once) is made in slices with the event loop turning between two
// (readChosenInSlices), and stops at the next slice once its caller left.
import { type Caller, GrpcError, GrpcStatus, type Logger, PacedTurns } from '@paxos/grpc-kit';
import type { ReadSlicing } from '@paxos/acceptor-node';
import { historyReadError } from './storage';

/** Bytes of history clients may read a second, and at once after a quiet while. */
export const CLIENT_HISTORY_BYTES_PER_SECOND = 64 * 1024 * 1024;
export const CLIENT_HISTORY_BYTES_BURST = 64 * 1024 * 1024;
/**
 * About the bytes of values one paced answer (Learn, ReadLog) carries at most (at least one entry):
 * an answer is encoded in one go, and a 4 MiB one held the event loop 100-250 ms on a busy host.
 * The reader asks on from the slot after the last one; a proposer's certificate gets 4 MiB pages.
 */
export const PACED_ANSWER_BYTES_MAX = 1024 * 1024;
/** Clients' history reads waiting for their turn at most, and of one client (so one cannot take every place). */
export const READS_WAITING_MAX = 64;
export const READS_WAITING_PER_CLIENT_MAX = 8;

/** The turns of clients' history reads on an acceptor. */
export function historyReadPacer(pacing: { readonly now?: () => number; readonly sleep?: (ms: number) => Promise<void> } = {}, bytesPerSecond = CLIENT_HISTORY_BYTES_PER_SECOND): PacedTurns {
  return new PacedTurns({
    subject: "this acceptor's chosen history",
    atOnce: 1,
    waitingMax: READS_WAITING_MAX,
    waitingPerClientMax: READS_WAITING_PER_CLIENT_MAX,
    bytesPerSecond,
    burstBytes: CLIENT_HISTORY_BYTES_BURST,
    ...pacing,
  });
}

/** Waits until the event loop has turned: I/O (votes, Status) is served before the next slice. */
const turnOfTheLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * How a read for `caller` goes in slices: the loop turns between two, and it stops once the caller
 * left; `bytesRead` is what its slices read so far (what the pace charges a read that ended early).
 */
export function historySlicing(caller: Caller): ReadSlicing & { readonly bytesRead: () => number } {
  let read = 0;
  return {
    pause: turnOfTheLoop,
    gone: () => caller.gone(),
    stopped: () => new GrpcError(GrpcStatus.CANCELLED, "the caller left during its read of this acceptor's chosen history: reading stopped"),
    slice: (bytes) => {
      read += bytes;
    },
    bytesRead: () => read,
  };
}

/** A failed history read as the caller is told it (a GrpcError as it is; damage as DATA_LOSS), logged unless the caller left. */
export function readFailed(e: unknown, logger: Logger): never {
  if (!(e instanceof GrpcError)) logger.error({ err: e }, 'reading the chosen history failed');
  throw historyReadError(e);
}
