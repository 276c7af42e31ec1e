// The format steps of the Kafka SchemaTransforms (Beam YAML, Python's managed.Read/Write(KAFKA)):
//   read:  Kafka record (metadata Row or KV of bytes) → Row of the configured format, failures to a dead-letter output;
//   write: Row → KV<null, value bytes> for the Kafka write, failures to a dead-letter output.
// Without a dead-letter output a failure fails the bundle, as Beam Java's providers do.
import type { DoFn, ProcessContext } from "../../sdf/index.js";
import { DoFnPayloadError, type DoFnPayload } from "../../model/dofn-payload.js";
import { schema, fieldTypeOf, type Schema } from "../../model/schema.js";
import { randomUUID } from "node:crypto";
import { jsonBytesToRow, rowToJsonBytes, type JsonObjectType } from "./json-schema.js";
import { avroBytesToRow, rowToAvroBytes } from "./avro-binary.js";
import type { AvroRecord } from "./avro-schema.js";

export const SCHEMATRANSFORM_DOFN_NAMES = Object.freeze({
  RECORDS_TO_ROWS: "kafka_schematransform_records_to_rows",
  ROWS_TO_RECORDS: "kafka_schematransform_rows_to_records",
});

/** Value formats this project maps; PROTO is refused at expansion. */
export type ValueFormat = "RAW" | "JSON" | "AVRO";
export const SUPPORTED_FORMATS: readonly ValueFormat[] = Object.freeze(["RAW", "JSON", "AVRO"]);

/** The local output name of the main output of both steps. */
export const MAIN_OUTPUT = "out";
/** The local output name of the dead letters of both steps. */
export const ERROR_OUTPUT = "errors";

export interface RecordsToRowsConfig {
  readonly format: ValueFormat;
  /** JSON: the row type the value is parsed into. */
  readonly json: JsonObjectType | null;
  /** AVRO: the record the value is encoded as. */
  readonly avro?: AvroRecord | null;
  /** Local output name for records that fail to parse; null: fail the bundle. */
  readonly errorOutput: string | null;
}

export interface RowsToRecordsConfig {
  readonly format: ValueFormat;
  /** RAW: the BYTES field of the input row that becomes the record value. */
  readonly payloadField: string | null;
  /** AVRO: the record each row is encoded as (derived from the input's row schema). */
  readonly avro?: AvroRecord | null;
  readonly errorOutput: string | null;
}

/** RAW read rows, as Beam Java's KafkaReadSchemaTransformProvider emits them. */
export function rawRowSchema(): Schema {
  return schema({ payload: "bytes" });
}

/** Dead letters of a read: the raw value and why it did not parse (Beam's ErrorHandling.errorSchemaBytes). */
export function readErrorSchema(): Schema {
  return schema({ failed_row: "bytes", error_message: "string" });
}

/** Dead letters of a write: the input row and why it could not be written (Beam's ErrorHandling.errorSchema). */
export function writeErrorSchema(inputSchema: Schema): Schema {
  return {
    id: randomUUID(),
    fields: [
      { name: "failed_row", type: { rowType: { schema: inputSchema } } },
      { name: "error_message", type: fieldTypeOf("string") },
    ],
  };
}

/** The DoFn payload of the read's format step; `mainOutput` tells a worker which output `output()` goes to. */
export function recordsToRowsPayload(config: RecordsToRowsConfig): DoFnPayload {
  return { fn: SCHEMATRANSFORM_DOFN_NAMES.RECORDS_TO_ROWS, ...config, mainOutput: MAIN_OUTPUT };
}

export function rowsToRecordsPayload(config: RowsToRecordsConfig): DoFnPayload {
  return { fn: SCHEMATRANSFORM_DOFN_NAMES.ROWS_TO_RECORDS, ...config, mainOutput: MAIN_OUTPUT };
}

function formatOf(payload: DoFnPayload): ValueFormat {
  const format = payload.format;
  if (!SUPPORTED_FORMATS.includes(format as ValueFormat))
    throw new DoFnPayloadError(
      `${payload.fn}: format must be ${SUPPORTED_FORMATS.join(", ")}, got ${JSON.stringify(format)}`,
    );
  return format as ValueFormat;
}

/** The AVRO record of a payload (required with format AVRO). */
function avroOf(payload: DoFnPayload, format: ValueFormat): AvroRecord | null {
  const avro = (payload.avro ?? null) as AvroRecord | null;
  if (format === "AVRO" && (avro === null || avro.kind !== "record" || !Array.isArray(avro.fields)))
    throw new DoFnPayloadError(`${payload.fn}: an AVRO format step needs the Avro record ("avro")`);
  return avro;
}

function errorOutputOf(payload: DoFnPayload): string | null {
  const output = payload.errorOutput ?? null;
  if (output !== null && (typeof output !== "string" || output.length === 0)) {
    throw new DoFnPayloadError(`${payload.fn}: errorOutput must be a non-empty string or null`);
  }
  return output;
}

