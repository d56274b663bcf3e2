// `npm run check`'s agreement line: do the nodes hold the same chosen value in every slot they
// share? Paxos promises one value per slot; a node that forgot its votes (a data dir restored
// from a backup or emptied) can break that, and nothing else an operator runs would show it.
import { createHash } from 'node:crypto';
import { Metadata, status } from '@grpc/grpc-js';
import { channelCredentials, deadlineAfter, describeGrpcError, isServiceError, serverNameOptions, type Transport } from '@paxos/grpc-kit';
import { type ReadLogRequest, type ReadLogResponse, ReadServiceClient, SlotValue } from '@paxos/proto';
import { READ_RECEIVE_BYTES_MAX } from './probe';

/** ReadLog's page bound: the agreement is compared a page at a time (memory stays bounded). */
export const AGREEMENT_PAGE = 1024;

/** A node whose chosen log is compared: an acceptor, or the proposer. */
export interface LogSource {
  readonly name: string;
  readonly address: string;
  /** Its history starts here (slots below are covered by its state snapshot and not read). */
  readonly firstSlot: bigint;
  /** The acceptor's id, for the advice on a damaged history (absent: not an acceptor of a launched network). */
  readonly node?: number;
}

/** One value held for a slot, and who holds it. */
export interface SlotHolders {
  readonly digest: string;
  readonly holders: readonly string[];
}

export interface LogAgreement {
  /** The compared slots: [fromSlot, toSlot). */
  readonly fromSlot: string;
  readonly toSlot: string;
  /** The nodes that held at least one of the slots (a comparison means something with two). */
  readonly compared: readonly string[];
  /** Nodes left out, with why. */
  readonly skipped: readonly string[];
  /** The first slot two nodes held, so compared (absent when none was): below it, retention left fewer than two copies. */
  readonly comparedFrom?: string;
  /** The network has one acceptor: there is no second log to compare its log with. */
  readonly oneAcceptor?: boolean;
  /** Slots below this one are known chosen (the highest committed index alive) while none is applied yet: nothing to compare until they are. */
  readonly chosenNotApplied?: string;
  /** The first slot where the nodes hold different values (absent when they agree). */
  readonly divergence?: { readonly slot: string; readonly values: readonly SlotHolders[] };
}

/** Per node, its entries of one page as slot -> value digest. */
export type PageDigests = ReadonlyMap<string, ReadonlyMap<bigint, string>>;

/** The first slot in [from, to) where two nodes hold different values (slots a node lacks are not compared). */
export function firstDivergence(pages: PageDigests, from: bigint, to: bigint): { slot: bigint; values: SlotHolders[] } | undefined {
  for (let slot = from; slot < to; slot++) {
    const byDigest = new Map<string, string[]>();
    for (const [name, digests] of pages) {
      const d = digests.get(slot);
      if (d === undefined) continue;
      const holders = byDigest.get(d) ?? [];
      holders.push(name);
      byDigest.set(d, holders);
    }
    if (byDigest.size > 1) {
      const values = [...byDigest].map(([digest, holders]) => ({ digest, holders })).sort((a, b) => b.holders.length - a.holders.length);
      return { slot, values };
    }
  }
  return undefined;
}

/** Hex SHA-256 of each entry's value in its protobuf encoding (an entry without a value is its own digest). */
const digestsOf = (r: ReadLogResponse): Map<bigint, string> => {
  const m = new Map<bigint, string>();
  for (const e of r.entries) m.set(e.slot, e.value ? createHash('sha256').update(SlotValue.encode(e.value).finish()).digest('hex') : 'no value');
  return m;
};

/**
 * Compares the chosen values the nodes hold in [fromSlot, toSlot), a page at a time, and stops at
 * the first slot they disagree on. A node that cannot be read is skipped (and named); a node that
 * has not applied a slot, or keeps no history of it, is compared on the slots it has.
 */
