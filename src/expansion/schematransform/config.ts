// A SchemaTransform's config: its fields as discovered (Beam Java's names and types: Python rearranges its keyword
// arguments by them), the config schema built from them, and the check of a sent config (a decoded Row, or a YAML
// mapping for managed) against them.
import { randomUUID } from "node:crypto";
import { AtomicType, type Field, type FieldType, type Schema } from "../../model/schema.js";
import { invalidArgument } from "../errors.js";
import { canonicalFieldName } from "../payload.js";
import type { ExpansionContext, ExpansionResult } from "../registry.js";

export type ConfigFieldKind = "string" | "boolean" | "int32" | "string_map" | "error_handling";

export interface ConfigField {
  /** snake_case, as discovered */
  readonly name: string;
  readonly kind: ConfigFieldKind;
  /** Non-nullable in the discovered schema; missing or null is an error. */
  readonly required?: boolean;
  readonly description: string;
}

export interface ErrorHandlingConfig {
  readonly output: string;
}

export type ConfigFieldValue = string | boolean | number | Readonly<Record<string, string>> | ErrorHandlingConfig;

/** Converted config values by canonical name; absent and null fields are left out. */
export type SchemaTransformConfig = ReadonlyMap<string, ConfigFieldValue>;

/**
 * A SchemaTransform served by identifier (`beam:expansion:payload:schematransform:v1` requests): its config fields,
 * input and output PCollection names and description as DiscoverSchemaTransform reports them, and its expander,
 * which gets the config already checked against `fields`.
 */
export interface SchemaTransformDefinition {
  readonly identifier: string;
  readonly description: string;
  /** In discovery order. */
  readonly fields: readonly ConfigField[];
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  expand(config: SchemaTransformConfig, ctx: ExpansionContext): ExpansionResult;
}

const STRING: FieldType = { atomicType: AtomicType.STRING };

function configFieldType(field: ConfigField): FieldType {
  const base: FieldType = (() => {
    switch (field.kind) {
      case "string":
        return STRING;
      case "boolean":
        return { atomicType: AtomicType.BOOLEAN };
      case "int32":
        return { atomicType: AtomicType.INT32 };
      case "string_map":
        return { mapType: { keyType: STRING, valueType: STRING } };
      case "error_handling":
        return {
          rowType: {
            schema: configSchema([
              {
                name: "output",
                kind: "string",
                required: true,
                description: "The name of the output PCollection containing failed reads or writes.",
              },
            ]),
          },
        };
    }
  })();
  return field.required ? base : { ...base, nullable: true };
}

function configSchema(fields: readonly ConfigField[]): Schema {
  const schemaFields: Field[] = fields.map((f) => ({
    name: f.name,
    description: f.description,
    type: configFieldType(f),
  }));
  return { id: randomUUID(), fields: schemaFields };
}

/** The config schema a definition is discovered with (fresh schema ids on every call). */
export function schemaTransformConfigSchema(definition: SchemaTransformDefinition): Schema {
  return configSchema(definition.fields);
}

/** How a value reads in an error message (never the value itself: configs may hold secrets). */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof Map) return "a map";
  if (Array.isArray(value)) return "a list";
  if (value instanceof Uint8Array) return "bytes";
  if (typeof value === "bigint" || (typeof value === "number" && Number.isInteger(value))) return "an integer";
  return typeof value === "object" ? "a mapping" : `a ${typeof value}`;
}

function entriesOf(value: unknown): [unknown, unknown][] | null {
  if (value instanceof Map) return [...value.entries()];
  if (value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Uint8Array))
    return Object.entries(value);
  return null;
}

function convertField(field: ConfigField, sent: string, value: unknown): ConfigFieldValue {
  const wrong = (expected: string) => invalidArgument(sent, `expected ${expected}, got ${describe(value)}`);
  switch (field.kind) {
    case "string":
      if (typeof value !== "string") throw wrong("a string");
      return value;
    case "boolean":
      if (typeof value !== "boolean") throw wrong("a boolean");
      return value;
    case "int32": {
      const n =
        typeof value === "bigint" ? value : typeof value === "number" && Number.isInteger(value) ? BigInt(value) : null;
      if (n === null) throw wrong("an integer");
      if (n < -2147483648n || n > 2147483647n) throw invalidArgument(sent, `${n} is out of the INT32 range`);
      return Number(n);
    }
    case "string_map": {
      const entries = entriesOf(value);
      if (!entries) throw wrong("a map of strings to strings");
      const out: Record<string, string> = {};
      for (const [k, v] of entries) {
        if (typeof k !== "string") throw invalidArgument(sent, `keys must be strings, got ${describe(k)}`);
        // YAML configs carry numbers and booleans unquoted (max.poll.records: 500): Kafka configs are text.
        if (typeof v === "string") out[k] = v;
        else if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") out[k] = String(v);
        else throw invalidArgument(`${sent}['${k}']`, `expected a string, got ${describe(v)}`);
      }
      return Object.freeze(out);
    }
    case "error_handling": {
      const entries = entriesOf(value);
      if (!entries) throw wrong("a row {output: name}");
      let output: unknown;
      for (const [k, v] of entries) {
        if (k === "output") output = v;
        else if (v !== null && v !== undefined)
          throw invalidArgument(`${sent}.${String(k)}`, "unknown field (error_handling has one field, output)");
      }
      if (typeof output !== "string" || output.length === 0) {
        throw invalidArgument(`${sent}.output`, "the name of the error output must be a non-empty string");
      }
      return Object.freeze({ output });
    }
  }
}

/**
 * Checks a config (a decoded Row, or a YAML mapping for managed) against a transform's fields: spellings meet on
 * snake_case, unknown fields are errors unless null, kinds match, required fields are present.
 */
export function readSchemaTransformConfig(
  definition: SchemaTransformDefinition,
  entries: Iterable<[string, unknown]>,
): SchemaTransformConfig {
  const byName = new Map(definition.fields.map((f) => [f.name, f]));
  const values = new Map<string, ConfigFieldValue>();
  const spelledAs = new Map<string, string>();
  for (const [sent, value] of entries) {
    const name = canonicalFieldName(sent);
    const field = byName.get(name);
    if (!field) {
      if (value === null || value === undefined) continue;
      throw invalidArgument(
        sent,
        `unknown field of ${definition.identifier}; known fields: ${definition.fields.map((f) => f.name).join(", ")}`,
      );
    }
    const earlier = spelledAs.get(name);
    if (earlier !== undefined) throw invalidArgument(sent, `given twice (also as ${earlier})`);
    spelledAs.set(name, sent);
    if (value === null || value === undefined) continue;
    values.set(name, convertField(field, sent, value));
  }
  for (const field of definition.fields) {
    if (field.required && !values.has(field.name))
      throw invalidArgument(field.name, `required field of ${definition.identifier} is missing`);
  }
  return values;
}
