// The write's public pieces and its native API transform.
import { PTransform, PCollection, ParDo, type ExpandContext } from "../../pipeline/index.js";
import { writeSpecFromOptions, type WriteToKafkaOptions, type WriteSpec } from "./spec.js";
import { WriteToKafkaDoFn } from "./write-dofn.js";
import type { WriteFunctions, WriteInput } from "./records.js";

export { writeSpecFromOptions } from "./spec.js";
export type { WriteToKafkaOptions, WriteSpec } from "./spec.js";
export { WriteToKafkaDoFn } from "./write-dofn.js";
export { toProducerRecord } from "./records.js";
export type { WriteFunctions, WriteInput } from "./records.js";

export class WriteToKafka<T> extends PTransform<PCollection<T>, PCollection<never>> {
  readonly spec: WriteSpec;
  constructor(options: WriteToKafkaOptions, private readonly input: WriteInput, private readonly fns: WriteFunctions<T>, label = "WriteToKafka") {
    super(label);
    this.spec = writeSpecFromOptions(options);
  }

  expand(input: PCollection<T>, _context: ExpandContext): PCollection<never> {
    return input.apply(`${this.label}/Write`, ParDo.of(new WriteToKafkaDoFn<T>(this.spec, this.input, this.fns)));
  }
}

/**
 * Writes `{ key, value }` elements (serialized per keySerializer/valueSerializer) to Kafka:
 * `records.apply(writeToKafka({ producerConfig, topic: "out", valueSerializer: "string" }))`. Pass functions for a
 * per-record topic, partition, timestamp or headers.
 */
export function writeToKafka<T extends { key: unknown; value: unknown }>(options: WriteToKafkaOptions & WriteFunctions<T>): WriteToKafka<T> {
  const { topicOf, partitionOf, timestampOf, headersOf, ...rest } = options;
  return new WriteToKafka<T>(rest, "kv", { topicOf, partitionOf, timestampOf, headersOf });
}
