// kafka_write: caller's rows → ParDo(rows → records) {records, [error output]} → ParDo(kafka_write).
import { runnerApi } from "../../model/proto/index.js";
import { bytesCoder, kvCoder, nullableCoder, rowCoder, CoderUrns, type Coder } from "../../model/coders/index.js";
import {
  AtomicType,
  decodeSchema,
  fieldTypeKind,
  type Field,
  type FieldType,
  type Schema,
} from "../../model/schema.js";
import { doFnSpec } from "../../model/dofn-payload.js";
import { writeSpecFromOptions, type WriteSpec } from "../../kafka/index.js";
import {
  ERROR_OUTPUT,
  MAIN_OUTPUT,
  rowsToRecordsPayload,
  writeErrorSchema,
  avroRecordOfRowSchema,
  AvroFormatError,
  type AvroRecord,
  type ValueFormat,
} from "../../kafka/schematransform/index.js";
import { parDoSpec } from "../components.js";
import { invalidArgument } from "../errors.js";
import { expandWriteOn } from "../kafka-transforms.js";
import type { ExpansionContext, ExpansionResult } from "../registry.js";
import type { ConfigField, SchemaTransformConfig, SchemaTransformDefinition } from "./config.js";
import { SCHEMA_TRANSFORM_IDS } from "./ids.js";
import {
  BOOTSTRAP_DESCRIPTION,
  ERROR_HANDLING_DESCRIPTION,
  errorOutputName,
  refuseProtoFields,
  validated,
  valueFormat,
} from "./kafka-fields.js";

const WRITE_FIELDS: readonly ConfigField[] = [
  { name: "bootstrap_servers", kind: "string", required: true, description: BOOTSTRAP_DESCRIPTION },
  { name: "error_handling", kind: "error_handling", description: ERROR_HANDLING_DESCRIPTION },
  { name: "file_descriptor_path", kind: "string", description: "PROTO only; not supported by this service." },
  {
    name: "format",
    kind: "string",
    required: true,
    description:
      "The encoding format of the record values: RAW, JSON or AVRO (PROTO is not supported by this service).",
  },
  { name: "message_name", kind: "string", description: "PROTO only; not supported by this service." },
  {
    name: "producer_config_updates",
    kind: "string_map",
    description: "Kafka producer config keys and values (acks, compression.type, security.protocol, ...).",
  },
  {
    name: "schema",
    kind: "string",
    description:
      "Not needed: the input rows carry their schema (an AVRO write derives its Avro schema from it, as Beam Java).",
  },
  { name: "topic", kind: "string", required: true, description: "The topic to write to." },
];

interface WritePlan {
  readonly spec: WriteSpec;
  readonly format: ValueFormat;
  readonly errorOutput: string | null;
}

export function kafkaWritePlan(config: SchemaTransformConfig): WritePlan {
  const format = valueFormat(config, "write");
  refuseProtoFields(config);
  const updates = (config.get("producer_config_updates") ?? {}) as Readonly<Record<string, string>>;
  const fromFields = new Map([
    ["bootstrap.servers", "bootstrap_servers"],
    ["topic", "topic"],
  ]);
  const spec = validated("producer_config_updates", fromFields, () =>
    writeSpecFromOptions({
      producerConfig: { ...updates, "bootstrap.servers": config.get("bootstrap_servers") as string },
      topic: config.get("topic") as string,
      keySerializer: "bytes",
      valueSerializer: "bytes",
    }),
  );
  return { spec, format, errorOutput: errorOutputName(config, []) };
}

function typeName(type: FieldType): string {
  const kind = fieldTypeKind(type);
  const name =
    kind.kind === "atomic"
      ? (Object.keys(AtomicType).find((k) => (AtomicType as Record<string, number>)[k] === kind.atomic) ?? "?")
      : kind.kind === "logical"
        ? kind.logical.urn
        : kind.kind.toUpperCase();
  return type.nullable ? `${name}?` : name;
}

/** RAW: the BYTES field whose value becomes the record value (the only field, as Java requires, or `payload`). */
function rawPayloadField(inputSchema: Schema): string {
  const isBytes = (f: Field) => {
    const k = fieldTypeKind(f.type);
    return k.kind === "atomic" && k.atomic === AtomicType.BYTES;
  };
  const fields = inputSchema.fields;
  if (fields.length === 1 && isBytes(fields[0]!)) return fields[0]!.name;
  const payload = fields.find((f) => f.name === "payload");
  if (payload && isBytes(payload)) return payload.name;
  throw invalidArgument(
    "input",
    `a RAW write needs rows with one BYTES field (or a BYTES field named payload); the input has ` +
      `${fields.map((f) => `${f.name}: ${typeName(f.type)}`).join(", ") || "no fields"}`,
  );
}

