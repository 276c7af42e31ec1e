// Beam schemas (org.apache.beam.model.pipeline.v1.Schema) as plain TS types, shaped like the objects protobufjs
// decodes (camelCase fields, enums as numbers, unset oneof members null or absent), plus a builder that derives a
// schema and its row type from one compact description:
//
//   const meta = schema({ topic: "string", partition: "int32", key: nullable("bytes"),
//                         headers: nullable(array(row({ key: "string", value: nullable("bytes") }))) });
//   type Meta = RowOf<typeof meta>;   // { topic: string; partition: number; key: Uint8Array | null; headers: ... }
import { randomUUID } from "node:crypto";
import { schemaApi } from "./proto/index.js";
import type { Instant } from "./windowing.js";

export const AtomicType = Object.freeze({
  UNSPECIFIED: 0,
  BYTE: 1,
  INT16: 2,
  INT32: 3,
  INT64: 4,
  FLOAT: 5,
  DOUBLE: 6,
  STRING: 7,
  BOOLEAN: 8,
  BYTES: 9,
} as const);
export type AtomicTypeName = keyof typeof AtomicType;
export type AtomicType = (typeof AtomicType)[AtomicTypeName];

/** int64 as protobufjs may hand it over: a Long, a number, or a string; bigint from our own code. */
export type Int64Like =
  | bigint
  | number
  | string
  | { readonly low: number; readonly high: number; readonly unsigned?: boolean };

export interface Schema {
  readonly fields: readonly Field[];
  readonly id?: string;
  readonly options?: readonly SchemaOption[] | null;
  readonly encodingPositionsSet?: boolean;
}

export interface Field {
  readonly name: string;
  readonly description?: string;
  readonly type: FieldType;
  readonly id?: number;
  readonly encodingPosition?: number;
  readonly options?: readonly SchemaOption[] | null;
}

/** Exactly one of the type members is set (protobufjs: the others are null or absent; `typeInfo` names it). */
export interface FieldType {
  readonly nullable?: boolean;
  readonly typeInfo?: string;
  readonly atomicType?: AtomicType | AtomicTypeName | null;
  readonly arrayType?: { readonly elementType: FieldType } | null;
  readonly iterableType?: { readonly elementType: FieldType } | null;
  readonly mapType?: { readonly keyType: FieldType; readonly valueType: FieldType } | null;
  readonly rowType?: { readonly schema: Schema } | null;
  readonly logicalType?: LogicalType | null;
}

export interface LogicalType {
  readonly urn: string;
  readonly payload?: Uint8Array | null;
  readonly representation?: FieldType | null;
  readonly argumentType?: FieldType | null;
  readonly argument?: FieldValue | null;
}

export interface SchemaOption {
  readonly name: string;
  readonly type?: FieldType | null;
  readonly value?: FieldValue | null;
}

export interface FieldValue {
  readonly atomicValue?: AtomicTypeValue | null;
  readonly arrayValue?: { readonly element: readonly FieldValue[] } | null;
  readonly iterableValue?: { readonly element: readonly FieldValue[] } | null;
  readonly mapValue?: {
    readonly entries: readonly { readonly key?: FieldValue | null; readonly value?: FieldValue | null }[];
  } | null;
  readonly rowValue?: { readonly values: readonly FieldValue[] } | null;
  readonly logicalTypeValue?: { readonly value?: FieldValue | null } | null;
}

export interface AtomicTypeValue {
  readonly byte?: number | null;
  readonly int16?: number | null;
  readonly int32?: number | null;
  readonly int64?: Int64Like | null;
  readonly float?: number | null;
  readonly double?: number | null;
  readonly string?: string | null;
  readonly boolean?: boolean | null;
  readonly bytes?: Uint8Array | null;
}

/** A decoded row: field name → value (int64 as bigint, map as Map, array as array, null for null). */
export type Row = Record<string, unknown>;

/** A field type with exactly one kind, as the row coder consumes it. */
export type FieldTypeKind =
  | { readonly kind: "atomic"; readonly atomic: AtomicType }
  | { readonly kind: "array" | "iterable"; readonly element: FieldType }
  | { readonly kind: "map"; readonly key: FieldType; readonly value: FieldType }
  | { readonly kind: "row"; readonly schema: Schema }
  | { readonly kind: "logical"; readonly logical: LogicalType };

export class SchemaError extends Error {
  override readonly name = "SchemaError";
  readonly code = "SCHEMA_INVALID";
  readonly retriable = false;
}

/**
 * Which kind a field type is. Message members are checked before `atomicType`, because a decoder may leave the
 * enum's default (0) on a field type whose set member is a message.
 */
