// The AVRO format of the Kafka SchemaTransforms: an Avro schema (the JSON text Beam YAML and managed configs pass as
// `schema`) as a plain description that travels in DoFn payloads, its Beam Row schema, and the Avro schema of a
// Row schema (what a write derives from its input, as Beam Java's AvroUtils.toAvroSchema does).
//
// Mapped as Java's AvroUtils maps them: boolean, int → INT32, long → INT64, float, double, string, bytes, record →
// ROW, array → ARRAY, map → MAP<STRING, ...>, a union of null and one type → that type, nullable;
// timestamp-millis → DATETIME, decimal (on bytes or fixed) → DECIMAL, date → Beam's date (days; Python's
// datetime.date), fixed → Beam's fixed_bytes (its size the argument). Other logical types read as their underlying
// type, as the Avro specification tells readers that do not know them to. Differences from Java: an enum is a STRING
// (its symbol; Java's EnumerationType has no Python counterpart), and unions of more than null and one type are
// refused by name.
import { randomUUID } from "node:crypto";
import { AtomicType, fieldTypeKind, fieldTypeOf, type FieldType, type Schema } from "../../model/schema.js";
import { LogicalTypeUrns } from "../../model/coders/index.js";

export type AvroPrimitive = "boolean" | "int" | "long" | "float" | "double" | "string" | "bytes";

/** An Avro type as we map it: JSON-able (it travels in DoFn payloads), named types resolved where used. */
export type AvroType =
  | { readonly kind: AvroPrimitive }
  | { readonly kind: "timestamp-millis" }
  /** Days since the epoch (an Avro int), as Beam's date logical type (INT64 days). */
  | { readonly kind: "date" }
  /** `size`: on a fixed of that many bytes; undefined: on bytes. */
  | { readonly kind: "decimal"; readonly precision: number; readonly scale: number; readonly size?: number }
  | { readonly kind: "fixed"; readonly name: string; readonly size: number }
  | { readonly kind: "enum"; readonly name: string; readonly symbols: readonly string[] }
  | { readonly kind: "array"; readonly items: AvroType }
  | { readonly kind: "map"; readonly values: AvroType }
  /** A union of "null" and one type; `nullIndex` is the null branch's index (0 or 1). */
  | { readonly kind: "nullable"; readonly type: AvroType; readonly nullIndex: 0 | 1 }
  | AvroRecord;

/** An Avro record schema as parseAvroSchema returns it: its full name and its fields in order. */
export interface AvroRecord {
  readonly kind: "record";
  /** The full name (namespace.name). */
  readonly name: string;
  readonly fields: readonly { readonly name: string; readonly type: AvroType }[];
}

/** A problem with an Avro schema or value, at a path ("$.address.city"). */
export class AvroFormatError extends Error {
  override readonly name = "AvroFormatError";
  readonly code = "AVRO_FORMAT";
  readonly retriable = false;
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

const PRIMITIVES = new Set<string>(["boolean", "int", "long", "float", "double", "string", "bytes"]);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_DEPTH = 32;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Parses an Avro schema text whose root is a record; throws AvroFormatError naming the schema path. */
export function parseAvroSchema(text: string): AvroRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new AvroFormatError("$", `not valid JSON: ${(err as Error).message}`);
  }
  const root = new AvroSchemaParser().type(parsed, "$", "", 0);
  if (root.kind !== "record") {
    throw new AvroFormatError("$", `the root must be a record schema ("type": "record"), got ${root.kind}`);
  }
  return root;
}

/** Resolves names as Avro does: a dotted name is full, else it lives in the enclosing namespace. */
class AvroSchemaParser {
  /** Named types by full name; a record is listed while its fields are parsed (null: a reference would recurse). */
  private readonly named = new Map<string, AvroType | null>();

