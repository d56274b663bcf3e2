// Server reflection as grpcurl (and grpc-go's own reflection) meets it: every fully-qualified name
// the served files declare resolves to the file that declares it, whatever kind of name it is (a
// service, a method, a message, a field, a oneof, an enum, an enum value: `grpcurl describe
// paxos.v1.CONSISTENCY_STALE` asks for the file of an enum value); every file resolves by its name
// with its imports; every message answers all_extension_numbers_of_type; what does not exist is
// NOT_FOUND naming it, and the stream goes on answering after it, on v1 and v1alpha alike.
import * as grpc from '@grpc/grpc-js';
import { createFileRegistry, fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { AcceptorServiceService, FILE_DESCRIPTOR_SET_BASE64, reflectionV1, reflectionV1alpha, ReadServiceService } from '@paxos/proto';
import { DescriptorIndex } from './descriptor-index';
import { createLogger } from './logger';
import { answerReflection } from './reflection-service';
import { type RunningServer, startGrpcServer } from './server';
import { INSECURE } from './tls';

type Request = reflectionV1.ServerReflectionRequest;
type Response = reflectionV1.ServerReflectionResponse;

const logger = createLogger('reflection-spec');
logger.level = 'silent';

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, Buffer.from(FILE_DESCRIPTOR_SET_BASE64, 'base64')));

/** Every fully-qualified name the files declare, with the file that declares it. */
function declaredNames(): Array<readonly [string, string]> {
  const names: Array<readonly [string, string]> = [];
  for (const t of registry) {
    const file = t.file.proto.name;
    if (t.kind === 'extension') continue;
    names.push([t.typeName, file]);
    if (t.kind === 'message') {
      for (const f of t.fields) names.push([`${t.typeName}.${f.name}`, file]);
      for (const o of t.oneofs) names.push([`${t.typeName}.${o.name}`, file]);
    }
    if (t.kind === 'enum') {
      // Enum values are scoped as siblings of their enum (C++ scoping rules), not inside it.
      const scope = t.typeName.includes('.') ? t.typeName.slice(0, t.typeName.lastIndexOf('.') + 1) : '';
      for (const v of t.values) names.push([`${scope}${v.name}`, file]);
    }
    if (t.kind === 'service') for (const m of t.methods) names.push([`${t.typeName}.${m.name}`, file]);
  }
  return names;
}

const ask = (index: DescriptorIndex, messageRequest: Request['messageRequest']) => answerReflection(index, { host: '', messageRequest });
const firstFile = (r: Response): string | undefined =>
  r.messageResponse?.$case === 'fileDescriptorResponse' ? fromBinary(FileDescriptorProtoSchema, r.messageResponse.value.fileDescriptorProto[0] as Uint8Array).name : undefined;

