import { status } from '@grpc/grpc-js';
import type { Command, Quorum } from '@paxos/consensus-core';
import { GrpcError } from '@paxos/grpc-kit';
import type { AcceptorVote } from '@paxos/proto';
import { sessionValueKey } from '@paxos/state-machine';
import type { ChosenLog, ChosenResult, LearnedResult } from './chosen-log';
import { QuorumUnreachableError } from './fan-out';

export interface ProposeOutcome extends ChosenResult {
  readonly duplicate: boolean;
  readonly votes: readonly AcceptorVote[];
}

interface Waiter {
  readonly resolve: (r: ProposeOutcome) => void;
  readonly reject: (e: unknown) => void;
  /** The bytes this caller sent: it hears "chosen" only if these took effect under the id. */
  readonly data: Uint8Array;
  /** Their content type (a Monster Harmonic proposal that the registry refused is told so). */
  readonly contentType: string;
  /** Bytes counted in waitingBytes for this caller: what it sent under an id already in flight (0 for the caller that put the id in flight, counted in inFlightBytes). */
  readonly counted: number;
}

/**
 * Bytes of the values in flight (held, being certified, or in the core, not yet chosen), and of
 * every value a caller sent under an id in flight (each waits for the id's outcome, its request
 * and so its bytes alive: a unary call's request lives as long as the call in grpc-js, and a
 * stream's proposal as long as its answer is awaited, whether the bytes are the ones in flight or
 * not); past it a new proposal is RESOURCE_EXHAUSTED at once. The count bound of the core's queue
 * alone let 1 MiB values take the proposer towards 10 GiB, everyone else waiting behind them.
 */
export const IN_FLIGHT_BYTES_MAX = 64 * 1024 * 1024;
/** The value of an id in flight: its bytes and their content type (both make the value). */
interface InFlightValue {
  readonly data: Uint8Array;
  readonly contentType: string;
}

/** True when two values under one id are the same value: the same bytes of the same content type. */
function sameValue(a: InFlightValue, b: InFlightValue): boolean {
  return a.contentType === b.contentType && Buffer.compare(a.data, b.data) === 0;
}

/** Commands held while a starting proposer learns the log; past it clients hear UNAVAILABLE. */
const HELD_COMMANDS_MAX = 65_536;
/** Commands whose claims are being verified at once; past it clients hear RESOURCE_EXHAUSTED. */
const CERTIFYING_MAX = 256;

/** The claim certificate step (claim-certifier.ts). */
export interface Certifier {
  /** The claimed sources whose acceptors must verify the command; empty for most values. */
  sourcesOf(command: Command): number[];
  certify(command: Command, sources: readonly number[]): Promise<Command>;
}

export interface ClientGatewayDeps {
  readonly chosen: ChosenLog;
  readonly quorum: Quorum;
  /** Acceptors whose channel is connected now. */
  readonly reachable: () => number;
  /**
   * Set once the proposer can choose nothing more (the ballot ceiling): a proposal not in the log
   * is answered with it at once, never queued.
   */
  readonly cannotChoose?: () => GrpcError | undefined;
  /** Hands commands to the core together; returns the ones it refused, with why. */
  readonly submit: (commands: readonly Command[]) => ReadonlyArray<{ command: Command; reason: string }>;
  /** Absent: commands go to the core as they came (no claims are certified). */
  readonly certifier?: Certifier;
  /**
   * Resolves once this proposer has learned every slot chosen before the call (the read
   * barrier): asked before a command's claims are refused for good, so that a command chosen
   * through another proposer is answered with its slot, not refused.
   */
  readonly learnChosen?: () => Promise<void>;
}

/** The answer to a proposal chosen in `slot` that the registry refused: the same on every retry. */
function registryRefused(slot: bigint, reason: string): GrpcError {
  const hint = /already chosen/.test(reason) ? '; each number is used once: submit it under another proposal number' : '';
  return new GrpcError(status.FAILED_PRECONDITION, `the proposal was chosen in slot ${slot} but took no effect: ${reason}${hint}`);
}