  type(node: unknown, path: string, namespace: string, depth: number): AvroType {
    if (depth > MAX_DEPTH) throw new AvroFormatError(path, `nested deeper than ${MAX_DEPTH} levels`);
    if (typeof node === "string") return this.reference(node, path, namespace);
    if (Array.isArray(node)) return this.union(node, path, namespace, depth);
    if (!isPlainObject(node)) throw new AvroFormatError(path, "expected a type name, a union or a schema object");
    const type = node.type;
    if (typeof type !== "string") {
      // {"type": {...}} or {"type": [...]}: the inner schema is the type.
      if (type !== undefined) return this.type(type, path, namespace, depth + 1);
      throw new AvroFormatError(path, `has no "type"`);
    }
    switch (type) {
      case "record":
        return this.record(node, path, namespace, depth);
      case "enum":
        return this.enumeration(node, path, namespace);
      case "array":
        return { kind: "array", items: this.type(node.items, `${path}[]`, namespace, depth + 1) };
      case "map":
        return { kind: "map", values: this.type(node.values, `${path}{}`, namespace, depth + 1) };
      case "fixed":
        return this.fixed(node, path, namespace);
      case "error":
        throw new AvroFormatError(path, "error types belong to Avro protocols, not to record values");
    }
    if (!PRIMITIVES.has(type)) {
      if (type === "null") throw new AvroFormatError(path, `"null" alone has no value to read (use it in a union)`);
      return this.reference(type, path, namespace);
    }
    return this.logical(node, type as AvroPrimitive, path);
  }

  /** A primitive with a logicalType: the two Beam has types for, or the underlying type. */
  private logical(node: Record<string, unknown>, primitive: AvroPrimitive, path: string): AvroType {
    const logical = node.logicalType;
    if (logical === "timestamp-millis" && primitive === "long") return { kind: "timestamp-millis" };
    if (logical === "date" && primitive === "int") return { kind: "date" };
    if (logical === "decimal" && primitive === "bytes") return decimal(node, path);
    return { kind: primitive };
  }

  private fixed(node: Record<string, unknown>, path: string, namespace: string): AvroType {
    const [name] = this.fullName(node, path, namespace);
    const size = node.size;
    if (typeof size !== "number" || !Number.isInteger(size) || size < 0 || size > 0x7fffffff)
      throw new AvroFormatError(path, `a fixed needs an integer "size" >= 0, got ${JSON.stringify(size)}`);
    const type: AvroType = node.logicalType === "decimal" ? decimal(node, path, size) : { kind: "fixed", name, size };
    this.named.set(name, type);
    return type;
  }

  private fullName(node: Record<string, unknown>, path: string, namespace: string): [string, string] {
    const name = node.name;
    if (typeof name !== "string" || name === "") throw new AvroFormatError(path, `a named type needs a "name"`);
    const space = typeof node.namespace === "string" ? node.namespace : namespace;
    const full = name.includes(".") ? name : space ? `${space}.${name}` : name;
    const short = full.slice(full.lastIndexOf(".") + 1);
    if (!NAME.test(short)) throw new AvroFormatError(path, `${JSON.stringify(name)} is not an Avro name`);
    if (this.named.has(full)) throw new AvroFormatError(path, `${full} is defined twice`);
    return [full, full.includes(".") ? full.slice(0, full.lastIndexOf(".")) : ""];
  }

  private record(node: Record<string, unknown>, path: string, namespace: string, depth: number): AvroRecord {
    const [name, space] = this.fullName(node, path, namespace);
    if (!Array.isArray(node.fields) || node.fields.length === 0)
      throw new AvroFormatError(path, `a record needs a non-empty "fields" list (a Row has fields)`);
    this.named.set(name, null);
    const seen = new Set<string>();
    const fields = node.fields.map((field: unknown, i: number) => {
      if (!isPlainObject(field) || typeof field.name !== "string" || !NAME.test(field.name))
        throw new AvroFormatError(`${path}.fields[${i}]`, `a field needs an Avro "name"`);
      if (seen.has(field.name)) throw new AvroFormatError(`${path}.${field.name}`, "is defined twice");
      seen.add(field.name);
      return { name: field.name, type: this.type(field.type, `${path}.${field.name}`, space, depth + 1) };
    });
    const record: AvroRecord = { kind: "record", name, fields };
    this.named.set(name, record);
    return record;
  }

