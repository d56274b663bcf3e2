import { createHash } from 'node:crypto';
import type { Command, SlotValue } from '@paxos/consensus-core';
import { type Command as WireCommand, SlotValue as WireSlotValue } from '@paxos/proto';
import { carryEncoding, receivedEncoding } from './slot-value-encoding';
import { WireError } from './wire-error';

/** A Buffer view of the bytes, without copying them. */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export function commandToWire(c: Command): WireCommand {
  return { clientRequestId: c.clientRequestId, value: { contentType: c.contentType, data: asBuffer(c.data) }, verifiedBy: c.verifiedBy ? [...c.verifiedBy] : [] };
}

export function slotValueToWire(v: SlotValue): WireSlotValue {
  if (v.kind === 'noop') return { kind: { $case: 'noop', value: {} } };
  return {
    kind: {
      $case: 'batch',
      value: {
        commands: v.commands.map(commandToWire),
        ...(v.origin !== undefined ? { origin: v.origin } : {}),
      },
    },
  };
}

export function slotValueFromWire(v: WireSlotValue | undefined, field = 'value'): SlotValue {
  switch (v?.kind?.$case) {
    case 'noop':
      return { kind: 'noop' };
    case 'batch': {
      const commands: Command[] = v.kind.value.commands.map((c, i) => {
        if (!c.value) throw new WireError(`${field}.batch.commands[${i}].value is missing`);
        return commandFromWire(c, c.value.data);
      });
      const origin = v.kind.value.origin;
      const value: SlotValue = origin === undefined ? { kind: 'batch', commands } : { kind: 'batch', commands, origin };
      carryEncoding(v, value);
      return value;
    }
    default:
      throw new WireError(`${field} is missing: set noop or batch`);
  }
}

/** A wire command as the core's, with `data` as given (the caller decides whether to copy). */
export function commandFromWire(c: WireCommand, data: Uint8Array): Command {
  const command = { clientRequestId: c.clientRequestId, contentType: c.value?.contentType ?? '', data };
  return c.verifiedBy.length > 0 ? { ...command, verifiedBy: c.verifiedBy } : command;
}

/** The protobuf encoding (paxos.v1.SlotValue) of a value: the bytes it arrived in when known. */
export function encodedSlotValue(value: SlotValue): Uint8Array {
  return receivedEncoding(value) ?? WireSlotValue.encode(slotValueToWire(value)).finish();
}

/** Hex SHA-256 of the value's protobuf encoding: the digest Status and check show. */
export function slotValueDigest(v: SlotValue): string {
  return createHash('sha256').update(encodedSlotValue(v)).digest('hex');
}

/** Hex SHA-256 of a client's value bytes: the digest Propose answers with. */
export function valueBytesDigest(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
