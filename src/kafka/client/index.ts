// Public face of the Kafka client layer: the interfaces the connector codes against, the default (kafkajs)
// implementation and the per-(cluster, config) client cache.
export type {
  CommittedOffset,
  FetchOptions,
  FetchResult,
  GroupOffset,
  KafkaClient,
  KafkaFetchClient,
  KafkaGroupOffsetsClient,
  KafkaMetadataClient,
  KafkaOffsetsClient,
  KafkaProducer,
  KafkaRecord,
  KafkaTransaction,
  PartitionOffset,
  PartitionOffsetForTime,
  ProducerRecord,
  RecordHeader,
  TimestampType,
  TopicPartition,
  TopicPartitions,
} from "./types.js";
export { createKafkajsClient, registeredCompressionCodecs, missingCodecReason } from "./kafkajs.js";
export { retryBackoffMs, retryUntil } from "./retry-until.js";
export { verifyKafkajsInternals as verifyKafkaClient } from "./kafkajs-internals.js";
export type { KafkajsSettings } from "./kafkajs.js";
export {
  acquireClient,
  acquireProducer,
  closeAllClients,
  defaultClientCache,
  KafkaClientCache,
} from "./cache.js";
export type { ClientCacheSettings, ClientLease } from "./cache.js";
export { LeasePool } from "./lease-pool.js";
export type { Lease } from "./lease-pool.js";
export { decodeRecordSet } from "./record-batch.js";
export {
  byteLength,
  varintSize,
  varlongSize,
  writeVarint,
  writeVarlong,
  type EncodedRecords,
} from "./record-batch-encoder.js";
export { RECORDS_OFFSET } from "./record-batch-layout.js";
export { BatchBuffers, batchBuffersFor, batchSendLimit } from "./batch-buffers.js";
export { keyPartition } from "./murmur2.js";
export type { AbortedTransaction, DecodedRecordSet, Decompressor, RecordSetInput } from "./record-batch.js";

export { createKafkaProducer, WireProducer } from "./wire-producer.js";

import { createKafkajsClient } from "./kafkajs.js";
/** The default implementation's factory, under an implementation-neutral name. */
export const createKafkaClient = createKafkajsClient;
