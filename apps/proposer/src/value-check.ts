import { status } from '@grpc/grpc-js';
import { type Command, commandBytes } from '@paxos/consensus-core';
import { type ClaimVerdict, GrpcError, TokenBucket } from '@paxos/grpc-kit';
import type { SourceCache } from '@paxos/lmfdb-client';
import type { LeaderboardEntry, MonsterHarmonicProposal, Value } from '@paxos/proto';
import { checkProposalClaims, contentKind, formatCharacterIn, hasControlCharacter, validateProposalValue } from '@paxos/proposal';

/**
 * Time LMFDB claim checks may take on the proposer's event loop: refilled at this many ms a
 * second, up to the burst (a quarter of a core). A proposal's checks start while any time is
 * left and are not cut short, so the share is passed by at most one proposal's checks: 64 claims
 * of anlist:1000 take about 200 ms on an idle machine and 300 ms were measured on a loaded one,
 * the longest the event loop then stops for them.
 */
export const CLAIM_CHECK_MS_PER_SECOND = 250;
export const CLAIM_CHECK_MS_BURST = 1000;

/**
 * Unicode's default-ignorable code points that are not format (Cf) characters: the combining
 * grapheme joiner, the Hangul fillers, the Khmer inherent vowels, the Mongolian variation
 * selectors, the variation selectors and the code points reserved as default-ignorable (Unicode
 * 17, DerivedCoreProperties.txt less Cf). A renderer draws none of them, or draws a blank, so
 * "pay" + U+034F + "ment" reads as "payment" in `read -- log` and on the status page, as "r1" +
 * U+200B reads as "r1". Written out for the reason formatCharacterIn's table is. A rule of the
 * proposer's for ids and content types only (framework names are the state machine's rule).
 */
const IGNORABLE_CHARACTERS: ReadonlyArray<readonly [number, number]> = [
  [0x34f, 0x34f], [0x115f, 0x1160], [0x17b4, 0x17b5], [0x180b, 0x180d], [0x180f, 0x180f], [0x2065, 0x2065], [0x3164, 0x3164],
  [0xfe00, 0xfe0f], [0xffa0, 0xffa0], [0xfff0, 0xfff8], [0xe0000, 0xe0000], [0xe0002, 0xe001f], [0xe0080, 0xe0fff],
];

/** The first invisible character of the text (a format character or another default-ignorable one), as U+XXXX, or undefined. */
function invisibleCharacterIn(text: string): string | undefined {
  const format = formatCharacterIn(text);
  if (format !== undefined) return format;
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    if (c < 0x34f) continue;
    if (IGNORABLE_CHARACTERS.some(([lo, hi]) => c >= lo && c <= hi)) return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return undefined;
}

/** Longest client request id accepted. */
const CLIENT_REQUEST_ID_CHARS_MAX = 256;
const CONTENT_TYPE_CHARS_MAX = 256;

/** The proposal that took effect under a number, in this proposer's applied state (undefined: none, or no longer known in full). */
export type ProposalTaken = (proposalNumber: bigint) => { readonly slot: bigint; readonly clientRequestId: string } | undefined;

/**
 * Whether a client_request_id took effect, in this proposer's applied state: undefined while the
 * proposer is still learning the chosen log (it cannot tell yet).
 */
export type IdTaken = (clientRequestId: string) => boolean | undefined;

/**
 * IdTaken from the chosen log learned so far: an id it holds took effect (its first slot is the
 * same in any longer log, as the client gateway answers it while learning too); one it does not
 * hold cannot be told absent until the log is learned (undefined while `learning()`).
 */
export function learnedIdTaken(learning: () => boolean, learned: (clientRequestId: string) => unknown): IdTaken {
  return (id) => (learned(id) !== undefined ? true : learning() ? undefined : false);
}

/**
 * Refuses, before any acceptor sees it, a value that is malformed (INVALID_ARGUMENT) or that does
 * not check out (FAILED_PRECONDITION): a Monster Harmonic proposal whose hash does not match its
 * leaderboard, whose LMFDB claim is false or cannot be verified here, or whose number a proposal
 * of another client_request_id already took (the registry would refuse it once chosen).
 */
export class ValueChecker {
  /** Milliseconds claim checks may take (see CLAIM_CHECK_MS_PER_SECOND). */
  private readonly claimTime: TokenBucket;

  constructor(
    private readonly maxValueBytes: number,
    private readonly source: (n: number) => SourceCache | undefined,
    private readonly onVerdict?: (verdict: ClaimVerdict) => void,
    /** The clock claim checks are timed with (ms; tests give their own). */
    private readonly now: () => number = () => performance.now(),
    private readonly proposalTaken: ProposalTaken = () => undefined,
    private readonly idTaken: IdTaken = () => false,
  ) {
    this.claimTime = new TokenBucket(CLAIM_CHECK_MS_PER_SECOND, CLAIM_CHECK_MS_BURST, now);
  }

