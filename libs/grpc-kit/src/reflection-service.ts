import { type ServerDuplexStream, status } from '@grpc/grpc-js';
import { reflectionV1, reflectionV1alpha } from '@paxos/proto';
import type { AnswerBudget } from './answer-budget';
import { DescriptorIndex } from './descriptor-index';
import { GrpcError, toServiceError, wellFormed } from './grpc-errors';
import { printableField } from './printable';
import { StreamFlow } from './stream-flow';

type Request = reflectionV1.ServerReflectionRequest;
type Response = reflectionV1.ServerReflectionResponse;

/** Bound on requests answered per reflection stream (a client walks a few dozen files at most). */
const REQUESTS_PER_STREAM_MAX = 10_000;

/** Services every node serves beside its own (health and reflection). */
const ALWAYS_SERVED = ['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

/**
 * Answers one reflection request from the real descriptors: list_services, file_by_filename and
 * file_containing_symbol return files with their true names and dependencies, as grpcurl needs.
 * `served`: the node's own services; list_services names only those and the ones every node
 * serves (a service listed but not served answers UNIMPLEMENTED). Files and symbols of every
 * descriptor stay available, so `describe` resolves any type a served method uses. Without
 * `served`, every known service is listed.
 */
export function answerReflection(index: DescriptorIndex, request: Request, served?: readonly string[]): Response {
  const base = { validHost: request.host, originalRequest: request };
  const error = (code: status, message: string): Response => ({
    ...base,
    messageResponse: { $case: 'errorResponse', value: { errorCode: code, errorMessage: message } },
  });
  const files = (name: string): Response => ({
    ...base,
    messageResponse: {
      $case: 'fileDescriptorResponse',
      value: { fileDescriptorProto: index.fileWithDependencies(name).map((b) => Buffer.from(b)) },
    },
  });
  const req = request.messageRequest;
  // A name the client sent, as an error message quotes it: cut to 200 characters and printable
  // (grpcurl prints the message; a name of a megabyte came back whole, escape codes and all).
  const quoted = (name: string) => `${printableField(wellFormed(name.slice(0, 200)))}${name.length > 200 ? `... (${name.length} characters)` : ''}`;
  switch (req?.$case) {
    case 'listServices':
      return {
        ...base,
        messageResponse: {
          $case: 'listServicesResponse',
          value: { service: index.services.filter((name) => served === undefined || served.includes(name) || ALWAYS_SERVED.includes(name)).map((name) => ({ name })) },
        },
      };
    case 'fileByFilename':
      return index.hasFile(req.value) ? files(req.value) : error(status.NOT_FOUND, `no file named ${quoted(req.value)}`);
    case 'fileContainingSymbol': {
      const file = index.fileOfSymbol(req.value);
      return file ? files(file) : error(status.NOT_FOUND, `no symbol named ${quoted(req.value)}`);
    }
    case 'fileContainingExtension':
      return error(status.NOT_FOUND, `no extension ${req.value.extensionNumber} of ${quoted(req.value.containingType)}`);
    case 'allExtensionNumbersOfType':
      if (index.isMessage(req.value)) return { ...base, messageResponse: { $case: 'allExtensionNumbersResponse', value: { baseTypeName: req.value, extensionNumber: [] } } };
      return error(status.NOT_FOUND, index.fileOfSymbol(req.value) ? `no message type named ${req.value}: only a message has extension numbers` : `no type named ${quoted(req.value)}`);
    case undefined:
      return error(status.INVALID_ARGUMENT, 'empty reflection request: set one of list_services, file_by_filename, file_containing_symbol');
  }
}

function handler(index: () => DescriptorIndex, served: readonly string[] | undefined, answers: AnswerBudget | undefined) {
  return (call: ServerDuplexStream<Request, Response>) => {
    // One request answered at a time, and with `answers` (the server's budget) the answers a client
    // has not taken count against its share: a file answer is tens of KB, and a client that sends
    // on a thousand streams and reads nothing held every stream's queued answers.
    const flow = new StreamFlow(call, 1, undefined, answers);
    let answered = 0;
    call.on('data', (request: Request) => {
      if (!flow.accepting) return;
      answered += 1;
      if (answered > REQUESTS_PER_STREAM_MAX) {
        flow.fail(toServiceError(new GrpcError(status.RESOURCE_EXHAUSTED, `more than ${REQUESTS_PER_STREAM_MAX} reflection requests on one stream: open another`)));
        return;
      }
      flow.started(1);
      // A client that does not read its answers is not read from either: nothing piles up here.
      flow.answer(answerReflection(index(), request, served), 1);
    });
  };
}

/**
 * Both reflection services (v1 and v1alpha: grpcurl tries v1 first and falls back). The index is
 * built on the first reflection request, so an idle node does not hold it.
 */
export function reflectionServices(served?: readonly string[], makeIndex: () => DescriptorIndex = DescriptorIndex.fromGenerated, answers?: AnswerBudget) {
  let index: DescriptorIndex | undefined;
  const handle = handler(() => (index ??= makeIndex()), served, answers);
  return [
    {
      definition: reflectionV1.ServerReflectionService,
      implementation: { serverReflectionInfo: handle } satisfies reflectionV1.ServerReflectionServer,
    },
    {
      definition: reflectionV1alpha.ServerReflectionService,
      // v1alpha messages have the same fields and numbers as v1.
      implementation: { serverReflectionInfo: handle } as unknown as reflectionV1alpha.ServerReflectionServer,
    },
  ];
}