/**
 * The clients' side of a proposer: who waits for which client_request_id, and the exactly-once
 * rule as the state machine decides it. A command whose id already took effect is answered with
 * its first slot (or ALREADY_EXISTS for other bytes) and never reaches the core; commands that
 * arrive in one turn of the event loop reach the core together; until the proposer has learned
 * the chosen log (ready), they are held.
 */
export class ClientGateway {
  /** Each id's waiters in the order they came, by the token each proposed with (abandon finds its own at once). */
  private readonly waiters = new Map<string, Map<object, Waiter>>();
  /** Ids in flight (held, being certified, or in the core), with the value each carries. */
  private readonly inCore = new Map<string, InFlightValue>();
  /** The bytes of inCore's values. */
  private inFlightBytes = 0;
  /** The bytes waiters hold beyond inCore's values (what each caller sent under an id already in flight). */
  private waitingBytes = 0;
  /** Commands received in this turn of the event loop, handed to the core together. */
  private arriving: Command[] = [];
  private held: Command[] = [];
  /** Commands whose claims are being verified. */
  private certifying = 0;
  private isReady = false;
  private stopped = false;

  constructor(private readonly deps: ClientGatewayDeps) {}

  get ready(): boolean {
    return this.isReady;
  }

  /** Client ids waiting for an answer. */
  waitingIds(): string[] {
    return [...this.waiters.keys()];
  }

  /** Chooses the command, exactly once per client request id. Resolves when its slot is delivered. */
  propose(command: Command, token?: object): Promise<ProposeOutcome> {
    const id = command.clientRequestId;
    if (this.stopped) return Promise.reject(new GrpcError(status.UNAVAILABLE, `proposer shutting down before ${id} was chosen; retry with the same client_request_id`));
    // An id the log learned so far already holds is answered with its slot, held commands or not:
    // the slot where an id first took effect is the same in any longer log.
    const known = this.deps.chosen.result(id);
    if (known) {
      const refused = this.reusedIdError(known, command) ?? this.registryRefusal(known, command);
      return refused ? Promise.reject(refused) : Promise.resolve({ ...known, duplicate: true, votes: [] });
    }
    if (!this.isReady && this.held.length >= HELD_COMMANDS_MAX && !this.inCore.has(id)) {
      return Promise.reject(
        new GrpcError(
          status.UNAVAILABLE,
          `the proposer is still learning the chosen log (slot ${this.deps.chosen.nextSlot}) and holds ${HELD_COMMANDS_MAX} commands already; retry with the same client_request_id`,
        ),
      );
    }
    const blocked = this.deps.cannotChoose?.();
    if (blocked !== undefined) return Promise.reject(blocked);
    const up = this.deps.reachable();
    const { quorum } = this.deps;
    if (!quorum.isQuorum(up) && !this.inCore.has(id)) return Promise.reject(QuorumUnreachableError.notConnected(up, quorum.n, quorum.q));
    const inFlight = this.inCore.get(id);
    // Another value under the id (other bytes, or the same bytes under another content type) is
    // held for its caller's answer. A retry of the value in flight is waited on with the copy in
    // flight, but its caller's request holds its own copy until it is answered: counted too (else
    // one client re-sending a 1 MiB value in flight held a GiB per thousand calls, outside the bound).
    const same = inFlight !== undefined && sameValue(inFlight, command);
    const held = this.inFlightBytes + this.waitingBytes;
    if (held > 0 && held + command.data.length > IN_FLIGHT_BYTES_MAX) {
      return Promise.reject(
        new GrpcError(
          status.RESOURCE_EXHAUSTED,
          `the proposer holds ${held} bytes of proposals not yet chosen (at most ${IN_FLIGHT_BYTES_MAX}): retry shortly with the same client_request_id`,
        ),
      );
    }
    return new Promise<ProposeOutcome>((resolve, reject) => {
      let list = this.waiters.get(id);
      if (!list) this.waiters.set(id, (list = new Map()));
      // A caller without a token cannot abandon: its key is its own.
      if (token !== undefined && list.has(token)) throw new Error(`client gateway: a token proposed ${JSON.stringify(id)} twice (each call gives its own)`);
      const counted = inFlight !== undefined ? command.data.length : 0;
      this.waitingBytes += counted;
      list.set(token ?? {}, { resolve, reject, data: same ? inFlight.data : command.data, contentType: command.contentType, counted });
      // A retry of a command still in flight (or being certified) waits for it. So does the same
      // id with other bytes: which value takes effect under the id is known only when one does
      // (its own bytes may be in flight at another proposer), and each caller then hears
      // "chosen" or ALREADY_EXISTS by its own bytes.
      if (inFlight !== undefined) return;
      this.inCore.set(id, { data: command.data, contentType: command.contentType });
      this.inFlightBytes += command.data.length;
      // Held as it came: its claims are certified once the log is learned and shows it is new.
      if (!this.isReady) this.held.push(command);
      else this.admit(command);
    });
  }

