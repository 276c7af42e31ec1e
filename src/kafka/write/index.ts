// The write's public pieces: the native transform, the DoFns, and the factory the Fn API worker builds them with.
//
// DoFn payload (ParDoPayload.do_fn under KBT_DOFN_URN, JSON):
//   {fn: "kafka_write", write: WriteSpec, input: "kv" | "row", step?: "write" | "shard" | "transactional_write"}
//   step "write" (default)      at-least-once; input elements per `input` (see record.ts); no outputs.
//   step "shard"                exactly-once, before a GroupByKey: outputs KV<varint shard, bytes record>.
//   step "transactional_write"  exactly-once, after it: input KV<varint shard, iterable<bytes>>; no outputs.
import type { DoFnPayload } from "../../model/dofn-payload.js";
import type { AnyDoFn } from "../../sdf/index.js";
import { KafkaConfigError } from "../errors.js";
import { KafkaShardDoFn, KafkaTransactionalWriteDoFn, KafkaWriteDoFn } from "./dofns.js";
import { writeEnvironment } from "./environment.js";
import { parseWriteSpec } from "./spec.js";

export { writeToKafka, WriteToKafka, KafkaWriteResult } from "./transform.js";
export type { WriteToKafkaNativeOptions } from "./transform.js";
export { writeSpecFromOptions, parseWriteSpec, shardTransactionalId, MAX_SHARDS } from "./spec.js";
export type {
  WriteToKafkaOptions,
  WriteSpec,
  ExactlyOnceOptions,
  ExactlyOnceSpec,
  WriteTimestampPolicy,
} from "./spec.js";
export { KafkaWriteDoFn, KafkaShardDoFn, KafkaTransactionalWriteDoFn, WRITE_METRICS } from "./dofns.js";
export type { WriteFunctions, ShardBatch, TransactionalWriteSettings } from "./dofns.js";
export { recordMapper } from "./record.js";
export type { WriteRecord, WriteHeader, WriteInputKind, RecordFunctions } from "./record.js";
export type { Partitioner, PartitionerRecord } from "./partitioner.js";
export { encodeShardRecord, decodeShardRecord, shardOf, batchIdOf, BatchDigest } from "./shard-record.js";
export { decideBatch, parseShardState, formatShardMetadata, INITIAL_SHARD_STATE, RECENT_BATCHES } from "./sequence.js";
export type { ShardState, CommittedBatch, BatchDecision } from "./sequence.js";
export { ShardWriter, ShardWriterPool, defaultShardWriterPool } from "./shard-writer.js";
export type { BatchOutcome, BatchRecords, ShardWriterDeps, ShardOffsetsClient } from "./shard-writer.js";
export { writeEnvironment, metadataClientOptions } from "./environment.js";
export type { WriteEnvironment, WriteEnvironmentOptions } from "./environment.js";
export { KafkaWriteError } from "./errors.js";
export type { KafkaWriteErrorCode } from "./errors.js";

/** The at-least-once DoFn under the name src/kafka/index.ts uses. */
export { KafkaWriteDoFn as WriteToKafkaDoFn } from "./dofns.js";
/** Input element shapes a payload may name ("record" is the native API's). */
export type WriteInput = "kv" | "row";

export type WriteStep = "write" | "shard" | "transactional_write";

/** Builds the DoFn a `kafka_write` payload names (see the header). Throws KafkaConfigError on a bad payload. */
export function kafkaWriteDoFnFactory(payload: DoFnPayload): AnyDoFn {
  const spec = parseWriteSpec(payload.write);
  const input = payload.input ?? "kv";
  if (input !== "kv" && input !== "row" && input !== "record")
    throw new KafkaConfigError("input", `expected "kv", "row" or "record", got ${JSON.stringify(input)}`);
  const step = payload.step ?? "write";
  const env = writeEnvironment();
  switch (step) {
    case "write":
      if (spec.exactlyOnce) {
        throw new KafkaConfigError(
          "step",
          'an exactly-once write is a shard step, a GroupByKey and a transactional_write step; got step "write"',
        );
      }
      return new KafkaWriteDoFn(spec, input, {}, env);
    case "shard":
      return new KafkaShardDoFn(spec, input, {}, env);
    case "transactional_write":
      return new KafkaTransactionalWriteDoFn(spec, env);
    default:
      throw new KafkaConfigError(
        "step",
        `expected "write", "shard" or "transactional_write", got ${JSON.stringify(step)}`,
      );
  }
}
