// beam:coder:row:v1 — a schema'd row:
//   varint field count | null bitmap as a byte string (varint length, then bit i of byte i/8 set when the field at
//   encoding position i is null; Java trims trailing zero bytes, so no nulls = length 0) | each non-null field in
//   encoding-position order, nested.
// Field forms (Java's SchemaCoder / Python's RowCoder): BYTE 1 byte, INT16 2 bytes big-endian, INT32 varint
// (32-bit), INT64 varint (64-bit), FLOAT 4 bytes big-endian, DOUBLE 8 bytes big-endian, STRING/BYTES
// length-prefixed, BOOLEAN 1 byte, ARRAY/ITERABLE 4-byte count + elements, MAP 4-byte count + key/value pairs, ROW
// a nested row. Nullable array elements, map keys and values carry their own presence byte. Logical types use
// their representation's form, except millis_instant (8-byte shifted instant, as Java's InstantCoder) and decimal
// (Java's BigDecimalCoder).
//
// Null bits follow encoding positions, as Java's RowCoderGenerator does; Python 2.77's RowCoderImpl indexes
// them by field order instead. The two agree whenever encoding positions are the field order (always the case for
// schemas Python builds).
import { CoderError, describeValue, type ByteReader, type ByteWriter } from "./bytes-io.js";
import { boolCoder } from "./bool.js";
import { bytesCoder } from "./bytes.js";
import type { Coder, CoderContext } from "./coder.js";
import { decimalCoder } from "./decimal.js";
import { doubleCoder } from "./double.js";
import { instantCoder } from "./instant.js";
import { iterableCoder } from "./iterable.js";
import { mapCoder } from "./map.js";
import { nullableCoder } from "./nullable.js";
import { float32Coder, int16Coder, int8Coder, varInt32Coder } from "./numbers.js";
import { stringUtf8Coder } from "./string-utf8.js";
import { CoderUrns, LogicalTypeUrns } from "./urns.js";
import { varIntCoder } from "./varint.js";
import {
  AtomicType,
  SchemaError,
  encodeSchema,
  encodingPositions,
  fieldTypeKind,
  type FieldType,
  type Row,
  type Schema,
  type TypedSchema,
} from "../schema.js";

const MAX_SCHEMA_DEPTH = 64;
const MAX_COMPILED_ROW_SOURCE = 4096;

export interface RowCoderOptions {
  /** The encoded Schema this coder came from (the Runner API coder payload), kept for re-serialisation. */
  readonly payload?: Uint8Array;
}

export function rowCoder<T extends Row>(schema: TypedSchema<T>, options?: RowCoderOptions): Coder<T>;
export function rowCoder(schema: Schema, options?: RowCoderOptions): Coder<Row>;
export function rowCoder(schema: Schema, options: RowCoderOptions = {}): Coder<Row> {
  return schemaErrorsAsCoderErrors(() => buildRowCoder(schema, options.payload, 0));
}

/**
 * The coder of one value of a schema field type, as it appears inside arrays, maps and logical types (nullable
 * types carry a presence byte). Row fields themselves use the non-null form plus the row's null bitmap.
 */
export function fieldValueCoder(type: FieldType): Coder<unknown> {
  return schemaErrorsAsCoderErrors(() => valueCoder(type, 0, "value"));
}

function schemaErrorsAsCoderErrors<T>(build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof SchemaError) throw new CoderError("CODER_SCHEMA", err.message, { cause: err });
    throw err;
  }
}

function valueCoder(type: FieldType, depth: number, path: string): Coder<unknown> {
  const coder = nonNullCoder(type, depth, path);
  return type.nullable ? nullableCoder(coder) : coder;
}

