import type { FileRegistry } from '@bufbuild/protobuf';
import type { FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { type ServiceError, status } from '@grpc/grpc-js';
import { reflectionV1, reflectionV1alpha } from '@paxos/proto';
import { channelCredentials, INSECURE, serverNameOptions, type Transport } from './tls';
import { deadlineAfter } from './clock';

type Request = reflectionV1.ServerReflectionRequest;
type Response = reflectionV1.ServerReflectionResponse;

/** Bound on reflection round trips while resolving (each file costs at most one). */
const ROUND_TRIPS_MAX = 500;

export interface ResolvedReflection {
  readonly services: readonly string[];
  /** Every file the server sent, resolved against each other: a missing import or type fails. */
  readonly registry: FileRegistry;
  readonly files: readonly string[];
  /** Which reflection version answered ("v1" or "v1alpha"). */
  readonly version: 'v1' | 'v1alpha';
}

/**
 * A strict reflection client, resolving the way grpcurl does: list the services, fetch the file
 * of each symbol, fetch every imported file by name, then build a registry in which every import
 * and every type reference must resolve. A server that sends descriptors without their
 * dependencies fails here, as it fails in grpcurl.
 */
export async function resolveByReflection(address: string, deadlineMs = 5000, transport: Transport = INSECURE): Promise<ResolvedReflection> {
  try {
    return await resolveWith(address, deadlineMs, 'v1', transport);
  } catch (e) {
    if ((e as ServiceError).code === status.UNIMPLEMENTED) return resolveWith(address, deadlineMs, 'v1alpha', transport);
    throw e;
  }
}

async function resolveWith(address: string, deadlineMs: number, version: 'v1' | 'v1alpha', transport: Transport): Promise<ResolvedReflection> {
   
  const { create, createFileRegistry, fromBinary } = require('@bufbuild/protobuf') as typeof import('@bufbuild/protobuf');
  const { FileDescriptorProtoSchema, FileDescriptorSetSchema } = require('@bufbuild/protobuf/wkt') as typeof import('@bufbuild/protobuf/wkt');
   
  const Client = (version === 'v1' ? reflectionV1.ServerReflectionClient : reflectionV1alpha.ServerReflectionClient) as typeof reflectionV1.ServerReflectionClient;
  const client = new Client(address, channelCredentials(transport), serverNameOptions(transport, address));
  const call = client.serverReflectionInfo({ deadline: deadlineAfter(deadlineMs) });
  const waiting: Array<{ resolve: (r: Response) => void; reject: (e: unknown) => void }> = [];
  let failure: unknown;
  call.on('data', (r: Response) => waiting.shift()?.resolve(r));
  call.on('error', (e) => {
    failure = e;
    for (const w of waiting.splice(0)) w.reject(e);
  });
  let trips = 0;
  const ask = (messageRequest: Request['messageRequest']): Promise<Response> => {
    if (failure) return Promise.reject(failure);
    trips += 1;
    if (trips > ROUND_TRIPS_MAX) return Promise.reject(new Error('reflection: too many round trips'));
    return new Promise<Response>((resolve, reject) => {
      waiting.push({ resolve, reject });
      call.write({ host: '', messageRequest });
    });
  };
  try {
    const list = await ask({ $case: 'listServices', value: '' });
    if (list.messageResponse?.$case !== 'listServicesResponse') throw new Error(`reflection: list_services answered ${list.messageResponse?.$case}`);
    const services = list.messageResponse.value.service.map((s) => s.name);
    const files = new Map<string, FileDescriptorProto>();
    const take = (r: Response, what: string) => {
      if (r.messageResponse?.$case === 'errorResponse') throw new Error(`reflection: ${what}: ${r.messageResponse.value.errorMessage}`);
      if (r.messageResponse?.$case !== 'fileDescriptorResponse') throw new Error(`reflection: ${what} answered ${r.messageResponse?.$case}`);
      for (const bytes of r.messageResponse.value.fileDescriptorProto) {
        const file = fromBinary(FileDescriptorProtoSchema, bytes);
        files.set(file.name, file);
      }
    };
    for (const s of services) take(await ask({ $case: 'fileContainingSymbol', value: s }), `symbol ${s}`);
    // Fetch any import the server did not send along, by file name (as grpcurl does).
    for (let missing = missingImports(files); missing.length > 0; missing = missingImports(files)) {
      for (const name of missing) take(await ask({ $case: 'fileByFilename', value: name }), `file ${name}`);
    }
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: importsFirst(files) }));
    for (const s of services) {
      if (!registry.getService(s)) throw new Error(`reflection: service ${s} does not resolve`);
    }
    return { services, registry, files: [...files.keys()].sort(), version };
  } finally {
    call.end();
    client.close();
  }
}

/** Orders files so that every file follows the files it imports. */
function importsFirst(files: Map<string, FileDescriptorProto>): FileDescriptorProto[] {
  const ordered: FileDescriptorProto[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string) => {
    const file = files.get(name);
    if (!file || state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`reflection: import cycle through ${name}`);
    state.set(name, 'visiting');
    for (const d of file.dependency) visit(d);
    state.set(name, 'done');
    ordered.push(file);
  };
  for (const name of [...files.keys()].sort()) visit(name);
  return ordered;
}

function missingImports(files: Map<string, FileDescriptorProto>): string[] {
  const missing = new Set<string>();
  for (const f of files.values()) for (const d of f.dependency) if (!files.has(d)) missing.add(d);
  return [...missing];
}

/** A grpcurl-like text description of a service or message, from a resolved registry. */
export function describeSymbol(registry: FileRegistry, symbol: string): string {
  const service = registry.getService(symbol);
  if (service) {
    const lines = [`${service.typeName} is a service:`, `service ${service.name} {`];
    for (const m of service.methods) {
      const i = m.methodKind === 'client_streaming' || m.methodKind === 'bidi_streaming' ? 'stream ' : '';
      const o = m.methodKind === 'server_streaming' || m.methodKind === 'bidi_streaming' ? 'stream ' : '';
      lines.push(`  rpc ${m.name} ( ${i}.${m.input.typeName} ) returns ( ${o}.${m.output.typeName} );`);
    }
    lines.push('}');
    return lines.join('\n');
  }
  const message = registry.getMessage(symbol);
  if (message) {
    const lines = [`${message.typeName} is a message:`, `message ${message.name} {`];
    for (const f of message.fields) {
      const type = f.fieldKind === 'message' ? `.${f.message.typeName}` : f.fieldKind === 'enum' ? `.${f.enum.typeName}` : f.fieldKind === 'list' ? 'repeated' : f.fieldKind === 'scalar' ? 'scalar' : f.fieldKind;
      lines.push(`  ${type} ${f.name} = ${f.number};`);
    }
    lines.push('}');
    return lines.join('\n');
  }
  const e = registry.getEnum(symbol);
  if (e) return `${e.typeName} is an enum: ${e.values.map((v) => `${v.name} = ${v.number}`).join(', ')}`;
  throw new Error(`symbol not found: ${symbol}`);
}
