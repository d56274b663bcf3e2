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

/**
 * What is wrong with the top level of a message's bytes (a field number 0, a wire type above 5, a
 * varint over 10 bytes, a field cut short, groups nested over 100 deep), or undefined. Bounded: each
 * turn consumes one field.
 */
export function wireProblem(bytes: Uint8Array): string | undefined {
  const reader = new BinaryReader(bytes);
  try {
    while (reader.pos < reader.len) {
      const [fieldNo, wireType] = reader.tag();
      const start = reader.pos;
      reader.skip(wireType, fieldNo);
      if (wireType === WireType.Varint && reader.pos - start > VARINT_BYTES_MAX) return `field ${fieldNo}: a varint of ${reader.pos - start} bytes`;
    }
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
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
