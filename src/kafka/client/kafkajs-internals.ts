// The part of kafkajs 2.2.4 below its public API that we use, typed in one place. kafkajs's public consumer cannot
// fetch from an explicit offset without joining a group, but its cluster layer (metadata, broker connections with
// SSL/SASL, coordinator lookup) can carry our own Fetch request. Checked at startup: a kafkajs upgrade that moves
// these fails with a clear message instead of misbehaving.
import { createRequire } from "node:module";
import { Kafka, logLevel } from "kafkajs";
import { KafkaUnsupportedError } from "../errors.js";

const QUIETED = Symbol("kafka-beam-ts: request queue quieted");

interface RequestQueuePrototype {
  scheduleCheckPendingRequests(this: { pending: readonly unknown[] }): void;
  [QUIETED]?: true;
}

/**
 * kafkajs 2.2.4 arms a timer after every response to look at its queue of requests held back by throttling, even
 * when none is held back; unthrottled, its delay is negative (-Date.now()), which Node >= 23 reports on stderr as a
 * TimeoutNegativeWarning. With nothing held back there is nothing to look at (a request held back later arms the
 * timer itself), so the check is skipped then: no warning, and no 1 ms timer per response. A kafkajs whose queue
 * looks different is left alone (the warning is cosmetic). Returns whether the queue is quieted.
 */
export function quietRequestQueue(): boolean {
  let proto: RequestQueuePrototype | undefined;
  try {
    const load = createRequire(import.meta.url);
    proto = (load("kafkajs/src/network/requestQueue/index.js") as { prototype?: RequestQueuePrototype }).prototype;
  } catch {
    return false;
  }
  if (typeof proto?.scheduleCheckPendingRequests !== "function") return false;
  if (proto[QUIETED]) return true;
  const schedule = proto.scheduleCheckPendingRequests;
  proto.scheduleCheckPendingRequests = function (this: { pending: readonly unknown[] }) {
    if (this.pending.length > 0) schedule.call(this);
  };
  proto[QUIETED] = true;
  return true;
}
quietRequestQueue();

export interface ProtocolRequest {
  readonly request: {
    readonly apiKey: number;
    readonly apiVersion: number;
    readonly apiName: string;
    encode(): Promise<{ readonly buf: Buffer; readonly buffer: Buffer }>;
    /** Absent or true: the broker answers (Produce with acks=0 does not). */
    expectResponse?(): boolean;
  };
  readonly response: {
    decode(payload: Buffer): Promise<unknown>;
    parse(decoded: unknown): Promise<unknown>;
  };
  readonly requestTimeout?: number;
  readonly logResponseError?: boolean;
}

/** A request as a kafkajs connection's queue takes it: `entry.resolve` gets the response's body. */
export interface QueuedRequest {
  readonly entry: {
    readonly apiKey: number;
    readonly apiName: string;
    readonly apiVersion: number;
    readonly correlationId: number;
    resolve(response: { payload?: Buffer }): void;
    reject(err: unknown): void;
  };
  readonly expectResponse: boolean;
  readonly requestTimeout: number;
  /** Called when the queue lets the request go (at once, or once fewer are in flight). */
  sendRequest(): void;
}

/** One of a kafkajs broker's connections (kafkajs 2.2's Connection; checked where used). */
export interface InternalConnection {
  readonly clientId?: string;
  readonly sasl?: unknown;
  readonly socket: {
    cork(): void;
    uncork(): void;
    write(data: Buffer): boolean;
  };
  readonly requestQueue: {
    push(request: QueuedRequest): void;
    maybeThrottle(throttleTimeMs: number | null): void;
  };
  nextCorrelationId(): number;
  failIfNotConnected(): void;
  isAuthenticated(): boolean;
  send(request: ProtocolRequest): Promise<unknown>;
}

export interface InternalPartitionMetadata {
  readonly partitionErrorCode: number;
  readonly partitionId: number;
  readonly leader: number;
}

