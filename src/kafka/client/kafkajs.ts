// The default KafkaClient: kafkajs 2.2.4 for connections, metadata, offsets and group offsets; our own Fetch v11
// request and record batch decoder on kafkajs's broker connections for group-less reads from explicit offsets.
import kafkajs, { CompressionTypes, Kafka, logLevel, type KafkaConfig, type LogEntry } from "kafkajs";
import {
  consoleLogger,
  type CompressionType,
  type ConnectionOptions,
  type ConsumerOptions,
  type IsolationLevel,
  type KafkaLogger,
  type KafkaLogLevel,
} from "../config/index.js";
import {
  KafkaClientClosedError,
  KafkaClientError,
  KafkaNotLeaderError,
  KafkaUnknownTopicError,
  KafkaUnsupportedError,
} from "../errors.js";
import { builtInCodec } from "./compression/index.js";
import { BrokerFetchQueue } from "./fetch-queue.js";
import { oauthBearerAuthenticationProvider } from "./oauth-authenticator.js";
import type { FetchPartitionResponse } from "./fetch-protocol.js";
import { createInternalCluster, type InternalBroker, type InternalCluster } from "./kafkajs-internals.js";
import { fetchPartitionError, lostConnection, toKafkaError, type ErrorContext } from "./kafkajs-errors.js";
import { decodeRecordSet, type Decompressor } from "./record-batch.js";
import type { Compressor } from "./record-batch-encoder.js";
import { retryBackoffMs, sleep } from "./retry-until.js";
import { nodeTlsOptions } from "./tls.js";
import { TopicReadiness } from "./topic-readiness.js";
import type {
  CommittedOffset,
  FetchOptions,
  FetchResult,
  GroupOffset,
  KafkaClient,
  PartitionOffset,
  PartitionOffsetForTime,
  TopicPartition,
  TopicPartitions,
} from "./types.js";

export interface KafkajsSettings {
  /** Receives kafkajs's own warnings and errors. Default: console.warn. */
  readonly logger?: KafkaLogger;
  /**
   * Transactional producers: the newest transaction protocol to use where the cluster has it (default 2, KIP-890;
   * 1 keeps Kafka 3's AddPartitionsToTxn protocol on any cluster).
   */
  readonly maxTransactionVersion?: 1 | 2;
}

const EARLIEST_TIMESTAMP = "-2";
const LATEST_TIMESTAMP = "-1";

