/** One client command; `clientRequestId` is what the application deduplicates on. */
export interface Command {
  readonly clientRequestId: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  /**
   * The acceptors that verified the command's LMFDB claims before it was proposed (a certificate,
   * part of the value like its bytes); absent or empty for a command without claims. Not counted
   * by the byte bounds: its length is bounded by the number of acceptors.
   */
  readonly verifiedBy?: readonly number[];
}

/**
 * What a slot holds: a no-op (hole filler) or a batch of client commands. `origin` names the
 * proposer run that built the batch (ProposerConfig.origin; absent: not said): part of the value,
 * so that two proposers never build equal values from a command and its retry.
 */
export type SlotValue = { readonly kind: 'noop' } | { readonly kind: 'batch'; readonly commands: readonly Command[]; readonly origin?: bigint };

export const NOOP: SlotValue = Object.freeze({ kind: 'noop' as const });

export function commandBytes(c: Command): number {
  return c.data.length + c.clientRequestId.length + c.contentType.length;
}

/** Bytes a string takes in UTF-8, as protobuf sends it (a lone surrogate as U+FFFD's three). */
function utf8Bytes(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Protobuf's framing of one command in a batch: the tags and length prefixes of the command, its
 * id, its value message, content type, data and certificate (at most 4 bytes of lengths each).
 */
const COMMAND_FRAMING_BYTES = 24;
/** A certificate's acceptor id as a varint: at most 5 bytes. */
const VERIFIER_WIRE_BYTES = 5;

/**
 * What a command takes on the wire: commandBytes with the strings in UTF-8 bytes instead of UTF-16
 * units (the same for ASCII, up to three times as much otherwise), with protobuf's framing and its
 * certificate, never less than commandBytes. Batches are cut by it: cut by commandBytes, 256
 * commands with 256-character CJK ids and content types made a 1 MiB value an accept of 1.3 MB,
 * past the acceptors' receive bound (their value bound plus 64 KiB), refused on every retry; and
 * the framing alone, some 16 to 70 bytes a command uncounted, passed that margin from about a
 * thousand tiny commands a batch (--batch-commands goes to 100,000).
 */
export function commandWireBytes(c: Command): number {
  return c.data.length + utf8Bytes(c.clientRequestId) + utf8Bytes(c.contentType) + COMMAND_FRAMING_BYTES + VERIFIER_WIRE_BYTES * (c.verifiedBy?.length ?? 0);
}

/** Size used by the bounds: sum of data lengths plus id and content-type lengths. */
export function slotValueBytes(v: SlotValue): number {
  if (v.kind === 'noop') return 0;
  let total = 0;
  for (const c of v.commands) total += commandBytes(c);
  return total;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex(data: Uint8Array): string {
  let out = '';
  for (let i = 0; i < data.length; i++) out += HEX[data[i]];
  return out;
}

export function commandKey(c: Command): string {
  const key = `${JSON.stringify(c.clientRequestId)}:${JSON.stringify(c.contentType)}:${hex(c.data)}`;
  return c.verifiedBy?.length ? `${key}:${c.verifiedBy.join('.')}` : key;
}

function sameVerifiers(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Canonical identity string of a value: equal keys iff equal values. */
export function slotValueKey(v: SlotValue): string {
  if (v.kind === 'noop') return 'noop';
  const commands = `batch[${v.commands.map(commandKey).join(',')}]`;
  return v.origin === undefined ? commands : `${commands}@${v.origin}`;
}

export function slotValuesEqual(a: SlotValue, b: SlotValue): boolean {
  if (a === b) return true;
  if (a.kind !== b.kind) return false;
  if (a.kind === 'noop' || b.kind === 'noop') return true;
  if (a.origin !== b.origin || a.commands.length !== b.commands.length) return false;
  for (let i = 0; i < a.commands.length; i++) {
    const x = a.commands[i];
    const y = b.commands[i];
    if (x === y) continue;
    if (x.clientRequestId !== y.clientRequestId || x.contentType !== y.contentType) return false;
    if (!sameVerifiers(x.verifiedBy, y.verifiedBy)) return false;
    if (x.data.length !== y.data.length) return false;
    for (let j = 0; j < x.data.length; j++) if (x.data[j] !== y.data[j]) return false;
  }
  return true;
}

export function batchOf(commands: readonly Command[], origin?: bigint): SlotValue {
  return origin === undefined ? { kind: 'batch', commands } : { kind: 'batch', commands, origin };
}
