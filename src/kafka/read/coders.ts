// Coders of the read's intermediate PCollections, all built from standard coders so any runner can carry them:
//   source descriptors: bytes (JSON of a SourceDescriptor, see source-descriptor.ts);
//   restriction + watermark state (ParDoPayload.restriction_coder_id): KV<KV<from, to>, watermark ms> as varints.
import { bytesCoder, kvCoder, varIntCoder, nullableCoder, stringUtf8Coder, type Coder } from "../../model/coders/index.js";
import type { SerdeFormat } from "../serde.js";

export const sourceDescriptorCoder: Coder<Uint8Array> = bytesCoder;

export const restrictionWithWatermarkCoder = kvCoder(kvCoder(varIntCoder, varIntCoder), varIntCoder);

/** The coder of a key or value in the KV output (read without metadata): nullable, as Kafka allows null. */
export function kvPartCoder(format: SerdeFormat): Coder<unknown> | null {
  switch (format) {
    case "bytes":
      return nullableCoder(bytesCoder) as Coder<unknown>;
    case "string":
      return nullableCoder(stringUtf8Coder) as Coder<unknown>;
    case "long":
    case "int":
      return nullableCoder(varIntCoder) as Coder<unknown>;
    case "json":
      return null;
  }
}
