// The first step of a read: from the read's config to one source descriptor per topic-partition.
// A read of max_num_records is made bounded here, exactly: the start and end offsets of every partition are
// looked up once and the N records are spread over the partitions that hold them, so every restriction knows its
// end and the read finishes for any partition sizes (Beam's Java KafkaIO waits for N/splits per split instead).
import type { DoFn, ProcessContext } from "../../sdf/index.js";
import { bytesCoder, type Coder } from "../../model/coders/index.js";
import type { DoFnPayload } from "../../model/dofn-payload.js";
import { parseConsumerConfig, type ConsumerOptions } from "../config/index.js";
import { acquireClient, type KafkaClient, type TopicPartition } from "../client/index.js";
import { KafkaClientError } from "../errors.js";
import { encodeSourceDescriptor, type SourceDescriptor } from "./source-descriptor.js";
import { allocateRecords, resolveStartOffsets } from "./start-offsets.js";
import type { ReadSpec } from "./spec.js";

const WAIT_FOR_RECORDS_POLL_MS = 500;

/**
 * The read's first step: on the impulse, emits one encoded SourceDescriptor per topic-partition read. With
 * maxNumRecords or stopAtEndOffsets it fixes every start and end offset once (maxNumRecords waits, up to
 * maxReadTimeMs, until that many records exist). Throws KafkaClientError when a named topic does not exist (with
 * allow.auto.create.topics=true the broker is asked to create it, and the read waits for it up to
 * default.api.timeout.ms) or the pattern matches nothing. An unbounded read with partition discovery uses
 * PartitionDiscoveryDoFn instead.
 */
export class SourceDescriptorsDoFn implements DoFn<Uint8Array, Uint8Array> {
  readonly outputCoder: Coder<Uint8Array> = bytesCoder;
  private readonly options: ConsumerOptions;

  constructor(
    readonly spec: ReadSpec,
    private readonly log: (message: string) => void = (m) => console.warn(m),
  ) {
    this.options = parseConsumerConfig(spec.consumerConfig, { logger: () => undefined });
  }

  doFnPayload(): DoFnPayload {
    return { fn: "kafka_read_descriptors", read: this.spec };
  }

  async process(_impulse: Uint8Array, context: ProcessContext<Uint8Array>): Promise<void> {
    const lease = acquireClient(this.options);
    try {
      for (const d of await this.descriptors(lease.client)) context.output(encodeSourceDescriptor(d));
    } finally {
      lease.release();
    }
  }

  /**
   * The partitions the read covers right now: the explicit ones, or every partition of its topics / pattern. A
   * named topic that does not exist, or a pattern that matches nothing, fails; with `missing` "skip" (partition
   * discovery: they may appear later) it only contributes no partitions.
   */
  async partitions(client: KafkaClient, missing: "fail" | "skip" = "fail"): Promise<TopicPartition[]> {
    if (this.spec.topicPartitions.length > 0) return [...this.spec.topicPartitions];
    const topics =
      this.spec.topicPattern !== null
        ? await client.listTopics(new RegExp(this.spec.topicPattern))
        : [...this.spec.topics];
    const found = topics.length > 0 ? await client.partitionsFor(topics) : [];
    const partitions = found.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
    if (missing === "skip") return partitions;
    const notFound = found.filter((t) => t.partitions.length === 0).map((t) => t.topic);
    if (notFound.length > 0 && this.spec.topicPattern === null) {
      throw new KafkaClientError(
        `topic(s) ${notFound.join(", ")} not found on ${this.spec.consumerConfig["bootstrap.servers"]}: create ` +
          "them first, or set allow.auto.create.topics=true in the consumer config to have the broker create them " +
          "(where its auto.create.topics.enable allows)",
      );
    }
    if (partitions.length === 0) throw new KafkaClientError(`no topic matches ${this.spec.topicPattern}`);
    return partitions;
  }

  async descriptors(client: KafkaClient, missing: "fail" | "skip" = "fail"): Promise<SourceDescriptor[]> {
    const partitions = await this.partitions(client, missing);
    const deadlineMs = this.spec.maxReadTimeMs !== null ? Date.now() + this.spec.maxReadTimeMs : undefined;
    const common = {
      ...(this.spec.stopReadTime !== null ? { stopReadTime: BigInt(this.spec.stopReadTime) } : {}),
      ...(deadlineMs !== undefined ? { deadlineMs } : {}),
    };
    if (this.spec.maxNumRecords === null && !this.spec.stopAtEndOffsets) {
      return partitions.map((tp) => ({ ...tp, ...common }));
    }
    const starts = await resolveStartOffsets(client, this.spec, this.options, partitions);
    let ends = await this.latest(client, partitions);
    if (this.spec.maxNumRecords === null) {
      return partitions.map((tp, i) => ({ ...tp, ...common, startOffset: starts[i]!, stopOffset: ends[i]! }));
    }
    const wanted = BigInt(this.spec.maxNumRecords);
    let available = ends.map((end, i) => (end > starts[i]! ? end - starts[i]! : 0n));
    for (let waited = false; available.reduce((a, b) => a + b, 0n) < wanted; waited = true) {
      if (deadlineMs !== undefined && Date.now() >= deadlineMs) break;
      if (!waited)
        this.log(
          `waiting for ${wanted} records in ${partitions.length} partition(s); ${available.reduce((a, b) => a + b, 0n)} available`,
        );
      await new Promise((r) => setTimeout(r, WAIT_FOR_RECORDS_POLL_MS));
      ends = await this.latest(client, partitions);
      available = ends.map((end, i) => (end > starts[i]! ? end - starts[i]! : 0n));
    }
    // Offsets are positions, not counts: a compacted or transactional partition holds fewer records than its
    // range. The allocation is by range, so such a read returns fewer than N (the read says so, read-dofn.ts); the
    // common case is exact.
    const allocation = allocateRecords(wanted, available);
    return partitions
      .map((tp, i) => ({ ...tp, ...common, startOffset: starts[i]!, stopOffset: starts[i]! + allocation[i]! }))
      .filter((d) => d.stopOffset > d.startOffset);
  }

  private async latest(client: KafkaClient, partitions: readonly TopicPartition[]): Promise<bigint[]> {
    return (await client.listOffsets(partitions, "latest", this.options.isolationLevel)).map((o) => o.offset);
  }
}