  check(clientRequestId: string, value: Value | undefined): Command {
    if (!clientRequestId) throw new GrpcError(status.INVALID_ARGUMENT, 'client_request_id is empty: give every proposal an id, and reuse it only to retry');
    // Characters as a person counts them (code points: an emoji is one), not UTF-16 units.
    if (clientRequestId.length > CLIENT_REQUEST_ID_CHARS_MAX) {
      const chars = clientRequestId.length > 4 * CLIENT_REQUEST_ID_CHARS_MAX ? undefined : [...clientRequestId].length;
      if (chars === undefined || chars > CLIENT_REQUEST_ID_CHARS_MAX) {
        throw new GrpcError(status.INVALID_ARGUMENT, `client_request_id is ${chars ?? `more than ${CLIENT_REQUEST_ID_CHARS_MAX}`} characters, the limit is ${CLIENT_REQUEST_ID_CHARS_MAX}`);
      }
    }
    // protobuf decoding turns bytes that are not UTF-8 into U+FFFD, so two different ids could
    // read as one: an id holding U+FFFD is refused rather than risk that.
    if (clientRequestId.includes('\uFFFD')) {
      throw new GrpcError(status.INVALID_ARGUMENT, 'client_request_id is not valid UTF-8 (or holds U+FFFD, the replacement character): use printable text');
    }
    // The id is printed by the operator tools and logged: a newline in it forged a line of
    // `read log`, ESC, C1 and bidi characters reached JSON logs as they are.
    if (hasControlCharacter(clientRequestId)) {
      throw new GrpcError(status.INVALID_ARGUMENT, 'client_request_id holds a control, line-separator or text-direction character: use printable text');
    }
    if (!value) throw new GrpcError(status.INVALID_ARGUMENT, 'value is missing');
    if (!value.contentType) throw new GrpcError(status.INVALID_ARGUMENT, 'value.content_type is empty (e.g. "text/plain" or the Monster Harmonic type)');
    if (value.contentType.length > CONTENT_TYPE_CHARS_MAX) throw new GrpcError(status.INVALID_ARGUMENT, `value.content_type is longer than ${CONTENT_TYPE_CHARS_MAX} characters`);
    // Invisible format characters (Unicode Cf: the text-direction marks U+200E, U+200F and U+061C,
    // the zero-width space, a BOM): "r1" and "r1" + U+200B read alike in `read -- log` and on the
    // status page, and the marks reorder what is shown; so do the other default-ignorable code
    // points (IGNORABLE_CHARACTERS). Refused as in a framework name, but for a
    // retry of an id that took effect with one (from a build that took them): it is answered with
    // its slot. Looked for once both texts are within their bounds: a content type of the whole
    // 4 MiB message, scanned a code point at a time, took 100 to 200 ms of the event loop a call.
    const inId = invisibleCharacterIn(clientRequestId);
    const inType = inId === undefined ? invisibleCharacterIn(value.contentType) : undefined;
    if (inId !== undefined) this.refuseInvisible(clientRequestId, inId, 'client_request_id');
    else if (inType !== undefined) this.refuseInvisible(clientRequestId, inType, 'value.content_type');
    // A media type holds no controls but the tab (RFC 7230 quoted-string and whitespace); a quoted
    // parameter could carry a newline into the tools' output.
    if (hasControlCharacter(value.contentType.replace(/\t/g, ' '))) {
      throw new GrpcError(status.INVALID_ARGUMENT, 'value.content_type holds a control, line-separator or text-direction character');
    }
    // Measured as the core and the acceptors measure it (data, id and content type together), so
    // a value that passes here is never refused later for its size.
    const bytes = commandBytes({ clientRequestId, contentType: value.contentType, data: value.data });
    if (bytes > this.maxValueBytes) {
      throw new GrpcError(
        status.INVALID_ARGUMENT,
        `value is ${value.data.length} bytes, ${bytes} with its client_request_id and content_type, which together may hold at most ${this.maxValueBytes}`,
      );
    }
    const kind = contentKind(value.contentType);
    if (kind.kind === 'invalid') throw new GrpcError(status.INVALID_ARGUMENT, kind.reason);
    if (kind.kind === 'harmonic') {
      const checked = validateProposalValue(value.contentType, value.data);
      if (!checked.ok) throw new GrpcError(checked.code === 'INVALID_ARGUMENT' ? status.INVALID_ARGUMENT : status.FAILED_PRECONDITION, checked.reason);
      // Chosen, it would take no effect: the registry keeps the first proposal of each number.
      // (A retry of the proposal that took it goes on, to be answered as a duplicate. The
      // applied state may lag another proposer's writes: the registry still decides the same way
      // on every node, and a proposal that passes here and is refused there is in the log as such.)
      // An id that took effect itself is answered from the sessions, whatever number it carries
      // now: its slot, or ALREADY_EXISTS for other bytes, as a proposer that has not applied the
      // number's slot yet answers it (refused here, the same request had FAILED_PRECONDITION
      // naming another id's slot at one proposer and ALREADY_EXISTS at the other). While the log
      // is being learned that cannot be told yet.
      const taken = this.proposalTaken(checked.proposal.proposalNumber);
      if (taken && taken.clientRequestId !== clientRequestId) {
        const idTaken = this.idTaken(clientRequestId);
        if (idTaken === undefined) {
          throw new GrpcError(
            status.UNAVAILABLE,
            `the proposer is still learning the chosen log: proposal ${checked.proposal.proposalNumber} took effect under another client_request_id, and whether this one took effect before cannot be told yet; retry shortly with the same client_request_id`,
          );
        }
        if (!idTaken) {
          throw new GrpcError(
            status.FAILED_PRECONDITION,
            `proposal ${checked.proposal.proposalNumber} already took effect in slot ${taken.slot} (client_request_id ${JSON.stringify(taken.clientRequestId)}): each number is used once; submit it under a new number`,
          );
        }
      }
      // A retry of the proposal that took effect, or of an id that did (its proposal refused by
      // the registry, the number taken first), is answered with its slot, whatever an older build
      // let its names be.
      const retry = taken?.clientRequestId === clientRequestId || this.idTaken(clientRequestId) === true;
      const spelled = retry ? undefined : frameworkNotComposed(checked.proposal.leaderboard);
      if (spelled !== undefined) throw new GrpcError(status.INVALID_ARGUMENT, spelled);
      // A retry of an id that took effect is answered from the sessions, never proposed: its
      // claims are not checked again (they held when it was chosen), so neither a spent share of
      // claim time nor a source this proposer has not loaded keeps it from its slot.
      if (checked.proposal.claims.length > 0 && this.idTaken(clientRequestId) !== true) this.checkClaims(checked.proposal);
    }
    return { clientRequestId, contentType: value.contentType, data: value.data };
  }