/** What the read step gets: the metadata Row (topic, partition, offset, value, ...) or a KV; values as bytes. */
interface RecordLike {
  readonly value?: Uint8Array | null;
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: bigint | number;
}

const EMPTY = new Uint8Array(0);

function where(record: RecordLike): string {
  return record.topic !== undefined && record.offset !== undefined
    ? `${record.topic}-${record.partition ?? "?"}@${String(record.offset)}: `
    : "";
}

export class RecordFormatError extends Error {
  override readonly name = "RecordFormatError";
  readonly code = "RECORD_FORMAT";
  readonly retriable = false;
}

class RecordsToRows implements DoFn<RecordLike, Record<string, unknown>> {
  constructor(private readonly config: RecordsToRowsConfig) {}

  doFnPayload(): DoFnPayload {
    return recordsToRowsPayload(this.config);
  }

  process(record: RecordLike, context: ProcessContext<Record<string, unknown>>) {
    const value = record.value ?? null;
    let row: Record<string, unknown>;
    try {
      if (value === null) throw new Error("the record has no value (a tombstone)");
      row =
        this.config.format === "RAW"
          ? { payload: value }
          : this.config.format === "AVRO"
            ? avroBytesToRow(value, this.config.avro!)
            : jsonBytesToRow(value, this.config.json!);
    } catch (err) {
      const message = `${where(record)}${(err as Error).message}`;
      if (this.config.errorOutput === null) {
        throw new RecordFormatError(`${message} (set error_handling to send such records to an output instead)`, {
          cause: err,
        });
      }
      context.metrics.counter("Kafka-read-error-counter").inc();
      return context.outputTagged(this.config.errorOutput, { failed_row: value ?? EMPTY, error_message: message });
    }
    return context.output(row);
  }
}

/** The write step's main output: a record with no key (Kafka's default partitioner spreads them). */
export interface KeylessRecord {
  readonly key: null;
  readonly value: Uint8Array;
}

class RowsToRecords implements DoFn<Record<string, unknown>, KeylessRecord> {
  constructor(private readonly config: RowsToRecordsConfig) {}

  doFnPayload(): DoFnPayload {
    return rowsToRecordsPayload(this.config);
  }

  process(row: Record<string, unknown>, context: ProcessContext<KeylessRecord>) {
    let value: Uint8Array;
    try {
      if (this.config.format === "RAW") {
        const field = this.config.payloadField!;
        const bytes = row[field];
        if (!(bytes instanceof Uint8Array))
          throw new Error(`field ${field} is ${bytes === null || bytes === undefined ? "null" : "not bytes"}`);
        value = bytes;
      } else if (this.config.format === "AVRO") {
        value = rowToAvroBytes(row, this.config.avro!);
      } else {
        value = rowToJsonBytes(row);
      }
    } catch (err) {
      if (this.config.errorOutput === null) {
        throw new RecordFormatError(
          `${(err as Error).message} (set error_handling to send such rows to an output instead)`,
          { cause: err },
        );
      }
      context.metrics.counter("Kafka-write-error-counter").inc();
      return context.outputTagged(this.config.errorOutput, { failed_row: row, error_message: (err as Error).message });
    }
    return context.output({ key: null, value });
  }
}

function recordsToRowsFromPayload(payload: DoFnPayload): DoFn<RecordLike, Record<string, unknown>> {
  const format = formatOf(payload);
  const json = (payload.json ?? null) as JsonObjectType | null;
  if (format === "JSON" && (json === null || json.kind !== "object" || !Array.isArray(json.properties))) {
    throw new DoFnPayloadError(`${payload.fn}: a JSON read needs the row type ("json")`);
  }
  return new RecordsToRows({ format, json, avro: avroOf(payload, format), errorOutput: errorOutputOf(payload) });
}

function rowsToRecordsFromPayload(payload: DoFnPayload): DoFn<Record<string, unknown>, KeylessRecord> {
  const format = formatOf(payload);
  const payloadField = (payload.payloadField ?? null) as string | null;
  if (format === "RAW" && (typeof payloadField !== "string" || payloadField.length === 0)) {
    throw new DoFnPayloadError(`${payload.fn}: a RAW write needs the name of the bytes field ("payloadField")`);
  }
  return new RowsToRecords({
    format,
    payloadField,
    avro: avroOf(payload, format),
    errorOutput: errorOutputOf(payload),
  });
}

/** Factories of these DoFns by name, for a worker's DoFn registry. */
// biome-ignore lint/suspicious/noExplicitAny: a registry holds DoFns of every element type
export const schemaTransformDoFnFactories: Readonly<Record<string, (payload: DoFnPayload) => DoFn<any, any>>> =
  Object.freeze({
    [SCHEMATRANSFORM_DOFN_NAMES.RECORDS_TO_ROWS]: recordsToRowsFromPayload,
    [SCHEMATRANSFORM_DOFN_NAMES.ROWS_TO_RECORDS]: rowsToRecordsFromPayload,
  });