function nonNullCoder(type: FieldType, depth: number, path: string): Coder<unknown> {
  if (depth > MAX_SCHEMA_DEPTH) throw new SchemaError(`${path}: schema nested deeper than ${MAX_SCHEMA_DEPTH} levels`);
  const kind = fieldTypeKind(type);
  switch (kind.kind) {
    case "atomic":
      return atomicCoder(kind.atomic, path);
    case "array":
    case "iterable":
      return iterableCoder(valueCoder(kind.element, depth + 1, `${path}[]`)) as Coder<unknown>;
    case "map":
      return mapCoder(
        valueCoder(kind.key, depth + 1, `${path}{key}`),
        valueCoder(kind.value, depth + 1, `${path}{value}`),
      ) as Coder<unknown>;
    case "row":
      return buildRowCoder(kind.schema, undefined, depth + 1) as Coder<unknown>;
    case "logical": {
      const { urn, representation } = kind.logical;
      if (urn === LogicalTypeUrns.MILLIS_INSTANT) return instantCoder as Coder<unknown>;
      if (urn === LogicalTypeUrns.DECIMAL) return decimalCoder as Coder<unknown>;
      if (urn === LogicalTypeUrns.PYTHON_ANY) {
        throw new SchemaError(
          `${path}: logical type ${urn} holds pickled Python objects, which only Python can decode`,
        );
      }
      if (!representation) throw new SchemaError(`${path}: logical type ${urn} has no representation type`);
      return valueCoder(representation, depth + 1, `${path}<${urn}>`);
    }
  }
}

function atomicCoder(atomic: AtomicType, path: string): Coder<unknown> {
  switch (atomic) {
    case AtomicType.BYTE:
      return int8Coder as Coder<unknown>;
    case AtomicType.INT16:
      return int16Coder as Coder<unknown>;
    case AtomicType.INT32:
      return varInt32Coder as Coder<unknown>;
    case AtomicType.INT64:
      return varIntCoder as Coder<unknown>;
    case AtomicType.FLOAT:
      return float32Coder as Coder<unknown>;
    case AtomicType.DOUBLE:
      return doubleCoder as Coder<unknown>;
    case AtomicType.STRING:
      return stringUtf8Coder as Coder<unknown>;
    case AtomicType.BOOLEAN:
      return boolCoder as Coder<unknown>;
    case AtomicType.BYTES:
      return bytesCoder as Coder<unknown>;
    default:
      throw new SchemaError(`${path}: atomic type ${atomic} (UNSPECIFIED) has no encoding`);
  }
}

function fieldError(err: unknown, field: string): unknown {
  if (!(err instanceof CoderError)) return err;
  return new CoderError(err.code, `row field "${field}": ${err.message}`, { cause: err });
}

/**
 * Builds row objects from values in field order. A generated object literal gives every decoded row the same
 * shape in one allocation (Java's RowCoderGenerator generates its coders for the same reason). Names are quoted
 * with JSON.stringify; "__proto__" as a literal key would set the prototype, so such schemas take the slow path.
 */
export function rowFactory(names: readonly string[]): (values: readonly unknown[]) => Row {
  const body = names.map((name, i) => `${JSON.stringify(name)}: v[${i}]`).join(", ");
  // V8 keeps the source of a compiled function over a few KiB after the function is gone (2× its size, for good),
  // and schemas come from requests: rows of a schema with long names are built the slow way.
  if (names.includes("__proto__") || names.length > 1000 || body.length > MAX_COMPILED_ROW_SOURCE) {
    return (values) => {
      const row: Row = {};
      for (const [i, name] of names.entries())
        Object.defineProperty(row, name, { value: values[i], enumerable: true, writable: true, configurable: true });
      return row;
    };
  }
  return new Function("v", `return { ${body} };`) as (values: readonly unknown[]) => Row;
}

