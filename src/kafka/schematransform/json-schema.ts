// The JSON format of the Kafka SchemaTransforms: a JSON-schema text (what Beam YAML and managed configs pass as
// `schema`) mapped to a Beam Row schema, record values parsed into rows of it, and rows serialized back to JSON.
//
// The mapping follows Beam Java's JsonUtils where it has one: integer → INT64, number → DOUBLE, string → STRING,
// boolean → BOOLEAN, object → ROW, array (one `items` schema) → ARRAY. Where Java makes every field non-null, we
// make a property nullable unless the schema lists it in `required` (or its type includes "null" explicitly):
// JSON messages leave optional properties out, and a row schema that refused them would dead-letter most records.
import { fieldTypeOf, type Field, type FieldType, type Schema } from "../../model/schema.js";
import { randomUUID } from "node:crypto";

/** The JSON-able description of a JSON-schema type we support; it travels in the DoFn payload. */
export type JsonType =
  | { readonly kind: "string" | "integer" | "number" | "boolean"; readonly nullable: boolean }
  | { readonly kind: "array"; readonly items: JsonType; readonly nullable: boolean }
  | JsonObjectType;

export interface JsonObjectType {
  readonly kind: "object";
  readonly nullable: boolean;
  readonly properties: readonly { readonly name: string; readonly type: JsonType }[];
}

/** A problem with the schema text or a value, at a JSON path ("$.address.city"). */
export class JsonFormatError extends Error {
  override readonly name = "JsonFormatError";
  readonly code = "JSON_FORMAT";
  readonly retriable = false;
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

const MAX_DEPTH = 32;
const SCALARS = new Set(["string", "integer", "number", "boolean"]);

/** Parses a JSON-schema text whose root is an object schema; throws JsonFormatError naming the schema path. */
export function parseJsonSchema(text: string): JsonObjectType {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new JsonFormatError("$", `not valid JSON: ${(err as Error).message}`);
  }
  const root = jsonType(parsed, "$", 0, true);
  if (root.kind !== "object")
    throw new JsonFormatError("$", `the root must be an object schema ("type": "object"), got "${root.kind}"`);
  return { ...root, nullable: false };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function jsonType(node: unknown, path: string, depth: number, required: boolean): JsonType {
  if (depth > MAX_DEPTH) throw new JsonFormatError(path, `nested deeper than ${MAX_DEPTH} levels`);
  if (!isPlainObject(node)) throw new JsonFormatError(path, "expected a schema object");
  for (const unsupported of ["$ref", "oneOf", "anyOf", "allOf", "not"]) {
    if (unsupported in node)
      throw new JsonFormatError(path, `"${unsupported}" is not supported (give each property a plain "type")`);
  }
  let types: unknown[] = Array.isArray(node.type) ? [...node.type] : [node.type];
  if (node.type === undefined) {
    if (isPlainObject(node.properties)) types = ["object"];
    else throw new JsonFormatError(path, `has no "type"`);
  }
  const explicitNull = types.includes("null");
  const nonNull = types.filter((t) => t !== "null");
  if (nonNull.length !== 1 || typeof nonNull[0] !== "string") {
    throw new JsonFormatError(
      path,
      `"type" must name one type (optionally with "null"), got ${JSON.stringify(node.type)}`,
    );
  }
  const kind = nonNull[0];
  const nullable = explicitNull || !required;
  if (SCALARS.has(kind)) return { kind: kind as "string" | "integer" | "number" | "boolean", nullable };
  if (kind === "array") {
    if (!isPlainObject(node.items)) {
      throw new JsonFormatError(
        `${path}.items`,
        `an array needs one "items" schema (tuple-like arrays are not supported)`,
      );
    }
    // Array elements are present when listed: only an explicit "null" makes them nullable.
    return { kind: "array", items: jsonType(node.items, `${path}[]`, depth + 1, true), nullable };
  }
  if (kind === "object") {
    const props = node.properties ?? {};
    if (!isPlainObject(props))
      throw new JsonFormatError(`${path}.properties`, "expected an object of property schemas");
    const requiredList = node.required ?? [];
    if (!Array.isArray(requiredList) || requiredList.some((r) => typeof r !== "string")) {
      throw new JsonFormatError(`${path}.required`, "expected a list of property names");
    }
    const names = Object.keys(props);
    if (names.length === 0)
      throw new JsonFormatError(path, "an object schema needs at least one property (a Row has fields)");
    for (const r of requiredList as string[]) {
      if (!names.includes(r)) throw new JsonFormatError(`${path}.required`, `names "${r}", which is not a property`);
    }
    return {
      kind: "object",
      nullable,
      properties: names.map((name) => ({
        name,
        type: jsonType(props[name], `${path}.${name}`, depth + 1, (requiredList as string[]).includes(name)),
      })),
    };
  }
  throw new JsonFormatError(path, `type "${kind}" is not supported (string, integer, number, boolean, object, array)`);
}

// ---------------------------------------------------------------------------------------------------------------
// JsonType → Beam schema.

function fieldType(type: JsonType): FieldType {
  const base: FieldType = (() => {
    switch (type.kind) {
      case "string":
        return fieldTypeOf("string");
      case "integer":
        return fieldTypeOf("int64");
      case "number":
        return fieldTypeOf("double");
      case "boolean":
        return fieldTypeOf("boolean");
      case "array":
        return { arrayType: { elementType: fieldType(type.items) } };
      case "object":
        return { rowType: { schema: rowSchemaOf(type) } };
    }
  })();
  return type.nullable ? { ...base, nullable: true } : base;
}

/** The Beam Row schema of an object type, fields in the schema's property order (fresh schema ids). */
export function rowSchemaOf(type: JsonObjectType): Schema {
  const fields: Field[] = type.properties.map((p) => ({ name: p.name, type: fieldType(p.type) }));
  return { id: randomUUID(), fields };
}

// ---------------------------------------------------------------------------------------------------------------
// JSON bytes → row.

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses a record value into a row of `type`; throws JsonFormatError naming the value path. */
export function jsonBytesToRow(bytes: Uint8Array, type: JsonObjectType): Record<string, unknown> {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new JsonFormatError("$", "the value is not UTF-8 text");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new JsonFormatError("$", `the value is not JSON: ${(err as Error).message}`);
  }
  return toRow(parsed, type, "$");
}

