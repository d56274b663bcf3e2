// The README's grpcurl lines, checked against the wire contract as reflection serves it: each
// calls a method that exists on a service the node at that port serves (acceptors on 71xx, the
// proposer on 7200), its -d JSON is a request grpcurl takes (protobuf's JSON mapping, unknown
// fields refused), and the response fields a comment points at are named as grpcurl prints them
// (lowerCamelCase JSON names: grpcurl prints `oldestKeptSlot`, never `oldest_kept_slot`).
import { createFileRegistry, type DescMessage, fromBinary, fromJson } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { FILE_DESCRIPTOR_SET_BASE64 } from '@paxos/proto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, Buffer.from(FILE_DESCRIPTOR_SET_BASE64, 'base64')));
const README = readFileSync(join(__dirname, '../../../README.md'), 'utf8');

const EVERY_NODE = ['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];
/** What each kind of node serves (apps/acceptor/src/acceptor-services.ts, apps/proposer/src/main.ts). */
const SERVED = {
  acceptor: ['paxos.v1.AcceptorService', 'paxos.v1.ReadService', ...EVERY_NODE],
  proposer: ['paxos.v1.ProposerService', 'paxos.v1.ReadService', ...EVERY_NODE],
};
const nodeAt = (address: string): keyof typeof SERVED => (/:72\d\d$/.test(address) ? 'proposer' : 'acceptor');

interface Example {
  readonly line: string;
  readonly data: string | undefined;
  readonly address: string;
  readonly verb: string;
  readonly arg: string | undefined;
  readonly comment: string | undefined;
}

/** The `g ...` lines of the README (the alias for grpcurl with the network's certificates), continuations joined. */
function examples(): Example[] {
  const lines = README.replace(/\\\n\s*/g, ' ').split('\n').filter((l) => /^ {4}g /.test(l));
  return lines.map((raw) => {
    const line = raw.trim().replace(/ *\| .*$/, ''); // a pipe into another program is not grpcurl's
    const m = /^g (?:-emit-defaults +)?(?:-d '([^']*)' +)?(\S+) +(\S+)(?: +([^#\s]\S*))?\s*(?:#\s*(.*))?$/.exec(line);
    if (!m) throw new Error(`a README grpcurl line this spec cannot read: ${line}`);
    return { line, data: m[1], address: m[2] as string, verb: m[3] as string, arg: m[4], comment: m[5] };
  });
}

/** The JSON name path ("storage.historyFirstSlot") resolves in the message. */
function hasJsonPath(message: DescMessage, path: string): boolean {
  const [head, ...rest] = path.split('.');
  const field = message.fields.find((f) => f.jsonName === head);
  if (!field) return false;
  if (rest.length === 0) return true;
  return field.fieldKind === 'message' || (field.fieldKind === 'list' && field.listKind === 'message') ? hasJsonPath(field.message as DescMessage, rest.join('.')) : false;
}

describe("the README's grpcurl examples", () => {
  const all = examples();

  it('are there to check', () => {
    expect(all.length).toBeGreaterThanOrEqual(15);
  });

  it.each(all.map((e) => [e.line, e] as const))('%s', (_line, e) => {
    const served = SERVED[nodeAt(e.address)];
    if (e.verb === 'list') return;
    if (e.verb === 'describe') {
      expect(registry.get(e.arg as string)).toBeDefined();
      return;
    }
    const [service, method] = e.verb.split('/') as [string, string];
    expect(served).toContain(service);
    const m = registry.getService(service)?.methods.find((x) => x.name === method);
    expect(m).toBeDefined();
    if (m === undefined) return;
    // grpcurl sends an empty message without -d; with it, the JSON must parse (no unknown field).
    expect(() => fromJson(m.input, JSON.parse(e.data ?? '{}'))).not.toThrow();
    // A comment that lists response fields names them as grpcurl prints them.
    const named = (e.comment ?? '').split(/,\s*/).filter((w) => /^[a-z][A-Za-z0-9_.]*$/.test(w) && /[_.A-Z]/.test(w));
    for (const path of named) expect(`${path}: ${hasJsonPath(m.output, path) ? 'printed' : `not a field grpcurl prints in ${m.output.typeName}`}`).toBe(`${path}: printed`);
  });
});