  /** Throws for an id or content type holding an invisible format character, unless the id took effect already (a retry). */
  private refuseInvisible(clientRequestId: string, character: string, field: string): void {
    const taken = this.idTaken(clientRequestId);
    if (taken === true) return;
    if (taken === undefined) {
      throw new GrpcError(status.UNAVAILABLE, `the proposer is still learning the chosen log: it cannot yet tell whether this ${field}, which holds ${character}, took effect before; retry shortly with the same client_request_id`);
    }
    throw new GrpcError(status.INVALID_ARGUMENT, `${field} holds ${character}, an invisible format character (Unicode Cf: zero-width, text-direction marks) or another one Unicode says to draw as nothing (variation selectors, the combining grapheme joiner, Hangul fillers): an id that reads like another would be another id; use printable text`);
  }

  /**
   * The proposal's claims checked, within the time claim checks may take: computed claims (a_p,
   * a_1..a_n, modular curves) cost milliseconds each on the event loop that drives rounds, so a
   * client sending many could stop the proposer; past its share a proposal with claims is
   * RESOURCE_EXHAUSTED at once.
   */
  private checkClaims(proposal: MonsterHarmonicProposal): void {
    if (this.claimTime.available <= 0) {
      throw new GrpcError(
        status.RESOURCE_EXHAUSTED,
        `LMFDB claim checks have taken their share of this proposer's time (${CLAIM_CHECK_MS_PER_SECOND} ms a second): retry shortly with the same client_request_id, or send fewer claims at once`,
      );
    }
    const t = this.now();
    try {
      const unloaded = new Set<number>();
      const lookup = (n: number) => {
        const cache = this.source(n);
        if (cache === undefined) unloaded.add(n);
        return cache;
      };
      const claims = checkProposalClaims(proposal, lookup, { requireAll: true, ...(this.onVerdict ? { onVerdict: this.onVerdict } : {}) });
      if (!claims.ok && claims.result.verdict === 'unknown' && unloaded.has(claims.claim.source)) {
        // This proposer's want, not the claim's fault: the same proposal may pass here later, or at another proposer.
        throw new GrpcError(
          status.UNAVAILABLE,
          `${claims.reason}: this proposer has not loaded LMFDB source ${claims.claim.source} (see its log; \`npm run ingest\` fills the cache, then restart it), so it cannot check the claim; retry later with the same client_request_id`,
        );
      }
      if (!claims.ok) throw new GrpcError(status.FAILED_PRECONDITION, claims.reason);
    } finally {
      this.claimTime.spend(this.now() - t);
    }
  }
}

/**
 * Why a framework name is not in Unicode's composed form (NFC), or undefined. "café" written with
 * U+00E9 and with "e" + U+0301 reads alike and would be two rows of the agreed leaderboard.
 * Checked when a proposer takes a value, not by the registry: whether a string is NFC depends on
 * the Unicode version of the runtime (a character assigned later may decompose), and the registry
 * must decide alike on every node whatever runtime it runs on.
 */
export function frameworkNotComposed(rows: readonly LeaderboardEntry[]): string | undefined {
  for (const [i, row] of rows.entries()) {
    const composed = row.framework.normalize('NFC');
    if (composed !== row.framework) {
      return `leaderboard[${i}].framework "${jsonEscaped(row.framework)}" is not in Unicode's composed form (NFC: a letter and its combining mark written as the one character that exists for them), so it would be another row than the name it reads as: send "${jsonEscaped(composed)}"`;
    }
  }
  return undefined;
}

/** Text as a JSON string body with every character past ASCII escaped, so that the two spellings differ on screen. */
function jsonEscaped(text: string): string {
  return JSON.stringify(text).slice(1, -1).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