  /** The id is no longer in flight here. */
  private forget(id: string): void {
    const value = this.inCore.get(id);
    if (value === undefined) return;
    this.inCore.delete(id);
    this.inFlightBytes -= value.data.length;
  }

  /** A command of a ready proposer that is not in the log: certified if it makes claims, then to the core. */
  private admit(command: Command): void {
    const certifier = this.deps.certifier;
    const sources = certifier?.sourcesOf(command) ?? [];
    if (!certifier || sources.length === 0) {
      this.arrive(command);
      return;
    }
    if (this.certifying >= CERTIFYING_MAX) {
      this.fail(command.clientRequestId, new GrpcError(status.RESOURCE_EXHAUSTED, `${CERTIFYING_MAX} proposals are having their LMFDB claims verified already; retry with the same client_request_id`));
      return;
    }
    this.certifying++;
    certifier.certify(command, sources).then(
      (certified) => {
        this.certifying--;
        if (!this.stopped) this.arrive(certified);
      },
      (e: unknown) => {
        this.certifying--;
        if (this.stopped) return;
        // Chosen before (through another proposer, maybe not learned here yet): its first slot is
        // the answer, whatever the verdicts say now.
        const answer = () => {
          if (this.stopped) return;
          const known = this.deps.chosen.result(command.clientRequestId);
          if (known) this.answerKnown(known);
          else this.fail(command.clientRequestId, e);
        };
        const final = e instanceof GrpcError && e.code === status.FAILED_PRECONDITION;
        if (final && this.deps.learnChosen) this.deps.learnChosen().then(answer, answer);
        else answer();
      },
    );
  }

  /** Stops waiting for a client (its deadline passed); the command stays in the core and may still be chosen. */
  abandon(clientRequestId: string, token: object): void {
    // Matched by the token given to propose(): the waiter's resolve is the promise's own, never the caller's callback.
    const list = this.waiters.get(clientRequestId);
    const w = list?.get(token);
    if (!list || !w) return;
    list.delete(token);
    this.waitingBytes -= w.counted;
    if (list.size === 0) this.waiters.delete(clientRequestId);
  }

  /** The chosen log is learned: held commands it does not hold go on (certified, then to the core). */
  becomeReady(): void {
    this.isReady = true;
    const held = this.held;
    this.held = [];
    for (const c of held) {
      const known = this.deps.chosen.result(c.clientRequestId);
      if (known) this.answerKnown(known);
      else this.admit(c);
    }
  }

  private arrive(command: Command): void {
    this.arriving.push(command);
    if (this.arriving.length === 1) setImmediate(() => this.submitArrivals());
  }