  private enumeration(node: Record<string, unknown>, path: string, namespace: string): AvroType {
    const [name] = this.fullName(node, path, namespace);
    const symbols = node.symbols;
    if (!Array.isArray(symbols) || symbols.length === 0 || symbols.some((s) => typeof s !== "string" || !NAME.test(s)))
      throw new AvroFormatError(path, `an enum needs a non-empty "symbols" list of Avro names`);
    if (new Set(symbols).size !== symbols.length) throw new AvroFormatError(path, "an enum's symbols must differ");
    const type: AvroType = { kind: "enum", name, symbols: symbols as string[] };
    this.named.set(name, type);
    return type;
  }

  private reference(name: string, path: string, namespace: string): AvroType {
    if (PRIMITIVES.has(name)) return { kind: name as AvroPrimitive };
    if (name === "null") throw new AvroFormatError(path, `"null" alone has no value to read (use it in a union)`);
    const full = name.includes(".") || !namespace ? name : `${namespace}.${name}`;
    const found = this.named.has(full) ? this.named.get(full) : this.named.get(name);
    if (found === null) throw new AvroFormatError(path, `${name} refers to itself: a recursive type is not a Row`);
    if (found === undefined) throw new AvroFormatError(path, `unknown type ${JSON.stringify(name)}`);
    return found;
  }

  private union(branches: unknown[], path: string, namespace: string, depth: number): AvroType {
    const nullIndex = branches.indexOf("null");
    if (branches.length !== 2 || nullIndex < 0) {
      throw new AvroFormatError(
        path,
        `only a union of "null" and one type is supported (a nullable field), got ${JSON.stringify(branches)}`,
      );
    }
    const type = this.type(branches[1 - nullIndex], path, namespace, depth + 1);
    return { kind: "nullable", type, nullIndex: nullIndex as 0 | 1 };
  }
}

function decimal(node: Record<string, unknown>, path: string, size?: number): AvroType {
  const { precision, scale = 0 } = node;
  if (typeof precision !== "number" || !Number.isInteger(precision) || precision < 1)
    throw new AvroFormatError(path, `a decimal needs an integer "precision" >= 1, got ${JSON.stringify(precision)}`);
  if (typeof scale !== "number" || !Number.isInteger(scale) || scale < 0 || scale > precision)
    throw new AvroFormatError(path, `a decimal's "scale" must be an integer from 0 to its precision`);
  return size === undefined ? { kind: "decimal", precision, scale } : { kind: "decimal", precision, scale, size };
}

// ---------------------------------------------------------------------------------------------------------------
// Avro → Beam schema.

/** Beam's date (Java's SqlTypes.DATE): days since the epoch as INT64. */
const DATE_FIELD_TYPE: FieldType = {
  logicalType: { urn: LogicalTypeUrns.DATE, representation: { atomicType: AtomicType.INT64 } },
};

function fieldType(type: AvroType): FieldType {
  switch (type.kind) {
    case "boolean":
      return fieldTypeOf("boolean");
    case "int":
      return fieldTypeOf("int32");
    case "long":
      return fieldTypeOf("int64");
    case "float":
      return fieldTypeOf("float");
    case "double":
      return fieldTypeOf("double");
    case "string":
    case "enum":
      return fieldTypeOf("string");
    case "bytes":
      return fieldTypeOf("bytes");
    case "timestamp-millis":
      return fieldTypeOf("datetime");
    case "date":
      return DATE_FIELD_TYPE;
    case "decimal":
      return fieldTypeOf("decimal");
    case "fixed":
      return {
        logicalType: {
          // Java's FixedBytes, Python's FixedLengthBytes: the length is the argument.
          urn: LogicalTypeUrns.FIXED_BYTES,
          representation: { atomicType: AtomicType.BYTES },
          argumentType: { atomicType: AtomicType.INT32 },
          argument: { atomicValue: { int32: type.size } },
        },
      };
    case "array":
      return { arrayType: { elementType: fieldType(type.items) } };
    case "map":
      return { mapType: { keyType: fieldTypeOf("string"), valueType: fieldType(type.values) } };
    case "nullable":
      return { ...fieldType(type.type), nullable: true };
    case "record":
      return { rowType: { schema: avroRowSchema(type) } };
  }
}

/** The Beam Row schema of an Avro record, fields in the record's order (fresh schema ids). */
export function avroRowSchema(record: AvroRecord): Schema {
  return { id: randomUUID(), fields: record.fields.map((f) => ({ name: f.name, type: fieldType(f.type) })) };
}