function buildRowCoder(schema: Schema, payload: Uint8Array | undefined, depth: number): Coder<Row> {
  if (schema === null || typeof schema !== "object" || !Array.isArray(schema.fields)) {
    throw new SchemaError(`row schema: expected {fields: [...]}, got ${describeValue(schema)}`);
  }
  const n = schema.fields.length;
  const names = schema.fields.map((f) => f.name);
  if (new Set(names).size !== n) throw new SchemaError(`schema ${schema.id ?? "(no id)"}: duplicate field names`);
  const positions = encodingPositions(schema);
  // By encoding position: which field, its name, whether it may be null, its (non-null) coder.
  const indexAt = new Array<number>(n);
  for (const [index, position] of positions.entries()) indexAt[position] = index;
  const nameAt = indexAt.map((i) => names[i]!);
  const nullableAt = indexAt.map((i) => schema.fields[i]!.type?.nullable === true);
  const coderAt = indexAt.map((i) => {
    const field = schema.fields[i]!;
    if (!field.type) throw new SchemaError(`field ${field.name}: no type`);
    return nonNullCoder(field.type, depth + 1, field.name);
  });
  const makeRow = rowFactory(names);
  const scratch = new Array<unknown>(n).fill(undefined);
  let encodedSchema = payload;

  return Object.freeze({
    urn: CoderUrns.ROW,
    components: [],
    /** The Schema proto bytes: the payload this coder came with, else the schema encoded on first use. */
    get payload(): Uint8Array {
      return (encodedSchema ??= encodeSchema(schema));
    },
    minNestedBytes: 2,
    encode(row: Row, out: ByteWriter): void {
      if (row === null || typeof row !== "object") {
        throw new CoderError("CODER_VALUE", `row: expected an object, got ${describeValue(row)}`);
      }
      // Read each field once, in encoding order (a row coder is never re-entered while it encodes: a schema is a
      // tree, so nested rows have coders of their own). The scratch is cleared after, not to keep values alive.
      const values = scratch;
      try {
        let lastNull = -1;
        for (let p = 0; p < n; p++) {
          const name = nameAt[p]!;
          // A field named __proto__ must be an own property (else row["__proto__"] is Object.prototype).
          const value = name === "__proto__" && !Object.hasOwn(row, name) ? undefined : row[name];
          values[p] = value;
          if (value == null) {
            if (!nullableAt[p]) {
              throw new CoderError(
                "CODER_VALUE",
                `row field "${name}": null or missing, but the field is not nullable`,
              );
            }
            lastNull = p;
          }
        }
        out.writeVarInt(n);
        if (lastNull < 0) {
          out.writeByte(0);
        } else {
          const length = (lastNull >> 3) + 1;
          out.writeVarInt(length);
          for (let b = 0; b < length; b++) {
            let bits = 0;
            for (let j = 0, p = b * 8; j < 8 && p < n; j++, p++) if (values[p] == null) bits |= 1 << j;
            out.writeByte(bits);
          }
        }
        for (let p = 0; p < n; p++) {
          const value = values[p];
          if (value == null) continue;
          try {
            coderAt[p]!.encode(value, out, "nested");
          } catch (err) {
            throw fieldError(err, nameAt[p]!);
          }
        }
      } finally {
        values.fill(undefined);
      }
    },
    decode(input: ByteReader, context: CoderContext): Row {
      const count = input.readLength("row field count", 0x7fffffff);
      const maskLength = input.readLength("row null bitmap length");
      const maskAt = input.position;
      input.skip(maskLength);
      const decoded = Math.min(count, n);
      // Values by field index, then one object literal: decoded rows share one shape.
      const values = new Array<unknown>(n);
      for (let p = 0; p < decoded; p++) {
        const index = indexAt[p]!;
        if (p >> 3 < maskLength && (input.byteAt(maskAt + (p >> 3)) & (1 << (p & 7))) !== 0) {
          values[index] = null;
          continue;
        }
        try {
          values[index] = coderAt[p]!.decode(input, "nested");
        } catch (err) {
          throw fieldError(err, nameAt[p]!);
        }
      }
      // Fewer encoded fields than the schema has: the schema grew, the new fields are null (Java and Python).
      for (let p = decoded; p < n; p++) values[indexAt[p]!] = null;
      if (count > n) {
        // More: the writer's schema had fields we do not know. Only the outer context can skip them.
        if (context === "outer") input.skip(input.remaining);
        else {
          throw new CoderError(
            "CODER_INVALID",
            `row: ${count} encoded fields, but the schema has ${n}; unknown fields cannot be skipped in a nested context`,
          );
        }
      }
      return makeRow(values);
    },
  });
}
