import { status } from '@grpc/grpc-js';
import type { ChosenEntry, Quorum } from '@paxos/consensus-core';
import type { Logger } from '@paxos/grpc-kit';
import type { AcceptorLink } from './acceptor-link';
import type { ChosenLog } from './chosen-log';
import { learnedEntries } from './learned-entries';
import type { LogReader } from './log-reader';

/** When nothing suggests a gap, Learn runs on one pass in this many. */
const QUIET_LEARN_EVERY_PASSES = 10;
/** Chosen entries asked for in one Learn call while following the log. */
const LEARN_BATCH_ENTRIES = 256;
/**
 * Chosen entries read at once while a starting proposer learns the log; halved after a read that
 * failed at every acceptor (most often: none answered in time; down to LOG_READ_SLOTS_MIN) and
 * doubled back after
 * LOG_READ_GROW_AFTER reads in a row that came: on a loaded machine a page of 1,024 slots (up to
 * 4 MiB) missed its 2 s deadline at every acceptor again and again.
 */
const LOG_READ_SLOTS = 1024;
const LOG_READ_SLOTS_MIN = 16;
const LOG_READ_GROW_AFTER = 8;
const LEARN_DEADLINE_MS = 2000;
/** A Learn while following the log: a paused acceptor costs this much before the next is asked. */
const FOLLOW_LEARN_DEADLINE_MS = 500;
/** How long an acceptor whose Learn failed or brought nothing is not preferred (it is still asked in turn). */
const PASSED_OVER_MS = 2000;
const RETRY_MS = 500;

export interface LogLearnerDeps {
  readonly links: readonly AcceptorLink[];
  readonly quorum: Quorum;
  readonly chosen: ChosenLog;
  readonly reader: LogReader;
  /** Chosen entries learned from the acceptors: to the core and the chosen log. */
  readonly learned: (entries: readonly ChosenEntry[]) => void;
  /** An acceptor's committed index, seen in a Learn answer. */
  readonly noteCommitted: (nodeId: number, committedIndex: bigint) => void;
  /** The committed index an acceptor last reported (in any answer), if any. */
  readonly committedOf?: (nodeId: number) => bigint | undefined;
  /** True when some acceptor reported more chosen slots than we delivered. */
  readonly anyAhead: () => boolean;
  /** Installs the newest state snapshot an acceptor holds (the next slot is kept nowhere); true when the log moved. */
  readonly installSnapshot: () => Promise<boolean>;
  readonly logger: Logger;
}

/**
 * Learns chosen slots this proposer did not choose itself, from the acceptors' durable histories:
 * at start all of it, up to the highest committed index a quorum reports (then the proposer takes
 * client work, so a retried id is answered with the slot it first took effect in instead of being
 * chosen again); afterwards whatever another proposer chose, read-only, no round, no duel.
 */
/**
 * How far a starting proposer learns before it takes client work: the highest committed index a
 * quorum reports (the q-th highest). One damaged or lying acceptor naming a slot near 2^62 would
 * otherwise keep it learning slots no one holds, and never serving. Slots above are learned
 * afterwards (phase 1 finds any value chosen there; the sessions make a retried copy harmless).
 */
export function learnTarget(indexes: readonly bigint[], q: number): bigint {
  const sorted = [...indexes].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
  const target = sorted[q - 1];
  if (target === undefined) throw new Error(`assertion: learnTarget with ${indexes.length} answers, ${q} needed`);
  return target;
}

export class LogLearner {
  private learning = false;
  /** Acceptors whose last Learn failed or brought nothing, until when they are not preferred. */
  private readonly passedOver = new Map<number, number>();
  private next = 0;
  private quietPasses = 0;
  private readSlots = LOG_READ_SLOTS;
  /** Reads in a row that came since the page was last halved or doubled. */
  private readsCame = 0;
  private stopped = false;

  constructor(private readonly deps: LogLearnerDeps) {}

