// What the Kafka read and write configs share: field descriptions, the value format, refusals of what this service
// does not do, the error output's name, and the mapping of a spec validator's error back to the config field.
import { KafkaConfigError } from "../../kafka/index.js";
import type { ValueFormat } from "../../kafka/schematransform/index.js";
import { invalidArgument } from "../errors.js";
import type { ErrorHandlingConfig, SchemaTransformConfig } from "./config.js";

export const BOOTSTRAP_DESCRIPTION =
  "A list of host/port pairs to use for establishing the initial connection to the Kafka " +
  "cluster, in the form `host1:port1,host2:port2,...`.";
export const SCHEMA_DESCRIPTION =
  "The schema in which the data is encoded in the Kafka topic. For AVRO data, an Avro record schema; for JSON data, " +
  "a JSON-schema (https://json-schema.org/) object schema; PROTO is not supported by this service.";
export const ERROR_HANDLING_DESCRIPTION = "This option specifies whether and where to output unwritable rows.";

const ALL_FORMATS = ["RAW", "JSON", "AVRO", "PROTO"] as const;

export function valueFormat(config: SchemaTransformConfig, direction: "read" | "write"): ValueFormat {
  const format = config.get("format") as string | undefined;
  if (format === undefined) {
    // As Beam Java: a read without a format is AVRO; a write must say.
    if (direction === "read") return "AVRO";
    throw invalidArgument("format", "required: RAW, JSON or AVRO");
  }
  if (format === "RAW" || format === "JSON" || format === "AVRO") return format;
  if ((ALL_FORMATS as readonly string[]).includes(format)) {
    throw invalidArgument("format", `${format} is not supported by kafka-beam-ts (supported: RAW, JSON, AVRO)`);
  }
  throw invalidArgument(
    "format",
    `must be one of ${ALL_FORMATS.join(", ")} (this service supports RAW, JSON and AVRO), got ${JSON.stringify(format)}`,
  );
}

export function refuse(config: SchemaTransformConfig, field: string, why: string): void {
  if (config.has(field)) throw invalidArgument(field, why);
}

export function refuseProtoFields(config: SchemaTransformConfig): void {
  for (const field of ["file_descriptor_path", "message_name"]) {
    refuse(config, field, "is only used with format PROTO, which kafka-beam-ts does not support");
  }
}

export function errorOutputName(config: SchemaTransformConfig, reserved: readonly string[]): string | null {
  const handling = config.get("error_handling") as ErrorHandlingConfig | undefined;
  if (!handling) return null;
  if (reserved.includes(handling.output)) {
    throw invalidArgument(
      "error_handling.output",
      `${JSON.stringify(handling.output)} is already the name of the main output`,
    );
  }
  return handling.output;
}

/** Maps a KafkaConfigError from the spec validators to the config field (or the Kafka key inside a config map). */
export function validated<T>(mapField: string, fromFields: ReadonlyMap<string, string>, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof KafkaConfigError)) throw err;
    const field = fromFields.get(err.key) ?? `${mapField}['${err.key}']`;
    throw invalidArgument(field, err.message.slice(err.key.length + 2), err);
  }
}