export function fieldTypeKind(type: FieldType): FieldTypeKind {
  if (type === null || typeof type !== "object")
    throw new SchemaError(`field type: expected an object, got ${String(type)}`);
  const which = type.typeInfo;
  if ((which === undefined || which === "arrayType") && type.arrayType) {
    return { kind: "array", element: required(type.arrayType.elementType, "array element type") };
  }
  if ((which === undefined || which === "iterableType") && type.iterableType) {
    return { kind: "iterable", element: required(type.iterableType.elementType, "iterable element type") };
  }
  if ((which === undefined || which === "mapType") && type.mapType) {
    return {
      kind: "map",
      key: required(type.mapType.keyType, "map key type"),
      value: required(type.mapType.valueType, "map value type"),
    };
  }
  if ((which === undefined || which === "rowType") && type.rowType) {
    return { kind: "row", schema: required(type.rowType.schema, "row type schema") };
  }
  if ((which === undefined || which === "logicalType") && type.logicalType) {
    return { kind: "logical", logical: type.logicalType };
  }
  if (type.atomicType !== undefined && type.atomicType !== null) {
    return { kind: "atomic", atomic: atomicTypeNumber(type.atomicType) };
  }
  throw new SchemaError(`field type sets none of atomicType, arrayType, iterableType, mapType, rowType, logicalType`);
}

function required<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new SchemaError(`${what} is missing`);
  return value;
}

export function atomicTypeNumber(value: AtomicType | AtomicTypeName | number | string): AtomicType {
  if (typeof value === "string") {
    const n = (AtomicType as Record<string, number>)[value];
    if (n === undefined) throw new SchemaError(`unknown atomic type ${value}`);
    return n as AtomicType;
  }
  if (Number.isInteger(value) && value >= 0 && value <= 9) return value as AtomicType;
  throw new SchemaError(`unknown atomic type ${String(value)}`);
}

/** The position of each field in the encoding: `encodingPosition` when the schema sets them, else field order. */
export function encodingPositions(schema: Schema): number[] {
  const n = schema.fields.length;
  if (!schema.encodingPositionsSet) return schema.fields.map((_, i) => i);
  const positions = schema.fields.map((f) => f.encodingPosition ?? -1);
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    const p = positions[i]!;
    if (!Number.isInteger(p) || p < 0 || p >= n || seen.has(p)) {
      throw new SchemaError(
        `schema ${schema.id ?? "(no id)"}: encodingPositionsSet, but field ${schema.fields[i]!.name} has encoding ` +
          `position ${p}; positions must be a permutation of 0..${n - 1}`,
      );
    }
    seen.add(p);
  }
  return positions;
}

