import { status } from '@grpc/grpc-js';
import { type ChosenEntry, slotValueBytes } from '@paxos/consensus-core';
import { type Caller, describeGrpcError, GrpcError, messageBytes, PacedTurns } from '@paxos/grpc-kit';
import { belowHistoryTrailers } from '@paxos/wire';
import type { AcceptorLink } from './acceptor-link';
import type { ChosenLog } from './chosen-log';
import { learnedEntries } from './learned-entries';

/** Deadline of one Learn call. */
const LEARN_DEADLINE_MS = 2000;
/**
 * Clients' reads of the acceptors' histories at once (each answer up to 4 MiB held in memory), and
 * clients' reads that may wait for a turn; past that a read is RESOURCE_EXHAUSTED. The proposer's
 * own reads (learning, catch-up: at most one per acceptor) do not wait behind clients.
 */
export const HISTORY_READS_AT_ONCE = 4;
export const HISTORY_READS_WAITING_MAX = 256;
/** Of those waiting, one client's (so that one client never holds every place: its 256 ReadLog calls kept everyone else's off). */
export const HISTORY_READS_WAITING_PER_CLIENT_MAX = 32;
/**
 * Bytes of history clients' reads may fetch a second through this proposer: its Learn is not paced
 * at the acceptors (a proposer's catch-up must not be), so a client reading old slots here would
 * otherwise keep the acceptor furthest ahead busy.
 */
export const CLIENT_HISTORY_BYTES_PER_SECOND = 64 * 1024 * 1024;

/**
 * Reads the chosen log from any slot: from the proposer's memory while it keeps the slot, else
 * from the acceptors' durable chosen histories (Learn), asking first the acceptors known to be
 * furthest ahead. Catch-up and WatchChosen read history through it.
 */
export class LogReader {
  /** Clients' reads of the acceptors' histories (readForClient). */
  private readonly clientTurns: PacedTurns;

  constructor(
    private readonly links: readonly AcceptorLink[],
    private readonly chosen: ChosenLog,
    /** The committed index an acceptor last reported (undefined: unknown). */
    private readonly committedOf: (nodeId: number) => bigint | undefined,
    /** The clock and the wait of the clients' pacing (tests give their own). */
    pacing: { readonly now?: () => number; readonly sleep?: (ms: number) => Promise<void> } = {},
  ) {
    this.clientTurns = new PacedTurns({
      subject: "the acceptors' chosen histories",
      atOnce: HISTORY_READS_AT_ONCE,
      waitingMax: HISTORY_READS_WAITING_MAX,
      waitingPerClientMax: HISTORY_READS_WAITING_PER_CLIENT_MAX,
      bytesPerSecond: CLIENT_HISTORY_BYTES_PER_SECOND,
      burstBytes: CLIENT_HISTORY_BYTES_PER_SECOND,
      ...pacing,
    });
  }

  /**
   * Up to `max` chosen entries from `from` on (and about `maxBytes` of values from memory; an
   * acceptor's Learn answer is bounded by its own 4 MiB), in slot order, without gaps; at least one. Else it
   * throws OUT_OF_RANGE when acceptors dropped the slot under their retention flag (naming the
   * state snapshot that covers it), or UNAVAILABLE.
   */
  async read(from: bigint, max: number, maxBytes = Number.POSITIVE_INFINITY): Promise<ChosenEntry[]> {
    const kept = this.fromMemory(from, max, maxBytes);
    return kept.length > 0 ? kept : this.readHistory(from, max);
  }

  /**
   * The same for a client (ReadLog, WatchChosen): reads of the acceptors' histories take turns at
   * a rate of bytes, and a caller that left before its turn is not read for.
   */
  async readForClient(from: bigint, max: number, maxBytes: number, caller: Caller): Promise<ChosenEntry[]> {
    const kept = this.fromMemory(from, max, maxBytes);
    if (kept.length > 0) return kept;
    return this.clientTurns.run(caller, () => this.readHistory(from, max, caller), messageBytes);
  }

  private fromMemory(from: bigint, max: number, maxBytes: number): ChosenEntry[] {
    const kept: ChosenEntry[] = [];
    let bytes = 0;
    for (let slot = from; kept.length < max; slot++) {
      const e = this.chosen.entry(slot);
      if (!e) break;
      bytes += slotValueBytes(e.value);
      if (kept.length > 0 && bytes > maxBytes) break;
      kept.push(e);
    }
    return kept;
  }

