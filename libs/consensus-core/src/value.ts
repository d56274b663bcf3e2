/** One client command; `clientRequestId` is what the application deduplicates on. */
export interface Command {
  readonly clientRequestId: string;
  readonly contentType: string;
  readonly data: Uint8Array;
}

/** What a slot holds: a no-op (hole filler) or a batch of client commands. */
export type SlotValue = { readonly kind: 'noop' } | { readonly kind: 'batch'; readonly commands: readonly Command[] };

export const NOOP: SlotValue = Object.freeze({ kind: 'noop' as const });

export function commandBytes(c: Command): number {
  return c.data.length + c.clientRequestId.length + c.contentType.length;
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
  return `${JSON.stringify(c.clientRequestId)}:${JSON.stringify(c.contentType)}:${hex(c.data)}`;
}

/** Canonical identity string of a value: equal keys iff equal values. */
export function slotValueKey(v: SlotValue): string {
  if (v.kind === 'noop') return 'noop';
  return `batch[${v.commands.map(commandKey).join(',')}]`;
}

export function slotValuesEqual(a: SlotValue, b: SlotValue): boolean {
  if (a === b) return true;
  if (a.kind !== b.kind) return false;
  if (a.kind === 'noop' || b.kind === 'noop') return true;
  if (a.commands.length !== b.commands.length) return false;
  for (let i = 0; i < a.commands.length; i++) {
    const x = a.commands[i];
    const y = b.commands[i];
    if (x === y) continue;
    if (x.clientRequestId !== y.clientRequestId || x.contentType !== y.contentType) return false;
    if (x.data.length !== y.data.length) return false;
    for (let j = 0; j < x.data.length; j++) if (x.data[j] !== y.data[j]) return false;
  }
  return true;
}

export function batchOf(commands: readonly Command[]): SlotValue {
  return { kind: 'batch', commands };
}