  /**
   * Hands the core every command that arrived in this turn of the event loop at once, so a burst
   * (one read of a ProposeStream, many unary calls) shares a batch. A command already in the log
   * (chosen while it waited, or before a restart) is answered with its first slot instead.
   */
  private submitArrivals(): void {
    const arrived = this.arriving;
    this.arriving = [];
    if (this.stopped || arrived.length === 0) return;
    const commands: Command[] = [];
    for (const c of arrived) {
      const known = this.deps.chosen.result(c.clientRequestId);
      if (known) this.answerKnown(known);
      else commands.push(c);
    }
    if (commands.length === 0) return;
    // Admitted before the proposer found it could choose nothing more (being certified, or held while it learned the log).
    const blocked = this.deps.cannotChoose?.();
    if (blocked !== undefined) {
      for (const c of commands) this.fail(c.clientRequestId, blocked);
      return;
    }
    for (const r of this.deps.submit(commands)) this.fail(r.command.clientRequestId, new GrpcError(status.RESOURCE_EXHAUSTED, r.reason));
  }

  /**
   * Ids that took effect for the first time: their waiters hear the slot (`votes` of the round
   * that chose it), or ALREADY_EXISTS if they sent other bytes than took effect (another value
   * for the id won, through this proposer or another). `ownSlot` says which slots hold a value
   * this proposer built: an id that took effect in another one was sent elsewhere first (a retry
   * through this proposer of a command another chose), so its waiters hear a duplicate.
   */
  delivered<R extends ChosenResult>(results: readonly R[], votesOf: (r: R) => readonly AcceptorVote[], ownSlot: (slot: bigint) => boolean = () => true): void {
    for (const r of results) {
      this.forget(r.clientRequestId);
      const list = this.takeWaiters(r.clientRequestId);
      if (!list) continue;
      const took = (r as Partial<LearnedResult>).data;
      const tookType = (r as Partial<LearnedResult>).contentType;
      const votes = votesOf(r);
      const harmonic = (r as Partial<LearnedResult>).harmonic;
      let answered = ownSlot(r.slot) ? 0 : 1;
      for (const w of list) {
        const reused =
          took === undefined
            ? this.reusedIdError(r, w)
            : Buffer.compare(took, w.data) !== 0
              ? this.tookOtherBytes(r)
              : tookType !== undefined && tookType !== w.contentType
                ? this.tookOtherContentType(r, tookType)
                : undefined;
        if (reused) w.reject(reused);
        else if (harmonic?.kind === 'refused') w.reject(registryRefused(r.slot, harmonic.reason));
        else w.resolve({ ...r, duplicate: answered++ > 0, votes });
      }
    }
  }

  /**
   * Waiters of ids the state now holds (a state snapshot was installed): told where each took
   * effect. Ids in flight that the state holds leave too, waited for or not: no delivery names an
   * id that took effect below the snapshot (the core's copy, chosen again, is a duplicate), and an
   * id whose callers all left (their deadlines passed) would otherwise count its bytes for good.
   */
  answerSettled(): void {
    for (const id of [...this.inCore.keys()]) if (!this.waiters.has(id) && this.deps.chosen.result(id)) this.forget(id);
    for (const id of [...this.waiters.keys()]) {
      const known = this.deps.chosen.result(id);
      if (!known) continue;
      // The id took effect before this proposer could learn of it: each waiter hears a duplicate
      // (or ALREADY_EXISTS, for other bytes than took effect).
      const list = this.takeWaiters(id) ?? [];
      this.forget(id);
      this.answerWaiters(known, list);
    }
  }

  /** The core gave the command up (refused by the acceptors' checks, or over a bound). */
  fail(clientRequestId: string, err: unknown): void {
    const value = this.inCore.get(clientRequestId);
    this.forget(clientRequestId);
    const list = this.takeWaiters(clientRequestId);
    if (!list) return;
    for (const w of list) {
      // A caller that sent other bytes under the id hears that the value in flight failed, not
      // that its own did (its claims, say, were never checked here): it may retry.
      if (value !== undefined && !sameValue(w, value)) {
        const why = err instanceof Error ? err.message : String(err);
        w.reject(
          new GrpcError(
            status.UNAVAILABLE,
            `another value under client_request_id ${JSON.stringify(clientRequestId)} was in flight here and was not chosen (${why.slice(0, 200)}); retry with the same client_request_id`,
          ),
        );
      } else w.reject(err);
    }
  }

