// Decoding of an ExternalConfigurationPayload (a Schema plus a Row encoded with it) into named values, and the
// checks every transform's config goes through: field-name spellings, unknown fields, value kinds.
import { externalTransforms, runnerApi } from "../model/proto/index.js";
import { decodeFromBytes, rowCoder, type Coder } from "../model/coders/index.js";
import { decodeSchema, type Row } from "../model/schema.js";
import { BoundedCache } from "./bounded-cache.js";
import { invalidArgument } from "./errors.js";

/**
 * The one spelling we compare on: snake_case. Beam's Java expansion service matches fields loosely, so
 * `consumer_config` (Python), `ConsumerConfig` (Go) and `consumerConfig` all name the same field.
 */
export function canonicalFieldName(name: string): string {
  let canonical = canonicalNames.get(name);
  if (canonical === undefined) {
    canonical = snakeCase(name);
    if (canonicalNames.size < 10_000 && name.length <= MAX_CACHED_NAME_LENGTH) canonicalNames.set(name, canonical);
  }
  return canonical;
}

// Field names repeat across requests (one payload schema per SDK version): computed once each. Only short names
// are kept: a request can carry names of any length, and 10,000 long ones would be gigabytes.
const canonicalNames = new Map<string, string>();
const MAX_CACHED_NAME_LENGTH = 128;

function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();
}

/**
 * The kind a payload field's value must have: `int` is a 64-bit integer, read as a bigint (a whole JS number is
 * accepted too); `string_map` maps strings to strings.
 */
export type FieldKind = "string" | "bool" | "int" | "string_list" | "string_map";

/**
 * One field of a transform's ExternalConfigurationPayload, served on /transforms and checked on every request: any
 * spelling of `name` (camelCase, PascalCase) matches it; a value that breaks a check is an INVALID_ARGUMENT error.
 */
export interface FieldSpec {
  /** snake_case name */
  readonly name: string;
  readonly kind: FieldKind;
  /** Missing or null is an error. */
  readonly required?: boolean;
  /** Accepted only as null/absent or this value (fields we know but do not act on). */
  readonly onlyValue?: unknown;
  /** Why a non-null value is refused (fields naming Java classes, ...). */
  readonly refuseNonNull?: string;
  readonly description?: string;
}

export type ConfigValue = string | boolean | bigint | readonly string[] | Readonly<Record<string, string>>;

/** Values by canonical field name; absent and null fields are left out. */
export type ConfigValues = ReadonlyMap<string, ConfigValue>;

// A payload schema is the same for every request of one SDK version: its row coder is built once. Large schemas
// (no SDK sends one) are decoded per request rather than kept: 256 of them could hold any amount of memory.
const rowCoders = new BoundedCache<string, Coder<Row>>(256);
const MAX_CACHED_SCHEMA_BYTES = 16 * 1024;

function payloadRowCoder(schemaProto: runnerApi.ISchema): Coder<Row> {
  const bytes = runnerApi.Schema.encode(schemaProto).finish();
  if (bytes.length > MAX_CACHED_SCHEMA_BYTES) return rowCoder(decodeSchema(bytes));
  const key = Buffer.from(bytes).toString("base64");
  let coder = rowCoders.get(key);
  if (!coder) {
    coder = rowCoder(decodeSchema(bytes));
    rowCoders.set(key, coder);
  }
  return coder;
}

/** Decodes the payload's Row with its own schema into values keyed by the field names as sent. */
export function decodeConfigurationRow(payload: Uint8Array): Record<string, unknown> {
  let message: externalTransforms.ExternalConfigurationPayload;
  try {
    message = externalTransforms.ExternalConfigurationPayload.decode(payload);
  } catch (err) {
    throw invalidArgument("payload", `not an ExternalConfigurationPayload: ${(err as Error).message}`, err);
  }
  if (!message.schema) throw invalidArgument("payload.schema", "missing");
  try {
    return decodeFromBytes(payloadRowCoder(message.schema), message.payload ?? new Uint8Array(0)) as Record<
      string,
      unknown
    >;
  } catch (err) {
    throw invalidArgument("payload", `the row does not decode with its schema: ${(err as Error).message}`, err);
  }
}

function describe(value: unknown): string {
  if (value instanceof Map) return "a map";
  if (Array.isArray(value)) return "a list";
  if (value instanceof Uint8Array) return "bytes";
  return typeof value === "bigint" ? "an integer" : `a ${typeof value}`;
}

function convert(field: string, kind: FieldKind, value: unknown): ConfigValue {
  const wrong = () => invalidArgument(field, `expected ${kind.replace("_", " ")}, got ${describe(value)}`);
  switch (kind) {
    case "string":
      if (typeof value !== "string") throw wrong();
      return value;
    case "bool":
      if (typeof value !== "boolean") throw wrong();
      return value;
    case "int":
      if (typeof value === "bigint") return value;
      if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
      throw wrong();
    case "string_list":
      if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) throw wrong();
      return Object.freeze([...(value as string[])]);
    case "string_map": {
      const entries =
        value instanceof Map
          ? [...value.entries()]
          : value && typeof value === "object" && !Array.isArray(value)
            ? Object.entries(value)
            : null;
      if (!entries || entries.some(([k, v]) => typeof k !== "string" || typeof v !== "string")) throw wrong();
      return Object.freeze(Object.fromEntries(entries as [string, string][]));
    }
  }
}

/**
 * Checks a decoded row against the transform's fields: every spelling maps to one known field, unknown fields are
 * errors unless null (newer SDKs add optional fields), kinds match, required fields are present.
 */
export function readConfigValues(row: Record<string, unknown>, specs: readonly FieldSpec[]): ConfigValues {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values = new Map<string, ConfigValue>();
  const spelledAs = new Map<string, string>();
  for (const [sent, value] of Object.entries(row)) {
    const name = canonicalFieldName(sent);
    const spec = byName.get(name);
    if (!spec) {
      if (value === null || value === undefined) continue;
      throw invalidArgument(sent, `unknown field; known fields: ${specs.map((s) => s.name).join(", ")}`);
    }
    const earlier = spelledAs.get(name);
    if (earlier !== undefined) throw invalidArgument(sent, `given twice (also as ${earlier})`);
    spelledAs.set(name, sent);
    if (value === null || value === undefined) continue;
    if (spec.refuseNonNull) throw invalidArgument(sent, spec.refuseNonNull);
    const converted = convert(sent, spec.kind, value);
    if (spec.onlyValue !== undefined && converted !== spec.onlyValue) {
      throw invalidArgument(sent, `only ${String(spec.onlyValue)} is supported, got ${String(converted)}`);
    }
    values.set(name, converted);
  }
  for (const spec of specs) {
    if (spec.required && !values.has(spec.name)) throw invalidArgument(spec.name, "required field is missing");
  }
  return values;
}
