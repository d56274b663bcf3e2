import type { AcceptorCore } from '@paxos/consensus-core';
import type { Logger } from '@paxos/grpc-kit';
import type { ChosenHistoryStore } from './node-storage';

/**
 * Joins the recovered core (snapshot + vote log) and the chosen history at startup, so that the
 * committed index comes back where it was and every slot below it can be read (the history ends
 * at the committed index or above it):
 * - the history reaches further (commit notices since the last checkpoint): the core's committed
 *   index moves there;
 * - the core reaches further (a data dir written before the history existed, whose snapshot held
 *   the chosen values): they are copied into the history. Values that such a node had already
 *   folded away are gone; the history then starts above them and says so.
 * A history that ends below the snapshot's committed index lost values a checkpoint had made
 * durable: corruption, refused.
 */
export function joinChosenHistory(core: AcceptorCore, history: ChosenHistoryStore, logger: Logger): void {
  if (history.created && history.endSlot < core.oldestKeptSlot) {
    logger.warn(
      { from: history.endSlot.toString(), to: core.oldestKeptSlot.toString() },
      'this data dir predates the chosen history and had folded away the values of older slots: its history starts above them',
    );
    history.startAt(core.oldestKeptSlot);
  }
  // The history first: it may hold slots the core does not know chosen (notices are not logged),
  // and the committed index then moves on through chosen values the log holds above them, which
  // the history must get too (before, a history cut back by a crash ended below the committed
  // index after the join, with the votes of those slots folded: no read found their values).
  const learned = core.learnChosenBelow(history.endSlot);
  const committed = core.committedIndex;
  if (committed > history.endSlot) {
    const records = core.chosenFrom(history.endSlot, Number(committed - history.endSlot));
    if (history.endSlot + BigInt(records.length) !== committed) {
      throw new HistoryBehindError(
        history.file,
        `the chosen history ends at slot ${history.endSlot}, below the committed index ${committed} of the snapshot and log, and the values in between are not held`,
      );
    }
    history.append(records);
    history.sync();
  }
  history.joined?.();
  if (learned) {
    logger.info({ committedIndex: core.committedIndex.toString() }, 'committed index recovered from the chosen history');
  }
}

/**
 * What an operator may do with an acceptor whose durable state is damaged: nothing that makes it
 * forget. A backup or an empty data dir would forget promises and votes it gave; another proposer
 * could then get a second value chosen in a slot it helped choose.
 */
export const KEEP_DAMAGED_DATA_DIR =
  'Keep this data dir as it is and leave the node stopped: do not start it from a backup or an empty data dir, ' +
  'which would forget promises and votes it gave, so that two values could be chosen for one slot. ' +
  'The network keeps choosing while a quorum of the other acceptors is alive (README: "A damaged acceptor").';

/** The chosen history lost values a checkpoint had made durable: the acceptor refuses to start. */
export class HistoryBehindError extends Error {
  override readonly name = 'HistoryBehindError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`storage corruption in ${file}: ${detail}. Refusing to start rather than serve a log with a hole. ${KEEP_DAMAGED_DATA_DIR}`);
  }
}