  /** Tells the waiters of an id an error; the command stays in the core (a retry with the same id waits for it). */
  tell(clientRequestId: string, err: unknown): void {
    const list = this.takeWaiters(clientRequestId);
    if (!list) return;
    for (const w of list) w.reject(err);
  }

  private answerKnown(known: ChosenResult): void {
    this.forget(known.clientRequestId);
    const list = this.takeWaiters(known.clientRequestId);
    if (!list) return;
    this.answerWaiters(known, list);
  }

  /** The id's waiters, no longer waiting (their bytes given back). */
  private takeWaiters(id: string): Waiter[] | undefined {
    const waiting = this.waiters.get(id);
    if (!waiting) return undefined;
    this.waiters.delete(id);
    const list = [...waiting.values()];
    for (const w of list) this.waitingBytes -= w.counted;
    return list;
  }

  /** Each waiter of an id that took effect before: a duplicate of it, or ALREADY_EXISTS for other bytes. */
  private answerWaiters(known: ChosenResult, list: readonly Waiter[]): void {
    for (const w of list) {
      const refused = this.reusedIdError(known, w) ?? this.registryRefusal(known, w);
      if (refused) w.reject(refused);
      else w.resolve({ ...known, duplicate: true, votes: [] });
    }
  }

  /** A Monster Harmonic proposal that took effect but that the registry refused (its number was taken first, through another proposer, say): told so on every answer. */
  private registryRefusal(known: ChosenResult, command: { readonly contentType: string; readonly data: Uint8Array }): GrpcError | undefined {
    const reason = this.deps.chosen.harmonicRefusal(known.slot, { clientRequestId: known.clientRequestId, contentType: command.contentType, data: command.data });
    return reason === undefined ? undefined : registryRefused(known.slot, reason);
  }

  /** A client_request_id that took effect with another value (other bytes, or another content type) cannot name this command too. */
  private reusedIdError(known: ChosenResult, value: InFlightValue): GrpcError | undefined {
    if (known.valueDigest !== undefined && this.deps.chosen.digest(value.data) !== known.valueDigest) return this.tookOtherBytes(known);
    if (known.contentType !== undefined && known.contentType !== value.contentType) return this.tookOtherContentType(known, known.contentType);
    // Without a digest (an id that took effect below a snapshot installed from an acceptor) its value key tells.
    if (known.valueDigest === undefined && known.valueKey !== undefined && sessionValueKey(value.contentType, value.data) !== known.valueKey) return this.tookOtherBytes(known);
    return undefined;
  }

  private tookOtherBytes(known: ChosenResult): GrpcError {
    return new GrpcError(
      status.ALREADY_EXISTS,
      `client_request_id ${JSON.stringify(known.clientRequestId)} already took effect in slot ${known.slot} with another value${known.valueDigest !== undefined ? ` (sha256 ${known.valueDigest})` : ''}; use a new id for a new value`,
    );
  }

  /**
   * The same bytes under another content type: said as such. The generic answer would name the
   * first value by its sha256, which is that of the caller's own bytes, and leave it looking for a
   * difference in bytes there is none of.
   */
  private tookOtherContentType(known: ChosenResult, contentType: string): GrpcError {
    return new GrpcError(
      status.ALREADY_EXISTS,
      `client_request_id ${JSON.stringify(known.clientRequestId)} already took effect in slot ${known.slot} with these bytes under another content type (${JSON.stringify(contentType)}); use a new id for a new value`,
    );
  }

  stop(): void {
    this.stopped = true;
    for (const [id, ws] of this.waiters) for (const w of ws.values()) w.reject(new GrpcError(status.UNAVAILABLE, `proposer shutting down before ${id} was chosen`));
    this.waiters.clear();
    this.waitingBytes = 0;
  }
}