  /** `caller`: a client's read stops asking once it left (each acceptor asked may cost a Learn deadline). */
  private async readHistory(from: bigint, max: number, caller?: Caller): Promise<ChosenEntry[]> {
    const failures: string[] = [];
    /**
     * The lowest first retained slot above `from` of acceptors that dropped `from`, and the highest
     * snapshot slot they give that covers it (above `from`: Learn's 0 means none to give, and a
     * snapshot at or below `from`, of an acceptor whose oldest segment was lost, covers less).
     */
    let dropped: { retainedFrom: bigint; snapshotSlot: bigint | undefined } | undefined;
    /** Acceptors that did not answer: one of them may still hold the slot the others dropped. */
    let silent = this.links.filter((l) => !l.up).length;
    // Every connected acceptor that may hold the slot, the furthest ahead first: at most n calls.
    for (const link of this.byProgress().filter((l) => (this.committedOf(l.nodeId) ?? from + 1n) > from)) {
      // A paused acceptor costs its whole Learn deadline: with a dozen of them a read went on for
      // tens of seconds after its client had its DEADLINE_EXCEEDED, holding one of the few places.
      if (caller?.gone()) throw new GrpcError(status.CANCELLED, `the caller left while slot ${from} was read from the acceptors' chosen histories`);
      try {
        const r = await link.learn(from, max, LEARN_DEADLINE_MS);
        if (r.chosen.length > 0 && r.chosen[0]?.slot === from) {
          return learnedEntries(r.chosen, from);
        }
        if (r.oldestKeptSlot > from) {
          const covering = r.snapshotSlot > from ? r.snapshotSlot : undefined;
          const before = dropped?.snapshotSlot;
          dropped = {
            retainedFrom: dropped === undefined || r.oldestKeptSlot < dropped.retainedFrom ? r.oldestKeptSlot : dropped.retainedFrom,
            snapshotSlot: before === undefined || (covering !== undefined && covering > before) ? covering : before,
          };
        }
        failures.push(`node ${link.nodeId}: holds chosen values up to slot ${r.committedIndex}, from slot ${r.oldestKeptSlot}`);
      } catch (e) {
        silent += 1;
        // Said as a person reads it: grpc-js's own text carries its stages ("LB pick: 0.001s, remote_addr=...").
        failures.push(`node ${link.nodeId}: ${describeGrpcError(e)}`);
      }
    }
    if (dropped !== undefined) {
      // This proposer may still keep slots the acceptors dropped (it delivered them before they
      // did): the reader is told to read on from there, not from the acceptors' first slot, which
      // would skip slots it can still read here.
      const keptHere = this.chosen.oldestSlot;
      const here = keptHere > from && keptHere < dropped.retainedFrom && this.chosen.entry(keptHere) !== undefined ? `; this proposer keeps the chosen log from slot ${keptHere} (ReadLog from there)` : '';
      // Acceptors that did not answer may still hold it (retention drops slots at each acceptor's
      // own pace): said, so that a reader that must not skip slots asks again rather than move on.
      const unasked = silent > 0 ? `; ${silent} acceptor${silent === 1 ? '' : 's'} did not answer and may still hold it (ask again to read it from them)` : '';
      const snapshotSlot = dropped.snapshotSlot;
      const covered =
        snapshotSlot !== undefined
          ? `the state snapshot at slot ${snapshotSlot} covers it (ReadService.GetStateSnapshot on an acceptor)`
          : 'none of them gives a state snapshot that covers it (their snapshot files damaged, or their oldest history lost): another acceptor\'s may (ReadService.GetStateSnapshot on each, or Learn to see which gives one)';
      const historyFirstSlot = here === '' ? dropped.retainedFrom : keptHere;
      throw new GrpcError(
        status.OUT_OF_RANGE,
        `slot ${from} is below the chosen history the acceptors that answered retain (from slot ${dropped.retainedFrom})${here}; ${covered}${unasked}`,
        belowHistoryTrailers(snapshotSlot === undefined ? { historyFirstSlot } : { historyFirstSlot, stateSnapshotSlot: snapshotSlot }),
      );
    }
    throw new GrpcError(status.UNAVAILABLE, `no acceptor could serve slot ${from} of the chosen log (${failures.join('; ') || 'none is connected'})`);
  }

  /** Connected acceptors, the furthest ahead first (unknown ones last). */
  private byProgress(): AcceptorLink[] {
    const at = (l: AcceptorLink) => this.committedOf(l.nodeId) ?? -1n;
    return this.links.filter((l) => l.up).sort((a, b) => (at(a) > at(b) ? -1 : at(a) < at(b) ? 1 : 0));
  }
}
