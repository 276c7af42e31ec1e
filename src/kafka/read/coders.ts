// Coders of the read's PCollections, all built from standard coders so any runner can carry them:
//   source descriptors: bytes (JSON of a SourceDescriptor, see source-descriptor.ts);
//   restriction + watermark state (ParDoPayload.restriction_coder_id): KV<KV<from, to>, watermark ms> as varints;
//   output: KV<key?, value?> per deserializer, or the metadata Row (record-row.ts).
import {
  bytesCoder,
  kvCoder,
  varIntCoder,
  nullableCoder,
  stringUtf8Coder,
  rowCoder,
  type Coder,
} from "../../model/coders/index.js";
import { offsetRangeCoder, watermarkInstantCoder } from "../../sdf/index.js";
import { KafkaConfigError } from "../errors.js";
import type { SerdeFormat } from "../serde.js";
import { kafkaRecordRowSchema } from "./record-row.js";
import type { ReadSpec } from "./spec.js";

export const sourceDescriptorCoder: Coder<Uint8Array> = bytesCoder;

/** OffsetRange as KV<varint from, varint to> with the watermark state as a varint of ms. */
export const restrictionWithWatermarkCoder = kvCoder(offsetRangeCoder, watermarkInstantCoder);

/** The coder of a key or value in the KV output (read without metadata): nullable, as Kafka allows null. */
function kvPartCoder(option: string, format: SerdeFormat): Coder<unknown> {
  switch (format) {
    case "bytes":
      return nullableCoder(bytesCoder) as Coder<unknown>;
    case "string":
      return nullableCoder(stringUtf8Coder) as Coder<unknown>;
    case "long":
    case "int":
      return nullableCoder(varIntCoder) as Coder<unknown>;
    case "json":
      throw new KafkaConfigError(
        option,
        "JSON values have no standard coder for a portable runner: use the string deserializer",
      );
  }
}

/** The output coder of a read; a fresh Row schema id per call (Python caches row types by schema id). */
export function readOutputCoder(spec: ReadSpec): Coder<unknown> {
  if (spec.withMetadata) {
    if (spec.keyFormat !== "bytes")
      throw new KafkaConfigError(
        "keyDeserializer",
        "a read with metadata emits keys as bytes: use the bytes deserializer (ByteArrayDeserializer)",
      );
    if (spec.valueFormat !== "bytes")
      throw new KafkaConfigError(
        "valueDeserializer",
        "a read with metadata emits values as bytes: use the bytes deserializer (ByteArrayDeserializer)",
      );
    return rowCoder(kafkaRecordRowSchema()) as Coder<unknown>;
  }
  return kvCoder(
    kvPartCoder("keyDeserializer", spec.keyFormat),
    kvPartCoder("valueDeserializer", spec.valueFormat),
  ) as Coder<unknown>;
}
