// A request whose protobuf does not decode is bad input: INVALID_ARGUMENT naming the method and
// what is wrong, as DESIGN section 8 promises. grpc-js answers a deserializer that throws with
// INTERNAL "Error deserializing request" (a server fault, to a client). So each method's
// deserializer returns the failure as a value instead, and a server interceptor ends the call
// with INVALID_ARGUMENT when one arrives, before any handler sees it (unary and streams alike).
import {
  Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerListenerBuilder,
  type ServiceDefinition,
  status,
} from '@grpc/grpc-js';

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

/** The service definition with each method's request deserializer returning failures as UndecodableRequest. */
export function withUndecodableAsValue(definition: ServiceDefinition): ServiceDefinition {
  const out: Record<string, ServiceDefinition[string]> = {};
  for (const [name, method] of Object.entries(definition)) {
    const deserialize = method.requestDeserialize;
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
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
                call.sendStatus({ code: status.INVALID_ARGUMENT, details: message.details, metadata: new Metadata() });
                return;
              }
              pass(message);
            })
            .build(),
        ),
      )
      .build(),
  );
