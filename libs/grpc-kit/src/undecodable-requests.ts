// A request whose protobuf does not decode is bad input: INVALID_ARGUMENT naming the method and
// what is wrong, as DESIGN section 8 promises. grpc-js answers a deserializer that throws with
// INTERNAL "Error deserializing request" (a server fault, to a client). So each method's
// deserializer returns the failure as a value instead, and a server interceptor ends the call
// with INVALID_ARGUMENT when one arrives, before any handler sees it (unary and streams alike).
// The generated decoders are lenient where the wire format is not (they stop at a field number 0
// and skip varints of any length), so the top level of every request is first checked with
// @bufbuild/protobuf's reader.
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import {
  ResponderBuilder,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerListenerBuilder,
  type ServiceDefinition,
  status,
} from '@grpc/grpc-js';
import { endCall } from './grpc-errors';

/** A request message that did not decode (what the wrapped deserializer returns instead of throwing). */
export class UndecodableRequest {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {}

  get details(): string {
    return `the request to ${this.path} is not a valid protobuf message of its request type (${this.reason}); check the client's .proto against proto/ in this repository`;
  }
}

/** Longest varint of the wire format (a uint64). */
const VARINT_BYTES_MAX = 10;

/** The length varint of a field, exactly (only ever printed: the check compares a float). */
function lengthText(bytes: Uint8Array, start: number, end: number): string {
  let n = 0n;
  for (let i = end - 1; i >= start; i--) n = (n << 7n) | BigInt((bytes[i] as number) & 0x7f);
  return String(n);
}

/** Groups nested in one another that a message may hold (the reader's own bound). */
const GROUP_DEPTH_MAX = 100;

/**
 * What is wrong with the top level of a message's bytes (a field number 0, a wire type above 5, a
 * varint over 10 bytes, a field cut short or longer than the bytes left, groups nested over 100
 * deep), or undefined. Bounded: each turn consumes one field.
 *
 * A length is read here as the 64-bit varint it is: the reader's skip (and the generated
 * decoders) take its low 32 bits, so `0a 83 80 80 80 10 78 79 7a`, field 1 declaring 2^32 + 3
 * bytes, read as the 3 bytes "xyz", and a length of 2^62 as 0.
 */
export function wireProblem(bytes: Uint8Array): string | undefined {
  const reader = new BinaryReader(bytes);
  try {
    while (reader.pos < reader.len) {
      const [fieldNo, wireType] = reader.tag();
      const problem = fieldProblem(reader, bytes, fieldNo, wireType, GROUP_DEPTH_MAX);
      if (problem !== undefined) return problem;
    }
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  return undefined;
}

/** Skips one field whose tag was read, or says what is wrong with it (throws what the reader throws). */
function fieldProblem(reader: BinaryReader, bytes: Uint8Array, fieldNo: number, wireType: WireType, groupsLeft: number): string | undefined {
  const start = reader.pos;
  if (wireType === WireType.LengthDelimited) {
    // A float sum: exact up to 2^53, and any larger length is past the bytes left anyway.
    let length = 0;
    let scale = 1;
    let b = 0x80;
    while (b & 0x80) {
      if (reader.pos >= reader.len) return `field ${fieldNo}: its length is cut short`;
      if (reader.pos - start === VARINT_BYTES_MAX) return `field ${fieldNo}: a length varint over ${VARINT_BYTES_MAX} bytes`;
      b = bytes[reader.pos++] as number;
      length += (b & 0x7f) * scale;
      scale *= 128;
    }
    const left = reader.len - reader.pos;
    if (length > left) return `field ${fieldNo}: declares ${lengthText(bytes, start, reader.pos)} bytes, and ${left} follow`;
    reader.pos += length;
    return undefined;
  }
  if (wireType === WireType.StartGroup) {
    // Walked here rather than by the reader's skip, whose lengths inside a group are 32 bits too.
    if (groupsLeft <= 0) return 'maximum recursion depth reached';
    for (;;) {
      const [innerNo, innerType] = reader.tag();
      if (innerType === WireType.EndGroup) return innerNo === fieldNo ? undefined : 'invalid end group tag';
      const problem = fieldProblem(reader, bytes, innerNo, innerType, groupsLeft - 1);
      if (problem !== undefined) return problem;
    }
  }
  reader.skip(wireType, fieldNo);
  if (wireType === WireType.Varint && reader.pos - start > VARINT_BYTES_MAX) return `field ${fieldNo}: a varint of ${reader.pos - start} bytes`;
  return undefined;
}

/** The service definition with each method's request deserializer returning failures as UndecodableRequest. */
export function withUndecodableAsValue(definition: ServiceDefinition): ServiceDefinition {
  const out: Record<string, ServiceDefinition[string]> = {};
  for (const [name, method] of Object.entries(definition)) {
    const deserialize = method.requestDeserialize;
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        const problem = wireProblem(bytes);
        if (problem !== undefined) return new UndecodableRequest(method.path, problem);
        try {
          return deserialize(bytes);
        } catch (err) {
          return new UndecodableRequest(method.path, err instanceof Error ? err.message : String(err));
        }
      },
    };
  }
  return out as ServiceDefinition;
}

/** Ends a call with INVALID_ARGUMENT when a request message did not decode. */
export const rejectUndecodable: ServerInterceptor = (_method, call: ServerInterceptingCallInterface) =>
  new ServerInterceptingCall(
    call,
    new ResponderBuilder()
      .withStart((next) =>
        next(
          new ServerListenerBuilder()
            .withOnReceiveMessage((message: unknown, pass: (message: unknown) => void) => {
              if (message instanceof UndecodableRequest) {
                endCall(call, status.INVALID_ARGUMENT, message.details);
                return;
              }
              pass(message);
            })
            .build(),
        ),
      )
      .build(),
  );
