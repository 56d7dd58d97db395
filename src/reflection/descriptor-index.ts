import { toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

/**
 * What a reflection client may ask about the services of one router: their names, and the
 * `FileDescriptorProto`s that define them (with every import, transitively) by file name, by fully
 * qualified symbol (service, method, message, field, oneof, enum, enum value, extension) and by extension.
 * The descriptors are the ones protoc-gen-es embeds in `gen/`, so they match the served code exactly.
 */
export class DescriptorIndex {
  /** Fully qualified names of the services, in registration order. */
  readonly serviceNames: readonly string[];
  private readonly files = new Map<string, DescFile>();
  private readonly symbols = new Map<string, DescFile>();
  private readonly messages = new Set<string>();
  /** `<extendee>#<number>` → file, and extendee → extension numbers. */
  private readonly extensions = new Map<string, DescFile>();
  private readonly extensionNumbers = new Map<string, number[]>();
  private readonly encoded = new Map<string, Uint8Array>();

  constructor(services: readonly DescService[]) {
    this.serviceNames = services.map((s) => s.typeName);
    for (const s of services) this.addFile(s.file);
  }

  /** The named file followed by its imports; undefined when no served service needs it. */
  fileByName(name: string): Uint8Array[] | undefined {
    const file = this.files.get(name);
    return file && this.withDependencies(file);
  }

  /** The file defining `symbol` followed by its imports; undefined for an unknown symbol. */
  fileContainingSymbol(symbol: string): Uint8Array[] | undefined {
    const file = this.symbols.get(symbol.replace(/^\./, ""));
    return file && this.withDependencies(file);
  }

  /** The file defining extension `number` of `extendee` followed by its imports. */
  fileContainingExtension(extendee: string, number: number): Uint8Array[] | undefined {
    const file = this.extensions.get(`${extendee.replace(/^\./, "")}#${number}`);
    return file && this.withDependencies(file);
  }

  /** Extension numbers of a message type; undefined when the type is unknown. */
  extensionNumbersOf(typeName: string): number[] | undefined {
    const name = typeName.replace(/^\./, "");
    return this.messages.has(name) ? [...(this.extensionNumbers.get(name) ?? [])] : undefined;
  }

  private addFile(file: DescFile): void {
    if (this.files.has(file.proto.name)) return;
    this.files.set(file.proto.name, file);
    for (const dep of file.dependencies) this.addFile(dep);
    for (const t of nestedTypes(file)) {
      this.symbols.set(t.typeName, file);
      switch (t.kind) {
        case "service":
          for (const m of t.methods) this.symbols.set(`${t.typeName}.${m.name}`, file);
          break;
        case "message":
          this.messages.add(t.typeName);
          for (const f of t.fields) this.symbols.set(`${t.typeName}.${f.name}`, file);
          for (const o of t.oneofs) this.symbols.set(`${t.typeName}.${o.name}`, file);
          break;
        case "enum": {
          // Enum values are scoped like their enum, i.e. as siblings of it.
          const scope = t.typeName.slice(0, Math.max(0, t.typeName.lastIndexOf(".")));
          for (const v of t.values) this.symbols.set(scope ? `${scope}.${v.name}` : v.name, file);
          break;
        }
        case "extension": {
          this.extensions.set(`${t.extendee.typeName}#${t.number}`, file);
          const numbers = this.extensionNumbers.get(t.extendee.typeName) ?? [];
          numbers.push(t.number);
          this.extensionNumbers.set(t.extendee.typeName, numbers);
          break;
        }
      }
    }
  }

  /** The file first, then each transitive import once. */
  private withDependencies(file: DescFile): Uint8Array[] {
    const out: Uint8Array[] = [];
    const seen = new Set<string>();
    const visit = (f: DescFile) => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      out.push(this.bytesOf(f));
      f.dependencies.forEach(visit);
    };
    visit(file);
    return out;
  }

  private bytesOf(file: DescFile): Uint8Array {
    let bytes = this.encoded.get(file.proto.name);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.encoded.set(file.proto.name, bytes);
    }
    return bytes;
  }
}