export async function compareLogs(sources: readonly LogSource[], fromSlot: bigint, toSlot: bigint, deadlineMs: number, transport: Transport): Promise<LogAgreement> {
  // One connection per node for every page (a whole-history audit reads hundreds of pages).
  const clients = new Map(sources.map((s) => [s.name, new ReadServiceClient(s.address, channelCredentials(transport), { ...serverNameOptions(transport, s.address), 'grpc.max_receive_message_length': READ_RECEIVE_BYTES_MAX })]));
  const readLog = (s: LogSource, request: ReadLogRequest) =>
    new Promise<ReadLogResponse>((resolve, reject) => {
      clients.get(s.name)?.readLog(request, new Metadata(), { deadline: deadlineAfter(deadlineMs) }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  try {
    return await compareWith(sources, fromSlot, toSlot, readLog);
  } finally {
    for (const c of clients.values()) c.close();
  }
}

async function compareWith(sources: readonly LogSource[], fromSlot: bigint, toSlot: bigint, readLog: (s: LogSource, r: ReadLogRequest) => Promise<ReadLogResponse>): Promise<LogAgreement> {
  const skipped: string[] = [];
  const holding = new Set<string>();
  /** Where a node's history starts now, when retention cut it since the range was read. */
  const cut = new Map<string, bigint>();
  let comparedFrom: bigint | undefined;
  let readable = [...sources];
  const result = (divergence?: LogAgreement['divergence']): LogAgreement => ({
    fromSlot: fromSlot.toString(),
    toSlot: toSlot.toString(),
    compared: sources.filter((s) => holding.has(s.name)).map((s) => s.name),
    skipped,
    ...(comparedFrom !== undefined ? { comparedFrom: comparedFrom.toString() } : {}),
    ...(divergence ? { divergence } : {}),
  });
  for (let page = fromSlot; page < toSlot && readable.length > 1; page += BigInt(AGREEMENT_PAGE)) {
    const end = page + BigInt(AGREEMENT_PAGE) < toSlot ? page + BigInt(AGREEMENT_PAGE) : toSlot;
    const answers = await Promise.all(
      readable.map(async (s) => {
        const first = cut.get(s.name) ?? s.firstSlot;
        const from = first > page ? first : page;
        const digests = new Map<bigint, string>();
        if (from >= end) return { s, digests };
        try {
          // An answer is bounded in bytes too (4 MiB of values on an acceptor): read on from its last
          // entry until the page is covered, or the node has no more.
          for (let at = from; at < end; ) {
            const answer = await readLog(s, { fromSlot: at, maxEntries: Number(end - at) });
            let next = at;
            for (const [slot, d] of digestsOf(answer)) {
              if (slot >= at && slot < end) digests.set(slot, d);
              if (slot >= next) next = slot + 1n;
            }
            if (next === at || answer.appliedSlot <= next) break;
            at = next;
          }
        } catch (e) {
          // OUT_OF_RANGE: retention dropped the slots below a state snapshot since its range was
          // read; it is compared on the slots it still holds (those of the next pages).
          if (!(isServiceError(e) && e.code === status.OUT_OF_RANGE)) {
            // A damaged record in its chosen history: it serves on, but its copy of those slots is
            // gone, and the way back is a rejoin, not a restart.
            const damaged =
              isServiceError(e) && e.code === status.DATA_LOSS
                ? `; its chosen history is damaged (it serves on: read those slots from another node); to mend it, stop it, move its data dir aside and run npm run rejoin -- --node ${s.node ?? 'N'} (README "A damaged acceptor")`
                : '';
            skipped.push(`${s.name}: ${describeGrpcError(e)}${damaged}`);
            return undefined;
          }
          cut.set(s.name, end);
        }
        return { s, digests };
      }),
    );
    const pages = new Map<string, ReadonlyMap<bigint, string>>();
    for (const a of answers) {
      if (!a) continue;
      pages.set(a.s.name, a.digests);
      for (const slot of a.digests.keys()) {
        if (slot >= page && slot < end) {
          holding.add(a.s.name);
          break;
        }
      }
    }
    readable = readable.filter((s) => pages.has(s.name));
    // Bounded: one page of slots, once (until a slot two nodes hold is found).
    for (let slot = page; comparedFrom === undefined && slot < end; slot++) {
      let held = 0;
      for (const d of pages.values()) if (d.has(slot)) held++;
      if (held >= 2) comparedFrom = slot;
    }
    const found = firstDivergence(pages, page, end);
    if (found) return result({ slot: found.slot.toString(), values: found.values });
  }
  return result();
}

const names = (xs: readonly string[]): string => (xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}`);

/** The lines check prints for an agreement. */
export function formatAgreement(a: LogAgreement): string[] {
  const skipped = a.skipped.map((s) => `agreement: not compared: ${s}`);
  const span = `slots ${a.fromSlot}..${BigInt(a.toSlot) - 1n}`;
  if (a.divergence) {
    const held = a.divergence.values.map((v) => `${names(v.holders)} ${v.holders.length === 1 ? 'holds' : 'hold'} ${v.digest.slice(0, 12)}`).join('; ');
    return [
      `agreement: DIVERGED at slot ${a.divergence.slot}: ${held}. Two values chosen for one slot: a node lost votes it gave (a data dir restored or emptied?). Keep every data dir as it is and stop writing (npm run stop); see README "A damaged acceptor"`,
      ...skipped,
    ];
  }
  if (a.oneAcceptor === true) return ['agreement: this network has one acceptor: there is no second log to compare its log with', ...skipped];
  if (BigInt(a.fromSlot) >= BigInt(a.toSlot)) {
    // Acceptors apply a chosen slot within half a second of learning it: said, rather than "none chosen".
    if (a.chosenNotApplied !== undefined) return [`agreement: slots below ${a.chosenNotApplied} are chosen but no acceptor has applied them yet, nothing to compare (--settle-ms N waits for them)`, ...skipped];
    return ['agreement: no chosen slot to compare yet', ...skipped];
  }
  if (a.compared.length < 2 || a.comparedFrom === undefined) return [`agreement: fewer than two acceptors could be read for ${span}: nothing compared`, ...skipped];
  const from = BigInt(a.comparedFrom);
  if (from > BigInt(a.fromSlot)) {
    return [
      `agreement: slots ${from}..${BigInt(a.toSlot) - 1n} hold the same values on ${a.compared.length} acceptors (slots ${a.fromSlot}..${from - 1n} were not compared: fewer than two acceptors served them, their histories starting above them under retention)`,
      ...skipped,
    ];
  }
  return [`agreement: ${span} hold the same values on ${a.compared.length} acceptors`, ...skipped];
}
