import type { AcceptedEntry, AcceptorReply, AcceptorSnapshot } from '../acceptor-types';
import { ballotGreater, compareBallots, formatBallot, type Ballot } from '../ballot';
import type { Quorum } from '../quorum';
import { commandKey, slotValueKey, type Command, type SlotValue } from '../value';

const VIOLATIONS_MAX = 20;

interface ChosenFact {
  readonly key: string;
  ballot: Ballot;
  readonly source: string;
}

/**
 * Safety checker: agreement (one value per slot, across all observers and all time), validity
 * (only submitted commands or no-ops), stability (a chosen value survives in the durable states),
 * that every reported choice rests on a durable quorum (the omniscient view), and that no reply
 * outruns the disk (a promise or vote answered before it is durable).
 */
export class SafetyChecker {
  readonly violations: string[] = [];
  private readonly submitted = new Map<string, string>();
  private readonly chosen = new Map<bigint, ChosenFact>();
  private readonly votes = new Map<string, { key: string; voters: Set<number> }>();
  /** A reply that outran the disk is named once per run: the end-of-run checks keep the room to say what it broke. */
  private undurableReplySeen = false;
  durableChosenCount = 0;

  constructor(private readonly quorum: Quorum) {}

  violation(message: string): void {
    if (this.violations.length < VIOLATIONS_MAX) this.violations.push(message);
  }

  recordSubmitted(c: Command): void {
    this.submitted.set(c.clientRequestId, commandKey(c));
  }

  /** An acceptor made a vote durable: the omniscient ledger of (slot, ballot) -> voters. */
  recordDurableVote(acceptor: number, e: AcceptedEntry): void {
    const id = `${e.slot}|${formatBallot(e.ballot)}`;
    const key = slotValueKey(e.value);
    let v = this.votes.get(id);
    if (v === undefined) {
      v = { key, voters: new Set() };
      this.votes.set(id, v);
    } else if (v.key !== key) {
      this.violation(`two values accepted in slot ${e.slot} at one ballot ${formatBallot(e.ballot)}`);
      return;
    }
    v.voters.add(acceptor);
    if (v.voters.size === this.quorum.q) {
      this.durableChosenCount++;
      this.observeChosen(e.slot, e.ballot, e.value, `a durable quorum at ballot ${formatBallot(e.ballot)}`);
    }
  }

  /**
   * A reply leaves an acceptor only once what it reports is durable (DESIGN section 4): a promise
   * once the disk holds a promise at least as high, an accepted once its vote is. Checked as the
   * reply leaves, so a promise that outruns the disk is seen even when no crash happens to lose it.
   */
  checkReplyDurable(acceptor: number, reply: AcceptorReply, durablePromised: Ballot): void {
    let problem: string | undefined;
    if (reply.type === 'promise' && ballotGreater(reply.ballot, durablePromised)) {
      problem = `a promise of ballot ${formatBallot(reply.ballot)} while its disk held ${formatBallot(durablePromised)}`;
    } else if (reply.type === 'accepted' && this.votes.get(`${reply.slot}|${formatBallot(reply.ballot)}`)?.voters.has(acceptor) !== true) {
      problem = `accepted for slot ${reply.slot} at ballot ${formatBallot(reply.ballot)} before its vote was durable`;
    }
    if (problem === undefined || this.undurableReplySeen) return;
    this.undurableReplySeen = true;
    this.violation(`durability: acceptor ${acceptor} answered ${problem}`);
  }


  /**
   * A proposer reported a choice. It must rest on a durable quorum for that (ballot, slot) at the
   * moment it is reported: a proposer that counts an answer it should not (another ballot's, a
   * vote not yet durable) may see a quorum that later votes complete, which a check at the end of
   * the run would take for a sound choice.
   */
  recordReportedChosen(slot: bigint, ballot: Ballot, value: SlotValue, source: string): void {
    const v = this.votes.get(`${slot}|${formatBallot(ballot)}`);
    if (v === undefined || v.voters.size < this.quorum.q || v.key !== slotValueKey(value)) {
      this.violation(
        `stability: ${source} saw slot ${slot} chosen at ballot ${formatBallot(ballot)}, but only ${v?.voters.size ?? 0} of the votes were durable then (an answer counted that was not a durable vote for it)`,
      );
    }
    this.observeChosen(slot, ballot, value, source);
  }

  observeChosen(slot: bigint, ballot: Ballot, value: SlotValue, source: string): void {
    const key = slotValueKey(value);
    if (value.kind === 'batch') {
      for (const c of value.commands) {
        if (this.submitted.get(c.clientRequestId) !== commandKey(c)) {
          this.violation(`validity: slot ${slot} holds command ${c.clientRequestId} that no client submitted`);
        }
      }
    }
    const fact = this.chosen.get(slot);
    if (fact === undefined) {
      this.chosen.set(slot, { key, ballot, source });
    } else if (fact.key !== key) {
      this.violation(`agreement: slot ${slot} chosen as ${fact.key.slice(0, 60)} (${fact.source}) and as ${key.slice(0, 60)} (${source})`);
    } else if (ballotGreater(fact.ballot, ballot)) {
      fact.ballot = ballot;
    }
  }

  /** Stability at the end: every durable vote at or above a chosen ballot holds the chosen value. */
  checkDurableStates(states: readonly AcceptorSnapshot[]): void {
    states.forEach((s, acceptor) => {
      for (const e of s.accepted) {
        const fact = this.chosen.get(e.slot);
        if (fact !== undefined && compareBallots(e.ballot, fact.ballot) >= 0 && slotValueKey(e.value) !== fact.key) {
          this.violation(`stability: acceptor ${acceptor} durably accepted another value in chosen slot ${e.slot} at ballot ${formatBallot(e.ballot)}`);
        }
      }
      for (const c of s.chosen) {
        const fact = this.chosen.get(c.slot);
        if (fact !== undefined && slotValueKey(c.value) !== fact.key) {
          this.violation(`agreement: acceptor ${acceptor} committed another value in slot ${c.slot}`);
        }
      }
    });
  }

  get chosenSlots(): number {
    return this.chosen.size;
  }
}