/** Decodes Schema proto bytes (a row coder payload, a transform's config schema). */
export function decodeSchema(bytes: Uint8Array): Schema {
  try {
    return schemaApi.Schema.decode(bytes) as unknown as Schema;
  } catch (err) {
    throw new SchemaError(`Schema proto: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Encodes a Schema as proto bytes. Atomic types given by name are written as their enum numbers. */
export function encodeSchema(schema: Schema): Uint8Array {
  return schemaApi.Schema.encode(protoSchema(schema) as schemaApi.ISchema).finish();
}

function protoSchema(schema: Schema): Schema {
  return { ...schema, fields: schema.fields.map((f) => ({ ...f, type: protoFieldType(f.type) })) };
}

function protoFieldType(type: FieldType): FieldType {
  const kind = fieldTypeKind(type);
  const nullable = type.nullable ? { nullable: true } : {};
  switch (kind.kind) {
    case "atomic":
      return { ...nullable, atomicType: kind.atomic };
    case "array":
      return { ...nullable, arrayType: { elementType: protoFieldType(kind.element) } };
    case "iterable":
      return { ...nullable, iterableType: { elementType: protoFieldType(kind.element) } };
    case "map":
      return { ...nullable, mapType: { keyType: protoFieldType(kind.key), valueType: protoFieldType(kind.value) } };
    case "row":
      return { ...nullable, rowType: { schema: protoSchema(kind.schema) } };
    case "logical": {
      const { representation, argumentType } = kind.logical;
      return {
        ...nullable,
        logicalType: {
          ...kind.logical,
          representation: representation ? protoFieldType(representation) : null,
          argumentType: argumentType ? protoFieldType(argumentType) : null,
        },
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The builder.

/** Fixed-point decimal: unscaled × 10^-scale (Java's BigDecimal, Beam's decimal logical type). */
export interface Decimal {
  readonly unscaled: bigint;
  readonly scale: number;
}

/** TS value types of the builder's atomic names. `datetime` is Java's DATETIME (millis_instant logical type). */
export interface AtomicValueTypes {
  byte: number;
  int16: number;
  int32: number;
  int64: bigint;
  float: number;
  double: number;
  string: string;
  boolean: boolean;
  bytes: Uint8Array;
  datetime: Instant;
  decimal: Decimal;
}
export type AtomicName = keyof AtomicValueTypes;

/** A described field type; `T` is the TS value type (phantom). */
export interface TypeDescriptor<T> {
  readonly fieldType: FieldType;
  readonly __value?: T;
}

export type Descriptor = AtomicName | TypeDescriptor<unknown>;
export type ValueOf<D> = D extends AtomicName ? AtomicValueTypes[D] : D extends TypeDescriptor<infer T> ? T : never;
export type RowDescription = Record<string, Descriptor>;
export type RowValueOf<S extends RowDescription> = { -readonly [K in keyof S]: ValueOf<S[K]> };

/** A Schema that remembers the TS type of its rows (phantom: still a plain Schema object). */
export interface TypedSchema<T extends Row> extends Schema {
  readonly __row?: T;
}
export type RowOf<S> = S extends TypedSchema<infer T> ? T : Row;

const ATOMIC_NAMES: Readonly<Record<Exclude<AtomicName, "datetime" | "decimal">, AtomicType>> = {
  byte: AtomicType.BYTE,
  int16: AtomicType.INT16,
  int32: AtomicType.INT32,
  int64: AtomicType.INT64,
  float: AtomicType.FLOAT,
  double: AtomicType.DOUBLE,
  string: AtomicType.STRING,
  boolean: AtomicType.BOOLEAN,
  bytes: AtomicType.BYTES,
};

export function fieldTypeOf(descriptor: Descriptor): FieldType {
  if (typeof descriptor !== "string") return descriptor.fieldType;
  if (descriptor === "datetime") {
    return logicalFieldType("beam:logical_type:millis_instant:v1", { atomicType: AtomicType.INT64 });
  }
  if (descriptor === "decimal") {
    return logicalFieldType("beam:logical_type:decimal:v1", { atomicType: AtomicType.BYTES });
  }
  const atomic = ATOMIC_NAMES[descriptor];
  if (atomic === undefined) throw new SchemaError(`unknown type name ${String(descriptor)}`);
  return { atomicType: atomic };
}

function logicalFieldType(urn: string, representation: FieldType, extra: Partial<LogicalType> = {}): FieldType {
  return { logicalType: { urn, representation, ...extra } };
}

export function nullable<D extends Descriptor>(descriptor: D): TypeDescriptor<ValueOf<D> | null> {
  return { fieldType: { ...fieldTypeOf(descriptor), nullable: true } };
}

export function array<D extends Descriptor>(element: D): TypeDescriptor<ValueOf<D>[]> {
  return { fieldType: { arrayType: { elementType: fieldTypeOf(element) } } };
}

export function iterable<D extends Descriptor>(element: D): TypeDescriptor<ValueOf<D>[]> {
  return { fieldType: { iterableType: { elementType: fieldTypeOf(element) } } };
}

export function map<K extends Descriptor, V extends Descriptor>(
  key: K,
  value: V,
): TypeDescriptor<Map<ValueOf<K>, ValueOf<V>>> {
  return { fieldType: { mapType: { keyType: fieldTypeOf(key), valueType: fieldTypeOf(value) } } };
}

export function row<S extends RowDescription>(fields: S, options: SchemaOptions = {}): TypeDescriptor<RowValueOf<S>> {
  return { fieldType: { rowType: { schema: schema(fields, options) } } };
}

/**
 * A logical type whose values are its representation's values (how the row coder treats every logical type but
 * millis_instant and decimal).
 */
export function logical<D extends Descriptor>(
  urn: string,
  representation: D,
  extra: { argumentType?: FieldType; argument?: FieldValue; payload?: Uint8Array } = {},
): TypeDescriptor<ValueOf<D>> {
  return { fieldType: logicalFieldType(urn, fieldTypeOf(representation), extra) };
}

export interface SchemaOptions {
  /** Schema id; a fresh UUID by default (Python caches generated row types by id: never reuse one). */
  readonly id?: string;
}

export function schema<S extends RowDescription>(fields: S, options: SchemaOptions = {}): TypedSchema<RowValueOf<S>> {
  return {
    id: options.id ?? randomUUID(),
    fields: Object.entries(fields).map(([name, descriptor]) => ({ name, type: fieldTypeOf(descriptor) })),
  };
}
