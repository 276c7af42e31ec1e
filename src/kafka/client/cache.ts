// Clients shared per (cluster, config): restrictions and bundles of one worker reuse one client (its connections,
// metadata and merged fetches) instead of connecting per element. Leases count users; a client nobody holds is
// closed after an idle period, unless acquired again before.
import { consoleLogger, type ConsumerOptions, type KafkaLogger, type ProducerOptions } from "../config/index.js";
import { createKafkajsClient } from "./kafkajs.js";
import { createKafkaProducer } from "./wire-producer.js";
import type { KafkaClient, KafkaProducer } from "./types.js";
import { LeasePool } from "./lease-pool.js";

export interface ClientLease<T> {
  readonly client: T;
  /** Gives the client back; the lease must not be used afterwards. Idempotent. */
  release(): void;
}

export interface ClientCacheSettings {
  /** How long an unused client stays open for the next lease. Default 60 s. */
  readonly idleCloseMs?: number;
  readonly logger?: KafkaLogger;
  readonly createClient?: (options: ConsumerOptions, logger: KafkaLogger) => KafkaClient;
  readonly createProducer?: (options: ProducerOptions, logger: KafkaLogger) => KafkaProducer;
}

/** Stable text of an options object (keys sorted), the cache key: equal configs share a client. */
export function optionsKey(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "undefined";
  if (Array.isArray(value)) return `[${value.map(optionsKey).join(",")}]`;
  const entries = Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${optionsKey((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(",")}}`;
}

export class KafkaClientCache {
  private readonly pool: LeasePool<KafkaClient | KafkaProducer>;
  private readonly logger: KafkaLogger;
  private readonly createClient: NonNullable<ClientCacheSettings["createClient"]>;
  private readonly createProducer: NonNullable<ClientCacheSettings["createProducer"]>;

  constructor(settings: ClientCacheSettings = {}) {
    this.logger = settings.logger ?? consoleLogger;
    this.pool = new LeasePool(settings.idleCloseMs ?? 60_000, (client) =>
      client.close().catch((err: unknown) => {
        this.logger("warn", `closing an idle Kafka client failed: ${(err as Error).message}`);
      }),
    );
    this.createClient = settings.createClient ?? ((options, logger) => createKafkajsClient(options, { logger }));
    this.createProducer = settings.createProducer ?? ((options, logger) => createKafkaProducer(options, { logger }));
  }

  /** A lease on the reading client for these options (created on first use, connected lazily). */
  acquireClient(options: ConsumerOptions): ClientLease<KafkaClient> {
    return this.acquire(`consumer ${optionsKey(options)}`, () => this.createClient(options, this.logger));
  }

  /**
   * A lease on the producer for these options. A transactional producer (transactional.id) is one per id: callers
   * must not run transactions on it concurrently.
   */
  acquireProducer(options: ProducerOptions): ClientLease<KafkaProducer> {
    return this.acquire(`producer ${optionsKey(options)}`, () => this.createProducer(options, this.logger));
  }

  /** Number of open clients (leased or idle). */
  get size(): number {
    return this.pool.size;
  }

  /** Closes every client now, leased or not (shutdown, tests). */
  closeAll(): Promise<void> {
    return this.pool.closeAll();
  }

  private acquire<T extends KafkaClient | KafkaProducer>(key: string, create: () => T): ClientLease<T> {
    const lease = this.pool.acquire(key, create);
    return { client: lease.value as T, release: lease.release };
  }
}

/** The process-wide cache behind acquireClient / acquireProducer. */
export const defaultClientCache = new KafkaClientCache();

export function acquireClient(options: ConsumerOptions): ClientLease<KafkaClient> {
  return defaultClientCache.acquireClient(options);
}

export function acquireProducer(options: ProducerOptions): ClientLease<KafkaProducer> {
  return defaultClientCache.acquireProducer(options);
}

/**
 * Closes every Kafka client the process has cached (readers, at-least-once producers), leased or idle, and waits for
 * them. Call it when pipelines are done, before exit: an unused client stays open 60 s. A client still in use then
 * fails with KafkaClientClosedError. Exactly-once shard producers are pooled apart: the connector's closeAllClients
 * (src/kafka/index.ts) closes both.
 */
export function closeAllClients(): Promise<void> {
  return defaultClientCache.closeAll();
}
