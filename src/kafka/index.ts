// Public face of the Kafka connector: the native transforms, the DoFns a Fn API worker builds from payloads, and
// the pieces other layers need (specs, coders, client, config, errors).
import type { AnyDoFn, AnySplittableDoFn } from "../sdf/index.js";
import type { DoFnPayload } from "../model/dofn-payload.js";
import {
  SourceDescriptorsDoFn,
  ReadFromKafkaDoFn,
  PartitionDiscoveryDoFn,
  RedistributeKeyDoFn,
  RedistributedValuesDoFn,
  redistributeSpec,
  type ReadSpec,
  type RedistributeSpec,
} from "./read/index.js";
import { defaultShardWriterPool, kafkaWriteDoFnFactory } from "./write/index.js";
import { closeAllClients as closeClientCache } from "./client/index.js";
import { schemaTransformDoFnFactories } from "./schematransform/index.js";

export {
  readFromKafka,
  ReadFromKafka,
  readSpecFromOptions,
  isBoundedRead,
  SourceDescriptorsDoFn,
  ReadFromKafkaDoFn,
  PartitionDiscoveryDoFn,
  discoversPartitions,
  partitionReadGauges,
  readFromKafkaWithDeadLetters,
  ReadFromKafkaWithDeadLetters,
  DEAD_LETTER_TAG,
  kafkaRecordRowSchema,
  readOutputCoder,
} from "./read/index.js";
export type {
  PartitionReadGauge,
  ReadFromKafkaOptions,
  ReadSpec,
  RedistributeSpec,
  ReadWithDeadLetters,
  KafkaDeadLetter,
  KafkaKV,
  KafkaRecordRow,
  TimestampFn,
  TimestampPolicyName,
  SourceDescriptor,
} from "./read/index.js";
// Avro values (the managed transforms' AVRO format), for TypeScript pipelines that read or write Avro topics as bytes.
export {
  parseAvroSchema,
  avroRowSchema,
  avroBytesToRow,
  rowToAvroBytes,
  AvroFormatError,
} from "./schematransform/index.js";
export type { AvroRecord, AvroType } from "./schematransform/index.js";
export {
  writeToKafka,
  WriteToKafka,
  writeSpecFromOptions,
  WriteToKafkaDoFn,
  KafkaWriteResult,
  KafkaWriteError,
  kafkaWriteDoFnFactory,
} from "./write/index.js";
export type {
  ExactlyOnceOptions,
  WriteToKafkaOptions,
  WriteToKafkaNativeOptions,
  WriteSpec,
  WriteFunctions,
  WriteRecord,
  Partitioner,
} from "./write/index.js";
export {
  KafkaError,
  KafkaConfigError,
  KafkaClientError,
  KafkaTimeoutError,
  KafkaOffsetOutOfRangeError,
  KafkaNotLeaderError,
  KafkaUnknownTopicError,
  KafkaUnsupportedError,
  KafkaClientClosedError,
  KafkaAuthenticationError,
  KafkaTlsError,
} from "./errors.js";
export type { KafkaErrorCode, TlsFailure } from "./errors.js";
export { verifyKafkaClient } from "./client/index.js";

/**
 * Closes every Kafka client the process holds: cached readers and producers, and the exactly-once sink's
 * transactional producers (aborting a transaction still open), leased or idle, and waits for them. Call it when your
 * pipelines are done, before the process exits: an unused client otherwise stays connected for 60 s. A client still
 * in use then fails with KafkaClientClosedError.
 */
export async function closeAllClients(): Promise<void> {
  await Promise.all([closeClientCache(), defaultShardWriterPool.closeAll()]);
}

/** The DoFns a worker builds from their JSON payloads (ParDoPayload.do_fn under KBT_DOFN_URN). */
export const kafkaDoFnFactories: Readonly<Record<string, (payload: DoFnPayload) => AnyDoFn | AnySplittableDoFn>> =
  Object.freeze({
    kafka_read_descriptors: (payload: DoFnPayload) => new SourceDescriptorsDoFn(payload.read as ReadSpec),
    kafka_read_discovery: (payload: DoFnPayload) => new PartitionDiscoveryDoFn(payload.read as ReadSpec),
    kafka_read: (payload: DoFnPayload) => new ReadFromKafkaDoFn(payload.read as ReadSpec),
    kafka_read_redistribute_key: (payload: DoFnPayload) => {
      const { numKeys, byRecordKey } = (payload.redistribute ?? {}) as Partial<RedistributeSpec>;
      return new RedistributeKeyDoFn(redistributeSpec(numKeys, byRecordKey));
    },
    kafka_read_redistribute_values: () => new RedistributedValuesDoFn(),
    kafka_write: kafkaWriteDoFnFactory,
    ...schemaTransformDoFnFactories,
  });