  /** Learns the log up to the acceptors' committed index, retrying until a quorum answers; resolves then. */
  async learnBeforeServing(): Promise<void> {
    const { links, quorum, chosen, logger } = this.deps;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const answers = await Promise.allSettled(links.map((l) => l.learn(chosen.nextSlot, 1, LEARN_DEADLINE_MS)));
        const indexes: bigint[] = [];
        answers.forEach((a, i) => {
          if (a.status !== 'fulfilled') return;
          indexes.push(a.value.committedIndex);
          // Where each acceptor is: the reader asks the ones furthest ahead first.
          this.deps.noteCommitted((links[i] as AcceptorLink).nodeId, a.value.committedIndex);
        });
        if (quorum.isQuorum(indexes.length)) {
          const target = learnTarget(indexes, quorum.q);
          for (let guard = 0n; chosen.nextSlot < target && guard <= target; guard++) {
            const entries = await this.readOrInstall();
            if (entries !== undefined) this.deps.learned(entries);
          }
          logger.info({ learnedTo: chosen.nextSlot.toString() }, 'learned the chosen log: taking client work');
          return;
        }
        if (attempt % 10 === 0) logger.warn({ answered: indexes.length, needed: quorum.q }, 'waiting for a quorum of acceptors to learn the chosen log from');
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'learning the chosen log failed; retrying');
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }

  /**
   * The next chosen entries from the acceptors' histories; undefined when they were kept nowhere
   * any more and a state snapshot moved the log past them instead.
   */
  private async readOrInstall(): Promise<readonly ChosenEntry[] | undefined> {
    const from = this.deps.chosen.nextSlot;
    try {
      const entries = await this.deps.reader.read(from, this.readSlots);
      if (++this.readsCame >= LOG_READ_GROW_AFTER && this.readSlots < LOG_READ_SLOTS) {
        this.readSlots *= 2;
        this.readsCame = 0;
      }
      return entries;
    } catch (err) {
      if ((err as { code?: unknown }).code !== status.OUT_OF_RANGE) {
        this.readSlots = Math.max(LOG_READ_SLOTS_MIN, this.readSlots / 2);
        this.readsCame = 0;
        throw err;
      }
      // The starting learn and the following one both read: the other may have installed the
      // snapshot past `from` while this read was under way. Asking for one above the moved log
      // then finds none (every acceptor's is at or below it) and failed the learn for nothing.
      if (this.deps.chosen.nextSlot > from) return undefined;
      if (await this.deps.installSnapshot()) return undefined;
      throw err;
    }
  }

  /**
   * One pass: learns while someone watches the chosen log or an acceptor is ahead of us;
   * otherwise once in a while (another proposer may lead without our knowing: a deposed leader
   * learns of it only when it next sends).
   */
  pass(): void {
    const watched = this.deps.chosen.delivered$.observed;
    if (!this.deps.anyAhead() && !watched && ++this.quietPasses % QUIET_LEARN_EVERY_PASSES !== 0) return;
    this.learnFromAcceptors();
  }

  /**
   * Learns now when an acceptor reported more chosen slots than we delivered (a linearizable read
   * waits for slots another proposer chose), unless a Learn is under way.
   */
  learnNow(): void {
    if (this.deps.anyAhead()) this.learnFromAcceptors();
  }

  /**
   * The acceptor to learn from next: a connected one that reported more chosen slots than we
   * delivered, taken in turn; otherwise the next connected one, round robin. One whose last Learn
   * failed or brought nothing (paused, damaged or lying) is passed over for a while, unless every
   * connected one is.
   */
  private nextLink(): AcceptorLink | undefined {
    const { links, chosen, committedOf } = this.deps;
    const now = performance.now();
    let fallback: AcceptorLink | undefined;
    let lastResort: AcceptorLink | undefined;
    for (let i = 0; i < links.length; i++) {
      const link = links[(this.next + i) % links.length] as AcceptorLink;
      if (!link.up) continue;
      lastResort ??= link;
      if ((this.passedOver.get(link.nodeId) ?? 0) > now) continue;
      if ((committedOf?.(link.nodeId) ?? 0n) > chosen.nextSlot) {
        this.next += i + 1;
        return link;
      }
      fallback ??= link;
    }
    this.next += 1;
    return fallback ?? lastResort;
  }

  /** Fills a gap in the chosen log from the acceptors' histories, one acceptor per call (see nextLink). */
  private learnFromAcceptors(): void {
    if (this.learning || this.stopped) return;
    const { chosen, logger } = this.deps;
    const link = this.nextLink();
    if (link === undefined) return;
    this.learning = true;
    const from = chosen.nextSlot;
    link.learn(from, LEARN_BATCH_ENTRIES, FOLLOW_LEARN_DEADLINE_MS).then(
      (r) => {
        this.learning = false;
        this.deps.noteCommitted(link.nodeId, r.committedIndex);
        if (r.chosen.length === 0 && r.oldestKeptSlot > chosen.nextSlot) {
          // This acceptor no longer keeps what we need next (--history-retain-slots): read it from
          // any acceptor that does, or install the state snapshot that covers it.
          logger.info({ from: chosen.nextSlot.toString(), oldestKeptSlot: r.oldestKeptSlot.toString(), acceptor: link.nodeId }, 'an acceptor no longer keeps the chosen values we need next');
          this.learning = true;
          this.readOrInstall().then(
            (entries) => {
              this.learning = false;
              if (entries !== undefined) this.deps.learned(entries);
            },
            (err: unknown) => {
              this.learning = false;
              logger.warn({ err: (err as Error).message }, 'learning the chosen log failed');
            },
          );
          return;
        }
        let entries: ChosenEntry[];
        try {
          entries = learnedEntries(r.chosen, from);
        } catch (err) {
          this.passOver(link);
          logger.warn({ acceptor: link.nodeId, reason: (err as Error).message }, 'an acceptor answered Learn with a malformed message: asking another');
          return;
        }
        this.deps.learned(entries);
        // On while it brings slots; one that brought none (or none we took) is passed over for a while.
        if (chosen.nextSlot > from) {
          this.passedOver.delete(link.nodeId);
          if (r.committedIndex > chosen.nextSlot) this.learnFromAcceptors();
        } else this.passOver(link);
      },
      (err: unknown) => {
        this.learning = false;
        this.passOver(link);
        logger.debug({ acceptor: link.nodeId, err }, 'learn failed');
      },
    );
  }

  private passOver(link: AcceptorLink): void {
    this.passedOver.set(link.nodeId, performance.now() + PASSED_OVER_MS);
  }

  stop(): void {
    this.stopped = true;
  }
}
