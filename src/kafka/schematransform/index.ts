// Public face of the Kafka SchemaTransform formats: the row mapping of Beam's kafka_read / kafka_write
// SchemaTransforms (RAW, JSON and AVRO), their DoFns and the schemas the expansion puts on their PCollections.
export {
  SCHEMATRANSFORM_DOFN_NAMES,
  SUPPORTED_FORMATS,
  MAIN_OUTPUT,
  ERROR_OUTPUT,
  rawRowSchema,
  readErrorSchema,
  writeErrorSchema,
  recordsToRowsPayload,
  rowsToRecordsPayload,
  schemaTransformDoFnFactories,
  RecordFormatError,
} from "./dofns.js";
export type { ValueFormat, RecordsToRowsConfig, RowsToRecordsConfig, KeylessRecord } from "./dofns.js";
export { parseJsonSchema, rowSchemaOf, jsonBytesToRow, rowToJsonBytes, JsonFormatError } from "./json-schema.js";
export type { JsonType, JsonObjectType } from "./json-schema.js";
export {
  parseAvroSchema,
  avroRowSchema,
  avroRecordOfRowSchema,
  avroSchemaJson,
  AvroFormatError,
} from "./avro-schema.js";
export type { AvroType, AvroRecord } from "./avro-schema.js";
export { avroBytesToRow, rowToAvroBytes } from "./avro-binary.js";
