import { type SnapshotGeneration, snapshotToGive, type StateSnapshotStore, type StoredStateSnapshot } from './state-snapshot-store';

/** What a read or write last showed of one snapshot file: whole at its slot, or why it cannot be used; undefined while not looked at. */
type Verdict = { readonly slot: bigint } | { readonly missing: string } | undefined;

/**
 * An acceptor's two state snapshot files as the node speaks of them: the store, with what each
 * read and write showed of each file. This is the one place that says which snapshot this node
 * can give (`slotToGive`, what ReadService.GetStateSnapshot serves through `give`): Learn's
 * `snapshot_slot`, the OUT_OF_RANGE answers below the kept history and history retention all
 * read it here, so none of them names a snapshot the node cannot give.
 *
 * A damaged file is found only by reading it (its CRC), and a snapshot may be tens of MB: the
 * verdicts are not re-read on every Learn, but kept and refreshed by every read (the restore at
 * start, each GetStateSnapshot, which falls back to the previous file when the latest fails) and
 * every write (the store answers which previous it kept). A file damaged under a running node is
 * reported as whole until one of those reads it; the first GetStateSnapshot that finds it damaged
 * serves the previous one, and from then on every report names the previous one too.
 */
export class KeptStateSnapshots implements StateSnapshotStore {
  private verdicts: Record<SnapshotGeneration, Verdict> = { latest: undefined, previous: undefined };
  /**
   * Files whose state holds another slot than their header says (found by the restore's decode,
   * refuse()): read again, each still passes its CRC, so it is refused here while its header says
   * that slot. A write moves a refused latest along to the previous, as the store does.
   */
  private refused: Record<SnapshotGeneration, { readonly slot: bigint; readonly why: string } | undefined> = { latest: undefined, previous: undefined };

  constructor(
    private readonly store: StateSnapshotStore,
    /**
     * How `give` reads a file (by default the store's read): the acceptor app passes one that
     * reads a file again only when it changed, so that clients opening transfers in a loop do not
     * have the whole file read and checked each time.
     */
    private readonly readToGive: (generation: SnapshotGeneration) => StoredStateSnapshot = (generation) => store.read(generation),
  ) {}

  async write(slot: bigint, body: Buffer): Promise<{ readonly previousSlot: bigint | undefined }> {
    let written: { readonly previousSlot: bigint | undefined };
    try {
      written = await this.store.write(slot, body);
    } catch (err) {
      // The store may have got as far as one rename (the latest moved to the previous, the new one
      // not yet in place): what is on the disk is looked at again before it is named.
      this.verdicts = { latest: undefined, previous: undefined };
      throw err;
    }
    // The store keeps as the previous the latest it found whole (by its CRC), a refused one too.
    const before = this.refused;
    const kept = written.previousSlot;
    const refusedKept = kept === undefined ? undefined : before.latest?.slot === kept ? before.latest : before.previous?.slot === kept ? before.previous : undefined;
    this.refused = { latest: undefined, previous: refusedKept };
    this.verdicts = {
      latest: { slot },
      // The store's word: it keeps as the previous the latest it found whole, else the previous it had if whole.
      previous: kept === undefined ? { missing: 'no whole previous snapshot was kept' } : refusedKept !== undefined ? { missing: refusedKept.why } : { slot: kept },
    };
    return written;
  }

  refuse(generation: SnapshotGeneration, slot: bigint, why: string): void {
    this.refused = { ...this.refused, [generation]: { slot, why } };
    this.verdicts = { ...this.verdicts, [generation]: { missing: why } };
  }

  read(generation: SnapshotGeneration): StoredStateSnapshot {
    return this.noted(generation, this.store.read(generation));
  }

  /** What ReadService.GetStateSnapshot serves (snapshotToGive: the latest, else the previous); what it finds is noted. */
  give(): StoredStateSnapshot {
    return snapshotToGive((generation) => this.noted(generation, this.readToGive(generation)));
  }

  /**
   * The slot of the snapshot `give` would serve as far as the files were last seen: the latest's
   * while it was whole, else the previous one's; none when neither can be given. A file not yet
   * looked at (none read or written through this store since the start) is read once here.
   */
  get slotToGive(): bigint | undefined {
    const latest = this.verdictOf('latest');
    if ('slot' in latest) return latest.slot;
    const previous = this.verdictOf('previous');
    return 'slot' in previous ? previous.slot : undefined;
  }

  /**
   * The slot below which both files cover the history, while both were last seen whole: what
   * history retention may drop below (so that one damaged file never costs the state). Never above
   * `slotToGive`, so a dropped slot is always below a snapshot this node can give. None while
   * either file is damaged, missing or not yet looked at (nothing is read for this).
   */
  get coveredBelow(): bigint | undefined {
    const { latest, previous } = this.verdicts;
    if (latest === undefined || previous === undefined || !('slot' in latest) || !('slot' in previous)) return undefined;
    return latest.slot < previous.slot ? latest.slot : previous.slot;
  }

  private verdictOf(generation: SnapshotGeneration): { readonly slot: bigint } | { readonly missing: string } {
    const known = this.verdicts[generation];
    if (known !== undefined) return known;
    const read = this.read(generation);
    return 'missing' in read ? read : { slot: read.slot };
  }

  private noted(generation: SnapshotGeneration, found: StoredStateSnapshot): StoredStateSnapshot {
    const refused = this.refused[generation];
    const read: StoredStateSnapshot = refused !== undefined && !('missing' in found) && found.slot === refused.slot ? { missing: refused.why } : found;
    this.verdicts = { ...this.verdicts, [generation]: 'missing' in read ? { missing: read.missing } : { slot: read.slot } };
    return read;
  }
}
