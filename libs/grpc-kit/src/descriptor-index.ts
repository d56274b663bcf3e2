import type { DescriptorProto, EnumDescriptorProto, FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { FILE_DESCRIPTOR_SET_BASE64 } from '@paxos/proto';

// Loaded on first use: a node that is never asked for reflection does not pay for the library.
 
const protobuf = () => require('@bufbuild/protobuf') as typeof import('@bufbuild/protobuf');
const wkt = () => require('@bufbuild/protobuf/wkt') as typeof import('@bufbuild/protobuf/wkt');
 

/**
 * The real FileDescriptorProtos of every served .proto (true file names, true dependency lists),
 * indexed by file name and by fully-qualified symbol, for server reflection.
 */
export class DescriptorIndex {
  private readonly bytesByFile = new Map<string, Uint8Array>();
  private readonly depsByFile = new Map<string, readonly string[]>();
  private readonly fileBySymbol = new Map<string, string>();
  /** The message types (all_extension_numbers_of_type answers only for these). */
  private readonly messageNames = new Set<string>();
  private readonly serviceNames: string[] = [];

  constructor(fileDescriptorSet: Uint8Array) {
    const { fromBinary, toBinary } = protobuf();
    const { FileDescriptorSetSchema, FileDescriptorProtoSchema } = wkt();
    const set = fromBinary(FileDescriptorSetSchema, fileDescriptorSet);
    for (const file of set.file) {
      this.bytesByFile.set(file.name, toBinary(FileDescriptorProtoSchema, file));
      this.depsByFile.set(file.name, file.dependency);
      this.indexFile(file);
    }
    for (const [file, deps] of this.depsByFile) {
      for (const dep of deps) {
        if (!this.bytesByFile.has(dep)) throw new Error(`descriptor set: ${file} imports ${dep}, which the set lacks`);
      }
    }
  }

  static fromGenerated(): DescriptorIndex {
    return new DescriptorIndex(Buffer.from(FILE_DESCRIPTOR_SET_BASE64, 'base64'));
  }

  get services(): readonly string[] {
    return this.serviceNames;
  }

  hasFile(name: string): boolean {
    return this.bytesByFile.has(name);
  }

  fileOfSymbol(symbol: string): string | undefined {
    return this.fileBySymbol.get(symbol.replace(/^\./, ''));
  }

  isMessage(symbol: string): boolean {
    return this.messageNames.has(symbol.replace(/^\./, ''));
  }

  /** The file and everything it imports, transitively, the file itself first. */
  fileWithDependencies(name: string): Uint8Array[] {
    const order: string[] = [];
    const seen = new Set<string>();
    const stack = [name];
    while (stack.length > 0) {
      const next = stack.pop() as string;
      if (seen.has(next)) continue;
      seen.add(next);
      order.push(next);
      for (const dep of this.depsByFile.get(next) ?? []) stack.push(dep);
    }
    return order.map((f) => this.bytesByFile.get(f) as Uint8Array);
  }

  private indexFile(file: FileDescriptorProto): void {
    const prefix = file.package ? `${file.package}.` : '';
    const add = (symbol: string) => this.fileBySymbol.set(symbol, file.name);
    // Every name a descriptor declares, as grpc-go's reflection resolves them (grpcurl describes
    // any): an enum's values are its siblings in the enclosing scope (protobuf's C++ scoping), and
    // a message's oneofs are named inside it beside its fields.
    const addEnum = (scope: string, e: EnumDescriptorProto) => {
      add(`${scope}${e.name}`);
      for (const v of e.value) add(`${scope}${v.name}`);
    };
    const addMessage = (scope: string, m: DescriptorProto) => {
      const full = `${scope}${m.name}`;
      add(full);
      this.messageNames.add(full);
      for (const nested of m.nestedType) addMessage(`${full}.`, nested);
      for (const e of m.enumType) addEnum(`${full}.`, e);
      for (const f of m.field) add(`${full}.${f.name}`);
      for (const o of m.oneofDecl) add(`${full}.${o.name}`);
    };
    for (const m of file.messageType) addMessage(prefix, m);
    for (const e of file.enumType) addEnum(prefix, e);
    for (const s of file.service) {
      const full = `${prefix}${s.name}`;
      add(full);
      this.serviceNames.push(full);
      for (const method of s.method) add(`${full}.${method.name}`);
    }
    for (const ext of file.extension) add(`${prefix}${ext.name}`);
  }
}