/** AVRO: the Avro record the input's rows are written as. */
function avroRecordOf(tag: string, inputSchema: Schema): AvroRecord {
  try {
    return avroRecordOfRowSchema(inputSchema);
  } catch (err) {
    if (err instanceof AvroFormatError)
      throw invalidArgument(`inputs[${tag}]`, `the rows have no Avro form: ${err.message}`, err);
    throw err;
  }
}

function inputRowSchema(ctx: ExpansionContext, tag: string, pcollectionId: string): Schema {
  const pc = ctx.requestComponents.pcollections?.[pcollectionId];
  const coder = pc ? ctx.requestComponents.coders?.[pc.coderId ?? ""] : undefined;
  const urn = coder?.spec?.urn ?? "";
  if (urn !== CoderUrns.ROW) {
    throw invalidArgument(
      `inputs[${tag}]`,
      `kafka_write takes a PCollection of Beam Rows (coder ${CoderUrns.ROW}), got ${urn || "no coder"}; ` +
        "in Python, map the elements to beam.Row(...) or give them a NamedTuple type",
    );
  }
  try {
    return decodeSchema(coder!.spec!.payload ?? new Uint8Array(0));
  } catch (err) {
    throw invalidArgument(`inputs[${tag}]`, `the row coder's schema does not decode: ${(err as Error).message}`, err);
  }
}

function expandKafkaWrite(config: SchemaTransformConfig, ctx: ExpansionContext): ExpansionResult {
  const inputs = Object.entries(ctx.inputs);
  if (inputs.length !== 1) throw invalidArgument("inputs", `kafka_write takes one input (input), got ${inputs.length}`);
  const [tag, inputId] = inputs[0]!;
  const plan = kafkaWritePlan(config);
  const inputSchema = inputRowSchema(ctx, tag, inputId);
  const payloadField = plan.format === "RAW" ? rawPayloadField(inputSchema) : null;
  const avro = plan.format === "AVRO" ? avroRecordOf(tag, inputSchema) : null;

  const b = ctx.builder;
  const inputPc = ctx.requestComponents.pcollections![inputId]!;
  const bounded = inputPc.isBounded !== runnerApi.IsBounded.Enum.UNBOUNDED;
  // Intermediate PCollections keep the caller's windowing: the mapping is element-wise.
  const windowing = inputPc.windowingStrategyId || undefined;
  const records = b.pcollection(
    "kafka_write/records",
    { coder: kvCoder(nullableCoder(bytesCoder), bytesCoder) as Coder<unknown>, bounded },
    windowing,
  );
  const errors =
    plan.errorOutput === null
      ? null
      : b.pcollection(
          "kafka_write/errors",
          { coder: rowCoder(writeErrorSchema(inputSchema)) as Coder<unknown>, bounded },
          windowing,
        );
  const toRecords = b.transform(b.id("kafka_write/ToRecords"), {
    uniqueName: `${ctx.uniqueName}/ToRecords`,
    spec: parDoSpec({
      doFn: doFnSpec(
        rowsToRecordsPayload({
          format: plan.format,
          payloadField,
          ...(avro ? { avro } : {}),
          errorOutput: errors === null ? null : ERROR_OUTPUT,
        }),
      ),
    }),
    inputs: { in: inputId },
    outputs: { [MAIN_OUTPUT]: records, ...(errors === null ? {} : { [ERROR_OUTPUT]: errors }) },
  });
  const write = expandWriteOn(plan.spec, "kv", records, ctx);
  return { outputs: errors === null ? {} : { [plan.errorOutput!]: errors }, subtransforms: [toRecords, write] };
}

export const KAFKA_WRITE: SchemaTransformDefinition = {
  identifier: SCHEMA_TRANSFORM_IDS.KAFKA_WRITE,
  description:
    "Writes Rows to a Kafka topic as record values (no key): RAW (the row's BYTES field), JSON (the row as a " +
    "JSON object) or AVRO (Avro binary, its schema derived from the rows' as Beam Java derives it). With error_handling, rows that cannot be written go to that output as {failed_row, error_message}.",
  fields: WRITE_FIELDS,
  inputs: ["input"],
  outputs: [],
  expand: expandKafkaWrite,
};