describe('reflection answers every name the served files declare', () => {
  const index = DescriptorIndex.fromGenerated();

  it('resolves each service, method, message, field, oneof, enum and enum value to the file declaring it', () => {
    const names = declaredNames();
    expect(names.map(([n]) => n)).toEqual(expect.arrayContaining(['paxos.v1.CONSISTENCY_STALE', 'paxos.v1.SlotValue.kind', 'grpc.health.v1.HealthCheckResponse.SERVING', 'lmfdb.v1.VERDICT_TRUE']));
    const wrong = names.filter(([name, file]) => firstFile(ask(index, { $case: 'fileContainingSymbol', value: name })) !== file).map(([name, file]) => `${name} (in ${file})`);
    expect(wrong).toEqual([]);
    // A leading dot, as descriptors write type references, names the same symbol.
    expect(firstFile(ask(index, { $case: 'fileContainingSymbol', value: '.paxos.v1.VOTE_OUTCOME_ACCEPTED' }))).toBe('paxos/v1/proposer_service.proto');
  });

  it('resolves every file by its name, with every file it imports, and answers extension numbers for every message', () => {
    for (const file of registry.files) {
      const r = ask(index, { $case: 'fileByFilename', value: file.proto.name });
      expect(r.messageResponse?.$case).toBe('fileDescriptorResponse');
      const sent = r.messageResponse?.$case === 'fileDescriptorResponse' ? r.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name) : [];
      expect(sent[0]).toBe(file.proto.name);
      for (const dep of file.proto.dependency) expect(sent).toContain(dep);
    }
    for (const t of registry) {
      if (t.kind !== 'message') continue;
      expect(ask(index, { $case: 'allExtensionNumbersOfType', value: t.typeName }).messageResponse).toEqual({
        $case: 'allExtensionNumbersResponse',
        value: { baseTypeName: t.typeName, extensionNumber: [] },
      });
    }
  });

  it.each([
    ['an unknown symbol', { $case: 'fileContainingSymbol', value: 'paxos.v1.NoSuchThing' }, /no symbol named paxos\.v1\.NoSuchThing/],
    ['a package name', { $case: 'fileContainingSymbol', value: 'paxos.v1' }, /no symbol named paxos\.v1$/],
    ['an empty symbol', { $case: 'fileContainingSymbol', value: '' }, /no symbol named/],
    ['an unknown file', { $case: 'fileByFilename', value: 'paxos/v1/nothing.proto' }, /no file named paxos\/v1\/nothing\.proto/],
    ['an extension', { $case: 'fileContainingExtension', value: { containingType: 'paxos.v1.Ballot', extensionNumber: 100 } }, /no extension 100 of paxos\.v1\.Ballot/],
    ['the extensions of an unknown type', { $case: 'allExtensionNumbersOfType', value: 'paxos.v1.Nope' }, /no type named paxos\.v1\.Nope/],
    ['a symbol of a megabyte, cut to 200 characters', { $case: 'fileContainingSymbol', value: 'x'.repeat(1 << 20) }, /^no symbol named x{200}\.\.\. \(1048576 characters\)$/],
    ['a file name with escape codes, written visible', { $case: 'fileByFilename', value: 'a\u001b[2Jb\n.proto' }, /^no file named a\\u001b\[2Jb\\u000a\.proto$/],
    ['the extensions of a service (not a message)', { $case: 'allExtensionNumbersOfType', value: 'paxos.v1.AcceptorService' }, /no message type named paxos\.v1\.AcceptorService/],
  ] as const)('answers %s with NOT_FOUND naming it', (_what, messageRequest, message) => {
    const r = ask(index, messageRequest as Request['messageRequest']);
    expect(r.messageResponse?.$case).toBe('errorResponse');
    if (r.messageResponse?.$case !== 'errorResponse') return;
    expect(r.messageResponse.value.errorCode).toBe(grpc.status.NOT_FOUND);
    expect(r.messageResponse.value.errorMessage).toMatch(message);
  });
});

describe('reflection on a served node (v1 and v1alpha)', () => {
  let running: RunningServer;
  beforeAll(async () => {
    running = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      maxReceiveBytes: 1 << 20,
      transport: INSECURE,
      logger,
      services: [
        { name: 'paxos.v1.AcceptorService', definition: AcceptorServiceService, implementation: {} },
        { name: 'paxos.v1.ReadService', definition: ReadServiceService, implementation: {} },
      ],
    });
  });
  afterAll(() => running.shutdown(100));

  it.each(['v1', 'v1alpha'] as const)('%s: an unknown symbol is NOT_FOUND and the same stream then answers the next request', async (version) => {
    const Client = (version === 'v1' ? reflectionV1.ServerReflectionClient : reflectionV1alpha.ServerReflectionClient) as typeof reflectionV1.ServerReflectionClient;
    const client = new Client(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
    const call = client.serverReflectionInfo({ deadline: Date.now() + 10_000 });
    const answers: Response[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (r: Response) => answers.push(r));
      call.on('end', resolve);
      call.on('error', reject);
    });
    call.write({ host: '', messageRequest: { $case: 'fileContainingSymbol', value: 'no.such.Service' } });
    call.write({ host: '', messageRequest: { $case: 'fileContainingSymbol', value: 'paxos.v1.CONSISTENCY_LINEARIZABLE' } });
    call.write({ host: '', messageRequest: { $case: 'fileContainingSymbol', value: 'grpc.health.v1.Health.Check' } });
    call.write({ host: '', messageRequest: { $case: 'listServices', value: '' } });
    call.end();
    await done;
    client.close();
    expect(answers).toHaveLength(4);
    expect(answers[0]?.messageResponse).toEqual({ $case: 'errorResponse', value: { errorCode: grpc.status.NOT_FOUND, errorMessage: 'no symbol named no.such.Service' } });
    expect(firstFile(answers[1] as Response)).toBe('paxos/v1/read_service.proto');
    expect(firstFile(answers[2] as Response)).toBe('grpc/health/v1/health.proto');
    const listed = answers[3]?.messageResponse?.$case === 'listServicesResponse' ? answers[3].messageResponse.value.service.map((s) => s.name).sort() : [];
    expect(listed).toEqual(['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection', 'paxos.v1.AcceptorService', 'paxos.v1.ReadService']);
  });
});