export interface InternalTopicMetadata {
  readonly topic: string;
  readonly isInternal?: boolean;
  readonly partitionMetadata: readonly InternalPartitionMetadata[];
}

/** What every transaction coordinator request names: the transaction and the producer id and epoch it holds. */
export interface TxnArgs {
  transactionalId: string;
  /** A 64-bit id as kafkajs writes it (decimal string). */
  producerId: string;
  producerEpoch: number;
}

export interface InternalBroker {
  readonly nodeId: number | null;
  readonly versions: Readonly<Record<number, { readonly minVersion: number; readonly maxVersion: number }>> | null;
  readonly connectionPool: {
    send(request: ProtocolRequest): Promise<unknown>;
    /** Connects it first if need be. */
    getConnectionByRequest?(request: ProtocolRequest): Promise<InternalConnection>;
  };
  disconnect(): Promise<void>;
  metadata(topics: string[]): Promise<{ readonly topicMetadata: readonly InternalTopicMetadata[] }>;
  listOffsets(args: {
    replicaId?: number;
    isolationLevel: number;
    topics: { topic: string; partitions: { partition: number; timestamp: string }[] }[];
  }): Promise<{
    readonly responses: readonly {
      topic: string;
      partitions: readonly { partition: number; offset: string; timestamp?: string }[];
    }[];
  }>;
  offsetCommit(args: {
    groupId: string;
    groupGenerationId: number;
    memberId: string;
    retentionTime?: number;
    topics: { topic: string; partitions: { partition: number; offset: string; metadata?: string | null }[] }[];
  }): Promise<unknown>;
  initProducerId(args: { transactionalId: string; transactionTimeout: number }): Promise<{
    readonly producerId: string;
    readonly producerEpoch: number;
  }>;
  addPartitionsToTxn(args: TxnArgs & { topics: { topic: string; partitions: number[] }[] }): Promise<unknown>;
  addOffsetsToTxn(args: TxnArgs & { groupId: string }): Promise<unknown>;
  txnOffsetCommit(
    args: TxnArgs & {
      groupId: string;
      topics: { topic: string; partitions: { partition: number; offset: string; metadata: string | null }[] }[];
    },
  ): Promise<unknown>;
  endTxn(args: TxnArgs & { transactionResult: boolean }): Promise<unknown>;
  offsetFetch(args: { groupId: string; topics: { topic: string; partitions: { partition: number }[] }[] }): Promise<{
    readonly responses: readonly {
      topic: string;
      partitions: readonly { partition: number; offset: string; metadata: string | null }[];
    }[];
  }>;
}

export interface InternalCluster {
  readonly targetTopics: Set<string>;
  readonly brokerPool: { findConnectedBroker(): Promise<InternalBroker> };
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  findTopicPartitionMetadata(topic: string): readonly InternalPartitionMetadata[];
  findBroker(args: { nodeId: number | string }): Promise<InternalBroker>;
  /** coordinatorType 0: the group's coordinator (default), 1: the transactional id's. */
  findGroupCoordinator(args: { groupId: string; coordinatorType?: 0 | 1 }): Promise<InternalBroker>;
}

export interface ClusterOptions {
  readonly allowAutoTopicCreation: boolean;
  readonly metadataMaxAge: number;
  /** kafkajs encoding: 0 read_uncommitted, 1 read_committed (used only by kafkajs's own offset calls). */
  readonly isolationLevel: 0 | 1;
}

const CLUSTER_METHODS = [
  "connect",
  "disconnect",
  "refreshMetadata",
  "refreshMetadataIfNecessary",
  "addMultipleTargetTopics",
  "findTopicPartitionMetadata",
  "findBroker",
  "findGroupCoordinator",
] as const;

const BROKER_METHODS = [
  "metadata",
  "listOffsets",
  "offsetCommit",
  "offsetFetch",
  "initProducerId",
  "addPartitionsToTxn",
  "addOffsetsToTxn",
  "txnOffsetCommit",
  "endTxn",
  "disconnect",
] as const;