const CODEC_IDS: Readonly<Record<Exclude<CompressionType, "none">, CompressionTypes>> = {
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

interface Codec {
  decompress(data: Buffer): Promise<Buffer>;
  /** kafkajs passes its Encoder; codecs read only its `buffer`. */
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
}

// Not a detectable named export of the CommonJS module: read it from the default export.
const { CompressionCodecs } = kafkajs;

/** The codec kafkajs has registered for the id (gzip always, others where the user registered one), else ours. */
function codecFor(id: number): Codec | undefined {
  const factory = (CompressionCodecs as Record<number, (() => Codec) | undefined>)[id];
  try {
    const registered = factory?.();
    if (registered) return registered;
  } catch {
    // kafkajs's placeholders for snappy/lz4/zstd throw until a codec is registered
  }
  return builtInCodecs.get(id);
}

/** Our codecs in kafkajs's shape, made once per id. */
const builtInCodecs = new Map<number, Codec | undefined>(
  Object.values(CODEC_IDS).map((id) => {
    const builtIn = builtInCodec(id);
    return [id, builtIn && { decompress: builtIn.decompress, compress: (encoder) => builtIn.compress(encoder.buffer) }];
  }),
);

/** Compression types usable in this process: gzip, snappy and lz4 always, zstd where Node's zlib has it. */
export function registeredCompressionCodecs(): CompressionType[] {
  return (Object.keys(CODEC_IDS) as Exclude<CompressionType, "none">[]).filter(
    (name) => codecFor(CODEC_IDS[name]) !== undefined,
  );
}

/** Why this process has no codec for a compression type, and what to do. */
export function missingCodecReason(name: string): string {
  return name === "zstd"
    ? `this Node (${process.version}) has no zstd in zlib (Node >= 22.15 has); or register a zstd codec in kafkajs CompressionCodecs`
    : `register a ${name} codec in kafkajs CompressionCodecs`;
}

function registeredCodec(codecId: number): Codec {
  const codec = codecFor(codecId);
  if (!codec) {
    const name =
      (Object.keys(CODEC_IDS) as (keyof typeof CODEC_IDS)[]).find((n) => CODEC_IDS[n] === codecId) ??
      `codec ${codecId}`;
    throw new KafkaUnsupportedError(`a record batch is compressed with ${name}: ${missingCodecReason(name)}`);
  }
  return codec;
}

const decompress: Decompressor = async (codecId, data) => registeredCodec(codecId).decompress(data);

/** Compresses with the codec kafkajs has registered for the batch attribute's id (gzip always). */
export const compress: Compressor = async (codecId, data) => registeredCodec(codecId).compress({ buffer: data });

/** The batch attribute's codec id of a compression type (0 for none). */
export function codecId(compression: CompressionType): number {
  return compression === "none" ? 0 : CODEC_IDS[compression];
}

/** A repeated kafkajs warning (a seed broker retried every backoff) is logged once a minute, the rest at debug. */
const REPEAT_QUIET_MS = 60_000;

function kafkajsLogCreator(logger: KafkaLogger) {
  const lastLogged = new Map<string, number>();
  return () =>
    (entry: LogEntry): void => {
      let level: KafkaLogLevel =
        entry.level <= logLevel.ERROR
          ? "error"
          : entry.level <= logLevel.WARN
            ? "warn"
            : entry.level <= logLevel.INFO
              ? "info"
              : "debug";
      // kafkajs logs every error response of a connection, including those it retries (coordinator loading,
      // concurrent transactions) and those we handle: the caller gets the final error, so these are debug.
      if (entry.namespace === "Connection" && level === "error") level = "debug";
      const { message, ...fields } = entry.log;
      const line = `kafkajs ${entry.namespace}: ${message}`;
      if (level === "error" || level === "warn") {
        const now = Date.now();
        if (now - (lastLogged.get(line) ?? Number.NEGATIVE_INFINITY) < REPEAT_QUIET_MS) level = "debug";
        else {
          if (lastLogged.size > 100) lastLogged.clear();
          lastLogged.set(line, now);
        }
      }
      logger(level, line, fields);
    };
}

/**
 * Our validated connection options as a kafkajs client config (TLS files are read here). `retries` is kafkajs's own
 * retry count: 0 for the reading client, which retries in one place (KafkajsClient.retrying) instead.
 */
export function kafkajsConfig(
  options: ConnectionOptions,
  logger: KafkaLogger,
  retries = options.retry.retries,
): KafkaConfig {
  const config: KafkaConfig = {
    brokers: options.bootstrapServers.map(({ host, port }) =>
      host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`,
    ),
    clientId: options.clientId,
    connectionTimeout: options.connectionTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    enforceRequestTimeout: true,
    retry: {
      retries,
      initialRetryTime: options.retry.initialBackoffMs,
      maxRetryTime: options.retry.maxBackoffMs,
    },
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator(logger),
  };
  if (options.tls) config.ssl = nodeTlsOptions(options.tls);
  const sasl = options.sasl;
  if (sasl?.mechanism === "OAUTHBEARER") {
    // Our exchange, not kafkajs's (see oauth-authenticator.ts); kafkajs's types know only its built-in mechanisms.
    config.sasl = {
      mechanism: "OAUTHBEARER",
      authenticationProvider: oauthBearerAuthenticationProvider(sasl),
    } as unknown as KafkaConfig["sasl"];
  } else if (sasl) {
    const { username, password } = sasl;
    config.sasl =
      sasl.mechanism === "PLAIN"
        ? { mechanism: "plain", username, password }
        : sasl.mechanism === "SCRAM-SHA-256"
          ? { mechanism: "scram-sha-256", username, password }
          : { mechanism: "scram-sha-512", username, password };
  }
  return config;
}

function isolationCode(level: IsolationLevel): 0 | 1 {
  return level === "read_committed" ? 1 : 0;
}

function groupByTopic<T extends TopicPartition>(items: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const list = out.get(item.topic);
    if (list) list.push(item);
    else out.set(item.topic, [item]);
  }
  return out;
}

const COORDINATOR_RETRY = new Set([
  "COORDINATOR_LOAD_IN_PROGRESS",
  "GROUP_LOAD_IN_PROGRESS",
  "COORDINATOR_NOT_AVAILABLE",
  "GROUP_COORDINATOR_NOT_AVAILABLE",
  "NOT_COORDINATOR",
  "NOT_COORDINATOR_FOR_GROUP",
]);

export class KafkajsClient implements KafkaClient {
  private readonly cluster: InternalCluster;
  private readonly logger: KafkaLogger;
  private connecting: Promise<void> | undefined;
  private closed = false;
  /** Whether a broker ever answered this client: losing one then is an outage to wait out, not a wrong address. */
  private reached = false;
  /** topic → leader node id by partition (-1: none), from the cluster's metadata; cleared on refresh. */
  private readonly leaders = new Map<string, number[]>();
  private readonly queues = new Map<number, BrokerFetchQueue>();
  private refreshing: Promise<void> | undefined;
  /** With allow.auto.create.topics: waits for the topics a read names to be created. */
  private readonly autoCreation: TopicReadiness | undefined;

  constructor(
    readonly options: ConsumerOptions,
    settings: KafkajsSettings = {},
  ) {
    this.logger = settings.logger ?? consoleLogger;
    const kafka = new Kafka(kafkajsConfig(options, this.logger, 0));
    this.cluster = createInternalCluster(kafka, {
      allowAutoTopicCreation: options.allowAutoTopicCreation,
      metadataMaxAge: options.metadataMaxAgeMs,
      isolationLevel: isolationCode(options.isolationLevel),
    });
    if (options.allowAutoTopicCreation)
      this.autoCreation = new TopicReadiness(this.cluster, {
        maxBlockMs: options.defaultApiTimeoutMs,
        retry: options.retry,
        action: "read",
        timeoutKey: "default.api.timeout.ms",
      });
  }

  // ---- lifecycle -------------------------------------------------------------------------------------------------

  private async connect(what: string): Promise<void> {
    if (this.closed) throw new KafkaClientClosedError(what);
    this.connecting ??= this.cluster.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    await this.connecting;
    this.reached = true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const queue of this.queues.values()) queue.close();
    this.queues.clear();
    await this.cluster.disconnect().catch(() => undefined);
  }

  /**
   * Runs op, retrying errors Kafka marks retriable with exponential backoff (retry.backoff.ms .. retry.backoff.max.ms)
   * until `retries` attempts or default.api.timeout.ms; metadata is refreshed before retrying leader/topic errors.
   * A broker that answered before and now cannot be reached (restarting) is waited for until the deadline.
   * `untilDeadline` drops the attempt limit: Kafka's consumer waits for a group coordinator as long as
   * default.api.timeout.ms allows (a new broker creates `__consumer_offsets` when the first group asks).
   */
  private async retrying<T>(context: ErrorContext, op: () => Promise<T>, untilDeadline = false): Promise<T> {
    const retries = untilDeadline ? Number.POSITIVE_INFINITY : this.options.retry.retries;
    const deadline = Date.now() + this.options.defaultApiTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.connect(context.what);
        return await op();
      } catch (raw) {
        if (this.closed) throw raw instanceof KafkaClientClosedError ? raw : new KafkaClientClosedError(context.what);
        const err = toKafkaError(raw, context);
        // A topic just created may be unknown to the broker we asked: look again once before believing it.
        const unknownTopic = err instanceof KafkaUnknownTopicError;
        // A restarting broker refuses connections at once, so `retries` attempts pass in a second or two: once a
        // broker has answered, only the deadline bounds them, as Kafka's consumer reconnects until
        // default.api.timeout.ms. Servers never reached are more likely a wrong address: those fail after `retries`.
        const outage = this.reached && lostConnection(raw);
        const retry = unknownTopic
          ? attempt === 0
          : err.retriable && (attempt < retries || outage) && Date.now() < deadline;
        if (!retry) throw err;
        if (unknownTopic || err instanceof KafkaNotLeaderError || err.code === "KAFKA_CLIENT_ERROR") {
          await this.refreshMetadata().catch(() => undefined);
        }
        await sleep(retryBackoffMs(attempt, this.options.retry) * (0.8 + Math.random() * 0.4));
      }
    }
  }

  // ---- metadata --------------------------------------------------------------------------------------------------

  private async refreshMetadata(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        await this.cluster.refreshMetadata();
      } catch (err) {
        // A target topic was deleted: kafkajs would fail every refresh from now on. Forget it and refresh again.
        if ((err as { type?: string }).type !== "UNKNOWN_TOPIC_OR_PARTITION") throw err;
        const existing = new Set(await this.allTopicNames());
        for (const topic of [...this.cluster.targetTopics])
          if (!existing.has(topic)) this.cluster.targetTopics.delete(topic);
        await this.cluster.refreshMetadata();
      } finally {
        this.leaders.clear();
      }
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Makes the topics part of the cluster's metadata (refreshing it if any is new). */
  private async trackTopics(topics: readonly string[]): Promise<void> {
    if (topics.every((t) => this.cluster.targetTopics.has(t))) return;
    await this.cluster.addMultipleTargetTopics([...topics]);
    this.leaders.clear();
  }

  private leadersOf(topic: string): number[] {
    let leaders = this.leaders.get(topic);
    if (!leaders) {
      leaders = [];
      for (const p of this.cluster.findTopicPartitionMetadata(topic)) leaders[p.partitionId] = p.leader ?? -1;
      this.leaders.set(topic, leaders);
    }
    return leaders;
  }

  private async leaderFor(topic: string, partition: number): Promise<number> {
    if (!this.cluster.targetTopics.has(topic)) await this.trackTopics([topic]);
    const leaders = this.leadersOf(topic);
    const leader = leaders[partition];
    if (leader === undefined) {
      if (leaders.length === 0) throw new KafkaUnknownTopicError(topic);
      throw new KafkaUnknownTopicError(topic, partition);
    }
    if (leader < 0) throw new KafkaNotLeaderError(topic, partition, "LEADER_NOT_AVAILABLE");
    return leader;
  }

  private async allTopicMetadata(): Promise<readonly { topic: string; isInternal?: boolean }[]> {
    const broker = await this.cluster.brokerPool.findConnectedBroker();
    return (await broker.metadata([])).topicMetadata;
  }

  private async allTopicNames(): Promise<string[]> {
    return (await this.allTopicMetadata()).map((t) => t.topic);
  }

  async listTopics(pattern?: RegExp): Promise<string[]> {
    const whole = pattern ? new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace(/[gy]/g, "")) : undefined;
    return this.retrying({ what: "list topics" }, async () => {
      const topics = await this.allTopicMetadata();
      return topics
        .filter((t) => !(this.options.excludeInternalTopics && t.isInternal === true))
        .map((t) => t.topic)
        .filter((name) => !whole || whole.test(name))
        .sort();
    });
  }

  async partitionsFor(topics: readonly string[]): Promise<TopicPartitions[]> {
    // allow.auto.create.topics: a missing topic is asked for until the broker made it and its leaders are elected
    // (the first answers say "unknown" or "no leader"), as Kafka's consumer waits in partitionsFor.
    if (this.autoCreation) {
      await this.connect(`partitions of ${topics.join(", ")}`);
      await this.autoCreation.ensure(topics.filter((t) => !this.cluster.targetTopics.has(t)));
    }
    return this.retrying({ what: `partitions of ${topics.join(", ")}` }, async () => {
      let known = topics;
      if (topics.every((t) => this.cluster.targetTopics.has(t))) {
        await this.refreshMetadata();
      } else {
        try {
          await this.trackTopics(topics);
        } catch (err) {
          if ((err as { type?: string }).type !== "UNKNOWN_TOPIC_OR_PARTITION") throw err;
          const existing = new Set(await this.allTopicNames());
          known = topics.filter((t) => existing.has(t));
          if (known.length > 0) await this.trackTopics(known);
        }
      }
      return topics.map((topic) => ({
        topic,
        partitions: known.includes(topic)
          ? this.cluster
              .findTopicPartitionMetadata(topic)
              .map((p) => p.partitionId)
              .sort((a, b) => a - b)
          : [],
      }));
    });
  }

  // ---- offsets ---------------------------------------------------------------------------------------------------

  async listOffsets(
    partitions: readonly TopicPartition[],
    position: "earliest" | "latest",
    isolationLevel: IsolationLevel = this.options.isolationLevel,
  ): Promise<PartitionOffset[]> {
    const found = await this.queryOffsets(
      partitions,
      position === "earliest" ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP,
      isolationLevel,
    );
    return partitions.map(({ topic, partition }) => ({
      topic,
      partition,
      offset: found.get(topic)!.get(partition)!.offset,
    }));
  }

  async offsetsForTimes(
    partitions: readonly TopicPartition[],
    timestampMs: bigint | number,
  ): Promise<PartitionOffsetForTime[]> {
    const found = await this.queryOffsets(partitions, String(timestampMs), this.options.isolationLevel);
    return partitions.map(({ topic, partition }) => {
      const { offset, timestamp } = found.get(topic)!.get(partition)!;
      return offset < 0n
        ? { topic, partition, offset: null, timestamp: null }
        : { topic, partition, offset, timestamp };
    });
  }

  /** ListOffsets at a timestamp (-2 earliest, -1 latest), one request per leader. */
  private async queryOffsets(
    partitions: readonly TopicPartition[],
    timestamp: string,
    isolationLevel: IsolationLevel,
  ): Promise<Map<string, Map<number, { offset: bigint; timestamp: bigint | null }>>> {
    const first = partitions[0];
    return this.retrying({ what: "list offsets", ...(first ? { topic: first.topic } : {}) }, async () => {
      const byLeader = new Map<number, TopicPartition[]>();
      await this.trackTopics([...new Set(partitions.map((p) => p.topic))]);
      for (const tp of partitions) {
        const leader = await this.leaderFor(tp.topic, tp.partition);
        const list = byLeader.get(leader);
        if (list) list.push(tp);
        else byLeader.set(leader, [tp]);
      }
      const result = new Map<string, Map<number, { offset: bigint; timestamp: bigint | null }>>();
      await Promise.all(
        [...byLeader].map(async ([nodeId, tps]) => {
          const broker = await this.cluster.findBroker({ nodeId });
          const topics = [...groupByTopic(tps)].map(([topic, list]) => ({
            topic,
            partitions: list.map(({ partition }) => ({ partition, timestamp })),
          }));
          const response = await broker.listOffsets({
            replicaId: -1,
            isolationLevel: isolationCode(isolationLevel),
            topics,
          });
          for (const { topic, partitions: ps } of response.responses) {
            let byPartition = result.get(topic);
            if (!byPartition) result.set(topic, (byPartition = new Map()));
            for (const p of ps) {
              const ts = p.timestamp === undefined ? null : BigInt(p.timestamp);
              byPartition.set(p.partition, {
                offset: BigInt(p.offset),
                timestamp: ts !== null && ts >= 0n ? ts : null,
              });
            }
          }
        }),
      );
      for (const { topic, partition } of partitions) {
        if (!result.get(topic)?.has(partition)) {
          throw new KafkaClientError(`list offsets: no answer for ${topic}-${partition}`, { retriable: true });
        }
      }
      return result;
    });
  }

  // ---- fetch -----------------------------------------------------------------------------------------------------

  private queueFor(nodeId: number): BrokerFetchQueue {
    let queue = this.queues.get(nodeId);
    if (!queue) {
      queue = new BrokerFetchQueue(nodeId, {
        findBroker: (id) => this.cluster.findBroker({ nodeId: id }),
        fetchMaxBytes: this.options.fetchMaxBytes,
        requestTimeoutMs: this.options.requestTimeoutMs,
      });
      this.queues.set(nodeId, queue);
    }
    return queue;
  }

  async fetch(topic: string, partition: number, fromOffset: bigint, options: FetchOptions = {}): Promise<FetchResult> {
    const isolationLevel = options.isolationLevel ?? this.options.isolationLevel;
    const maxBytes = options.maxBytes ?? this.options.maxPartitionFetchBytes;
    const maxWaitMs = options.maxWaitMs ?? this.options.fetchMaxWaitMs;
    const minBytes = options.minBytes ?? this.options.fetchMinBytes;
    const readCommitted = isolationLevel === "read_committed";
    return this.retrying({ what: `fetch ${topic}-${partition}`, topic, partition }, async () => {
      const leader = await this.leaderFor(topic, partition);
      const response = await new Promise<FetchPartitionResponse>((resolve, reject) => {
        this.queueFor(leader).enqueue({
          topic,
          partition,
          fetchOffset: fromOffset,
          maxBytes,
          maxWaitMs,
          minBytes,
          isolationLevel: readCommitted ? 1 : 0,
          resolve,
          reject,
        });
      });
      if (response.errorCode !== 0) {
        throw fetchPartitionError(
          topic,
          partition,
          fromOffset,
          response.errorCode,
          response.logStartOffset,
          response.highWatermark,
        );
      }
      const decoded = await decodeRecordSet(
        {
          buffer: response.buffer,
          start: response.recordsStart,
          end: response.recordsEnd,
          fromOffset,
          readCommitted,
          abortedTransactions: response.abortedTransactions,
          checkCrcs: this.options.checkCrcs,
          source: `${topic}-${partition}`,
        },
        decompress,
      );
      return {
        topic,
        partition,
        records: decoded.records,
        nextOffset: decoded.nextOffset,
        highWatermark: response.highWatermark,
        lastStableOffset: response.lastStableOffset,
        logStartOffset: response.logStartOffset,
        bytes: response.recordsEnd - response.recordsStart,
      };
    });
  }

  // ---- group offsets ---------------------------------------------------------------------------------------------

  /**
   * Runs op against the group's coordinator, finding it again when it moved or was still loading, until
   * default.api.timeout.ms: "not available", "loading" and "not coordinator" are retriable in Kafka.
   */
  private async withCoordinator<T>(
    groupId: string,
    what: string,
    op: (coordinator: InternalBroker) => Promise<T>,
  ): Promise<T> {
    return this.retrying(
      { what },
      async () => {
        const coordinator = await this.findCoordinator(groupId, what);
        try {
          return await op(coordinator);
        } catch (err) {
          const type = (err as { type?: string }).type;
          if (type !== undefined && COORDINATOR_RETRY.has(type)) {
            throw new KafkaClientError(`${what}: ${type}`, { retriable: true, kafkaErrorType: type, cause: err });
          }
          if (
            type === "ILLEGAL_GENERATION" ||
            type === "UNKNOWN_MEMBER_ID" ||
            type === "REBALANCE_IN_PROGRESS" ||
            type === "STALE_MEMBER_EPOCH"
          ) {
            throw new KafkaClientError(
              `${what}: group ${groupId} has active members (${type}); offsets can be committed without joining only to a group with no members`,
              { retriable: false, kafkaErrorType: type, cause: err },
            );
          }
          throw err;
        }
      },
      true,
    );
  }

  private async findCoordinator(groupId: string, what: string): Promise<InternalBroker> {
    try {
      return await this.cluster.findGroupCoordinator({ groupId });
    } catch (err) {
      // kafkajs gives up on a coordinator that is "not available" (every broker asked) as non-retriable
      // KafkaJSGroupCoordinatorNotFound: on a new broker that is `__consumer_offsets` being created.
      const { name, type } = err as { name?: string; type?: string };
      if (name === "KafkaJSGroupCoordinatorNotFound" || (type !== undefined && COORDINATOR_RETRY.has(type))) {
        throw new KafkaClientError(`${what}: no group coordinator yet (${type ?? "not found"})`, {
          retriable: true,
          kafkaErrorType: type ?? "COORDINATOR_NOT_AVAILABLE",
          cause: err,
        });
      }
      throw err;
    }
  }

  async commitOffsets(groupId: string, offsets: readonly GroupOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    const topics = [...groupByTopic(offsets)].map(([topic, list]) => ({
      topic,
      partitions: list.map(({ partition, offset, metadata }) => ({
        partition,
        offset: offset.toString(),
        metadata: metadata ?? null,
      })),
    }));
    await this.withCoordinator(groupId, `commit offsets of group ${groupId}`, async (coordinator) => {
      // Generation -1 and no member id: a commit outside any group generation ("simple" consumer).
      await coordinator.offsetCommit({ groupId, groupGenerationId: -1, memberId: "", retentionTime: -1, topics });
    });
  }

  async fetchCommittedOffsets(
    groupId: string,
    topicsOrPartitions: readonly string[] | readonly TopicPartition[],
  ): Promise<CommittedOffset[]> {
    let partitions: TopicPartition[];
    if (topicsOrPartitions.length > 0 && typeof topicsOrPartitions[0] === "string") {
      const described = await this.partitionsFor(topicsOrPartitions as readonly string[]);
      partitions = described.flatMap(({ topic, partitions: ps }) => ps.map((partition) => ({ topic, partition })));
    } else {
      partitions = [...(topicsOrPartitions as readonly TopicPartition[])];
    }
    if (partitions.length === 0) return [];
    const topics = [...groupByTopic(partitions)].map(([topic, list]) => ({
      topic,
      partitions: list.map(({ partition }) => ({ partition })),
    }));
    const response = await this.withCoordinator(groupId, `fetch committed offsets of group ${groupId}`, (coordinator) =>
      coordinator.offsetFetch({ groupId, topics }),
    );
    const found = new Map<string, { offset: string; metadata: string | null }>();
    for (const { topic, partitions: ps } of response.responses) {
      for (const p of ps) found.set(`${p.partition}\u0000${topic}`, p);
    }
    return partitions.map(({ topic, partition }) => {
      const entry = found.get(`${partition}\u0000${topic}`);
      const offset = entry ? BigInt(entry.offset) : -1n;
      return {
        topic,
        partition,
        offset: offset < 0n ? null : offset,
        metadata: offset < 0n ? null : (entry?.metadata ?? null),
      };
    });
  }
}

/** Creates the default (kafkajs) client. It connects lazily, on first use. */
export function createKafkajsClient(options: ConsumerOptions, settings: KafkajsSettings = {}): KafkaClient {
  return new KafkajsClient(options, settings);
}