function toRow(value: unknown, type: JsonObjectType, path: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw new JsonFormatError(path, `expected an object, got ${describe(value)}`);
  const row: Record<string, unknown> = {};
  for (const p of type.properties) row[p.name] = toValue(value[p.name], p.type, `${path}.${p.name}`);
  return row;
}

function toValue(value: unknown, type: JsonType, path: string): unknown {
  if (value === undefined || value === null) {
    if (type.nullable) return null;
    throw new JsonFormatError(path, value === undefined ? "required property is missing" : "must not be null");
  }
  switch (type.kind) {
    case "string":
      if (typeof value !== "string") throw new JsonFormatError(path, `expected a string, got ${describe(value)}`);
      return value;
    case "boolean":
      if (typeof value !== "boolean") throw new JsonFormatError(path, `expected a boolean, got ${describe(value)}`);
      return value;
    case "number":
      if (typeof value !== "number") throw new JsonFormatError(path, `expected a number, got ${describe(value)}`);
      return value;
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value))
        throw new JsonFormatError(path, `expected an integer, got ${describe(value)}`);
      // JSON.parse has already rounded integers beyond 2^53: refuse them rather than emit a different number.
      if (!Number.isSafeInteger(value))
        throw new JsonFormatError(path, `integer ${value} is beyond ±2^53 and cannot be read exactly`);
      return BigInt(value);
    case "array":
      if (!Array.isArray(value)) throw new JsonFormatError(path, `expected an array, got ${describe(value)}`);
      return value.map((v, i) => toValue(v, type.items, `${path}[${i}]`));
    case "object":
      return toRow(value, type, path);
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

// ---------------------------------------------------------------------------------------------------------------
// row → JSON bytes.

const utf8Encoder = new TextEncoder();

/**
 * Serializes a decoded Row (any schema) as a JSON object: INT64 exactly (bigint digits), BYTES as base64, MAP
 * with string keys as an object, nested rows as objects, null as null. Throws JsonFormatError for values JSON cannot
 * carry (non-finite doubles, maps with non-string keys).
 */
export function rowToJsonBytes(row: Record<string, unknown>): Uint8Array {
  return utf8Encoder.encode(jsonText(row, "$"));
}

function jsonText(value: unknown, path: string): string {
  if (value === null || value === undefined) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "number":
      if (!Number.isFinite(value)) throw new JsonFormatError(path, `${value} has no JSON form`);
      return JSON.stringify(value);
    case "object":
      break;
    default:
      throw new JsonFormatError(path, `a ${typeof value} has no JSON form`);
  }
  if (value instanceof Uint8Array)
    return JSON.stringify(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64"));
  if (Array.isArray(value)) return `[${value.map((v, i) => jsonText(v, `${path}[${i}]`)).join(",")}]`;
  if (value instanceof Map) {
    const parts: string[] = [];
    for (const [k, v] of value) {
      if (typeof k !== "string")
        throw new JsonFormatError(path, `map key ${String(k)} is not a string: JSON objects have string keys`);
      parts.push(`${JSON.stringify(k)}:${jsonText(v, `${path}.${k}`)}`);
    }
    return `{${parts.join(",")}}`;
  }
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record)
    .map((k) => `${JSON.stringify(k)}:${jsonText(record[k], `${path}.${k}`)}`)
    .join(",")}}`;
}
