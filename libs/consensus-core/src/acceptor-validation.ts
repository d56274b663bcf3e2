import { ballotProblem } from './ballot';
import type { Limits } from './limits';
import type { AcceptorRequest } from './acceptor-types';
import { slotValueBytes, type SlotValue } from './value';

function slotProblem(slot: bigint, limits: Limits, name: string): string | undefined {
  if (typeof slot !== 'bigint') return `${name} must be an integer`;
  if (slot < 0n) return `${name} must be >= 0 (got ${slot})`;
  if (slot > limits.slotMax) return `${name} ${slot} is above the maximum ${limits.slotMax}`;
  return undefined;
}

export function valueProblem(value: SlotValue, limits: Limits): string | undefined {
  if (value === null || typeof value !== 'object') return 'value is missing';
  if (value.kind === 'noop') return undefined;
  if (value.kind !== 'batch' || !Array.isArray(value.commands)) return 'value must be a noop or a batch';
  if (value.commands.length === 0) return 'an empty batch is not a value (use a noop)';
  for (const c of value.commands) {
    if (typeof c.clientRequestId !== 'string' || c.clientRequestId.length === 0) return 'a command needs a client request id';
    if (typeof c.contentType !== 'string') return 'a command needs a content type';
    if (!(c.data instanceof Uint8Array)) return 'command data must be bytes';
    if (c.verifiedBy !== undefined && c.verifiedBy.length > limits.verifiersMax) {
      return `command ${c.clientRequestId} names ${c.verifiedBy.length} verifying acceptors, the limit is ${limits.verifiersMax}`;
    }
  }
  const bytes = slotValueBytes(value);
  if (bytes > limits.valueBytesMax) return `value of ${bytes} bytes is above the maximum ${limits.valueBytesMax}`;
  return undefined;
}

/** Why a request is malformed or out of range (INVALID_ARGUMENT), or undefined when it is fine. */
export function requestProblem(req: AcceptorRequest, limits: Limits): string | undefined {
  switch (req.type) {
    case 'prepare':
      return ballotProblem(req.ballot) ?? slotProblem(req.fromSlot, limits, 'fromSlot');
    case 'accept':
      return ballotProblem(req.ballot) ?? slotProblem(req.slot, limits, 'slot') ?? valueProblem(req.value, limits);
    case 'commit':
      return (
        ballotProblem(req.ballot) ??
        slotProblem(req.slot, limits, 'slot') ??
        (req.value === undefined ? undefined : valueProblem(req.value, limits))
      );
    default:
      return `unknown request type ${String((req as { type?: unknown }).type)}`;
  }
}