// ---------------------------------------------------------------------------------------------------------------
// Beam schema → Avro (a write's input rows).

function avroOf(type: FieldType, path: string, names: Set<string>): AvroType {
  const base = ((): AvroType => {
    const kind = fieldTypeKind(type);
    switch (kind.kind) {
      case "atomic":
        switch (kind.atomic) {
          case AtomicType.BOOLEAN:
            return { kind: "boolean" };
          case AtomicType.BYTE:
          case AtomicType.INT16:
          case AtomicType.INT32:
            return { kind: "int" };
          case AtomicType.INT64:
            return { kind: "long" };
          case AtomicType.FLOAT:
            return { kind: "float" };
          case AtomicType.DOUBLE:
            return { kind: "double" };
          case AtomicType.STRING:
            return { kind: "string" };
          case AtomicType.BYTES:
            return { kind: "bytes" };
        }
        break;
      case "array":
      case "iterable":
        return { kind: "array", items: avroOf(kind.element, `${path}[]`, names) };
      case "map": {
        const key = fieldTypeKind(kind.key);
        if (key.kind !== "atomic" || key.atomic !== AtomicType.STRING)
          throw new AvroFormatError(path, "an Avro map has string keys: this MAP's keys are not STRING");
        return { kind: "map", values: avroOf(kind.value, `${path}{}`, names) };
      }
      case "row":
        return avroRecordOf(kind.schema, path, names);
      case "logical":
        if (kind.logical.urn === LogicalTypeUrns.MILLIS_INSTANT) return { kind: "timestamp-millis" };
        if (kind.logical.urn === LogicalTypeUrns.DATE) return { kind: "date" };
        break;
    }
    throw new AvroFormatError(path, `${describeFieldType(type)} has no Avro form here`);
  })();
  return type.nullable ? { kind: "nullable", type: base, nullIndex: 0 } : base;
}

function describeFieldType(type: FieldType): string {
  const kind = fieldTypeKind(type);
  return kind.kind === "logical" ? `logical type ${kind.logical.urn}` : `a ${kind.kind} field`;
}

function avroRecordOf(schema: Schema, path: string, names: Set<string>): AvroRecord {
  // Java names the top record "topLevelRecord" and nested ones after their field ("$.items[]" → itemsRecord);
  // names must be unique.
  let name = path === "$" ? "topLevelRecord" : `${path.slice(path.lastIndexOf(".") + 1).replace(/\W/g, "")}Record`;
  for (let n = 2; names.has(name); n++) name = `${name.replace(/\d+$/, "")}${n}`;
  names.add(name);
  return {
    kind: "record",
    name,
    fields: schema.fields.map((f) => ({ name: f.name, type: avroOf(f.type, `${path}.${f.name}`, names) })),
  };
}

/** The Avro record a Row schema is written as (nullable fields: a union with "null" first). */
export function avroRecordOfRowSchema(schema: Schema): AvroRecord {
  return avroRecordOf(schema, "$", new Set());
}

/** The Avro schema JSON of a record (what a reader of the topic needs). */
export function avroSchemaJson(type: AvroType): unknown {
  switch (type.kind) {
    case "timestamp-millis":
      return { type: "long", logicalType: "timestamp-millis" };
    case "date":
      return { type: "int", logicalType: "date" };
    case "decimal": {
      const logical = { logicalType: "decimal", precision: type.precision, scale: type.scale };
      if (type.size === undefined) return { type: "bytes", ...logical };
      return { type: "fixed", name: `decimal${type.size}`, size: type.size, ...logical };
    }
    case "fixed":
      return { type: "fixed", name: type.name, size: type.size };
    case "enum":
      return { type: "enum", name: type.name, symbols: type.symbols };
    case "array":
      return { type: "array", items: avroSchemaJson(type.items) };
    case "map":
      return { type: "map", values: avroSchemaJson(type.values) };
    case "nullable":
      return type.nullIndex === 0 ? ["null", avroSchemaJson(type.type)] : [avroSchemaJson(type.type), "null"];
    case "record":
      return {
        type: "record",
        name: type.name,
        fields: type.fields.map((f) => ({ name: f.name, type: avroSchemaJson(f.type) })),
      };
    default:
      return type.kind;
  }
}
