// Clients' reads of the chosen history (Learn from a client certificate, ReadService.ReadLog) run
// on the event loop that answers votes: each reads up to 4 MiB from the history and encodes it,
// milliseconds of work, and a client that asks as fast as it reads its answers could keep an
// acceptor from voting. Those reads therefore go one at a time at a bounded rate of bytes; a read
// waits for its turn (at most READS_WAITING_MAX wait, 8 of one client; more are RESOURCE_EXHAUSTED),
// and is dropped if its caller left meanwhile. Proposers' reads (catch-up, learning), and every
// Learn on plaintext (where proposers have no certificate to be told by), are not paced.
import { PacedTurns } from '@paxos/grpc-kit';

/** Bytes of history clients may read a second, and at once after a quiet while. */
export const CLIENT_HISTORY_BYTES_PER_SECOND = 64 * 1024 * 1024;
export const CLIENT_HISTORY_BYTES_BURST = 64 * 1024 * 1024;
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