const CONNECTION_METHODS = ["nextCorrelationId", "failIfNotConnected", "isAuthenticated", "send"] as const;

let verified: Promise<void> | undefined;

/**
 * Checks, without connecting anywhere, every kafkajs internal this client reaches: the private cluster factory, the
 * cluster's methods, and a broker's request methods and connection pool. Rejects with KafkaUnsupportedError naming
 * what is missing. The CLI runs it at start-up; clients run it (once) through createInternalCluster's own checks.
 */
export function verifyKafkajsInternals(): Promise<void> {
  verified ??= (async () => {
    const kafka = new Kafka({ brokers: ["127.0.0.1:9"], logLevel: logLevel.NOTHING });
    const cluster = createInternalCluster(kafka, {
      allowAutoTopicCreation: false,
      metadataMaxAge: 300_000,
      isolationLevel: 0,
    });
    const pool = cluster.brokerPool as unknown as {
      createSeedBroker?: () => Promise<void>;
      seedBroker?: Record<string, unknown>;
    };
    if (typeof pool.createSeedBroker !== "function") {
      throw new KafkaUnsupportedError("kafkajs BrokerPool.createSeedBroker is missing (kafkajs 2.2.x expected)");
    }
    await pool.createSeedBroker(); // builds a broker and its connection pool; connects nothing
    const broker = pool.seedBroker;
    for (const method of BROKER_METHODS) {
      if (typeof broker?.[method] !== "function")
        throw new KafkaUnsupportedError(`kafkajs Broker.${method} is missing (kafkajs 2.2.x expected)`);
    }
    const connections = broker!.connectionPool as
      | { send?: unknown; getConnectionByRequest?: unknown; pool?: Record<string, unknown>[] }
      | undefined;
    if (typeof connections?.send !== "function") {
      throw new KafkaUnsupportedError("kafkajs Broker.connectionPool.send is missing (kafkajs 2.2.x expected)");
    }
    // What ./protocol-request.ts frames its requests with (it falls back to connectionPool.send without them).
    const connection = connections.pool?.[0];
    const queue = connection?.requestQueue as Record<string, unknown> | undefined;
    if (
      typeof connections.getConnectionByRequest !== "function" ||
      CONNECTION_METHODS.some((method) => typeof connection?.[method] !== "function") ||
      typeof queue?.push !== "function" ||
      typeof queue.maybeThrottle !== "function"
    ) {
      throw new KafkaUnsupportedError("kafkajs Connection internals changed (kafkajs 2.2.x expected)");
    }
  })();
  return verified;
}

/** Creates a kafkajs Cluster sharing the Kafka instance's brokers, SSL, SASL, logger and retry settings. */
export function createInternalCluster(kafka: Kafka, options: ClusterOptions): InternalCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === "private:Kafka:createCluster");
  const factory = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (typeof factory !== "function") {
    throw new KafkaUnsupportedError("this kafkajs version does not expose its cluster layer (kafkajs 2.2.x expected)");
  }
  const cluster = (factory as (o: Record<string, unknown>) => InternalCluster)({
    allowAutoTopicCreation: options.allowAutoTopicCreation,
    metadataMaxAge: options.metadataMaxAge,
    isolationLevel: options.isolationLevel,
  });
  for (const method of CLUSTER_METHODS) {
    if (typeof (cluster as unknown as Record<string, unknown>)[method] !== "function") {
      throw new KafkaUnsupportedError(`kafkajs Cluster.${method} is missing (kafkajs 2.2.x expected)`);
    }
  }
  if (!(cluster.targetTopics instanceof Set) || typeof cluster.brokerPool?.findConnectedBroker !== "function") {
    throw new KafkaUnsupportedError("kafkajs Cluster internals changed (kafkajs 2.2.x expected)");
  }
  return cluster;
}
