import { type Ballot, ballotEquals } from '@paxos/consensus-core';

/**
 * How long a commit notice waits for an accept to ride on before it goes out alone. Longer than a
 * round under light load (a lone client's next accept comes ~10 ms later), so notices nearly always
 * ride and an asked acceptor gets one message per slot, not two; an acceptor's committed index
 * lags by at most this much when the load stops.
 */
export const COMMIT_FLUSH_MS = 50;
/** Bound on commit notices waiting per acceptor, and on one range. */
const PENDING_COMMITS_MAX = 4096;
const RANGE_SLOTS_MAX = 4096;

interface Pending {
  readonly slot: bigint;
  readonly ballot: Ballot;
}

/**
 * Commit notices held for each acceptor's next accept, which carries them as a slot range (a
 * message per slot spared). What no accept picks up within COMMIT_FLUSH_MS goes out alone.
 */
export class CommitNotices {
  private readonly pending = new Map<number, Pending[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly sendAlone: (to: number, slot: bigint, ballot: Ballot) => void) {}

  queue(to: number, slot: bigint, ballot: Ballot): void {
    const list = this.pending.get(to) ?? [];
    list.push({ slot, ballot });
    this.pending.set(to, list);
    if (list.length > PENDING_COMMITS_MAX) this.flush(to);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      for (const node of [...this.pending.keys()]) this.flush(node);
    }, COMMIT_FLUSH_MS);
  }

  /** Takes the longest run of consecutive pending slots chosen under `ballot`, as a range. */
  takeRange(to: number, ballot: Ballot): { fromSlot: bigint; toSlot: bigint } | undefined {
    const list = this.pending.get(to);
    if (!list || list.length === 0) return undefined;
    list.sort((a, b) => (a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0));
    const start = list.findIndex((c) => ballotEquals(c.ballot, ballot));
    if (start < 0) return undefined;
    let end = start + 1;
    while (end < list.length && end - start < RANGE_SLOTS_MAX) {
      const [prev, next] = [list[end - 1] as Pending, list[end] as Pending];
      if (!ballotEquals(next.ballot, ballot) || next.slot !== prev.slot + 1n) break;
      end += 1;
    }
    const range = { fromSlot: (list[start] as Pending).slot, toSlot: (list[end - 1] as Pending).slot + 1n };
    list.splice(start, end - start);
    if (list.length === 0) this.pending.delete(to);
    return range;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.pending.clear();
  }

  private flush(to: number): void {
    const list = this.pending.get(to);
    this.pending.delete(to);
    for (const c of list ?? []) this.sendAlone(to, c.slot, c.ballot);
  }
}
