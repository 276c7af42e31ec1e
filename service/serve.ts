// `serve`: the expansion service and the worker pool (two gRPC servers) and the HTTP server, in one process, with a
// bounded graceful shutdown. The pieces come from the layers' public faces; this file wires and observes them.
import * as grpc from "@grpc/grpc-js";
import { connect } from "node:net";
import { readFileSync, rmSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import {
  addExpansionService,
  kafkaTransformDefinitions,
  TransformRegistry,
  type EnvironmentConfig,
  type ProcessEnvironment,
} from "../src/expansion/index.js";
import {
  addWorkerPoolService,
  WorkerPool,
  workerProcessEnvironment,
  type DoFnRegistry,
  type WorkerEvents,
} from "../src/harness/index.js";
import type { fnApi } from "../src/model/proto/index.js";
import { partitionReadGauges } from "../src/kafka/index.js";
// Not on the expansion layer's face yet: the SchemaTransform definitions (Beam YAML, managed).
import {
  kafkaSchemaTransformDefinitions,
  SCHEMA_TRANSFORM_PAYLOAD_URN,
  type SchemaTransformDefinition,
} from "../src/expansion/index.js";
import { readSealingKey, SecretSealer, SECRETS_KEY_FILE_ENV, writeNewSealingKey } from "../src/kafka/config/sealing.js";
import type { SecretsPolicy } from "../src/expansion/secrets.js";
import { formatAddress, type ServeConfig } from "./config.js";
import { buildHttpServer, type ReadinessCheck } from "./http.js";
import type { Logger } from "./log.js";
import { MetricsRegistry, serviceMetrics, type ServiceMetrics } from "./metrics.js";

const here = dirname(fileURLToPath(import.meta.url));
/** How long the runner waits before resuming a read handed back during a drain (on another worker). */
const DRAIN_RESUME_DELAY_MS = 1000;
/** A drain ends once no bundle other than handed-back reads has finished for this long. */
const DRAIN_QUIET_MS = 1500;

export function defaultProcessEnvironment(env: Readonly<Record<string, string>> = {}): ProcessEnvironment {
  return workerProcessEnvironment(env);
}

interface SecretsSetup {
  readonly policy: SecretsPolicy;
  /** The sealing key's file: its path (never the key) goes to the workers. */
  readonly keyFile: string | undefined;
  /** Made for this process: removed at shutdown. */
  readonly generated: boolean;
}

/**
 * The service's policy for literal secrets. Sealing needs the same key here (the worker pool runs in this process:
 * it finds the file through process.env) and in the workers a runner starts from the process environment (through
 * their environment variables); a worker elsewhere (docker, another host) is given the file by whoever deploys it.
 */
function secretsSetup(config: ServeConfig): SecretsSetup {
  if (config.literalSecrets !== "seal") {
    return { policy: { literalSecrets: config.literalSecrets }, keyFile: undefined, generated: false };
  }
  const keyFile = config.secretsKeyFile ?? writeNewSealingKey();
  process.env[SECRETS_KEY_FILE_ENV] = keyFile;
  return {
    policy: { literalSecrets: "seal", sealer: new SecretSealer(readSealingKey(keyFile)) },
    keyFile,
    generated: config.secretsKeyFile === undefined,
  };
}

/** The version in package.json of this installation. */
export function packageVersion(): string {
  try {
    return (
      (JSON.parse(readFileSync(resolve(here, "../../package.json"), "utf8")) as { version?: string }).version ??
      "unknown"
    );
  } catch {
    return "unknown";
  }
}

export interface ServeDependencies {
  readonly logger: Logger;
  /** The DoFns the worker pool's workers run (the Kafka layer's, and the portable runner's user DoFns). */
  readonly dofns: DoFnRegistry;
  /** Loads what a descriptor's DoFns need before they are built (the portable runner's user modules). */
  readonly prepareDescriptor?: (descriptor: fnApi.IProcessBundleDescriptor) => Promise<void>;
  /** Closes every cached Kafka client (at shutdown). */
  readonly closeKafkaClients: () => Promise<void>;
  /** Default: every Kafka transform. */
  readonly transforms?: TransformRegistry;
  /** Default: the Kafka SchemaTransforms and managed. */
  readonly schemaTransforms?: readonly SchemaTransformDefinition[];
}

export interface RunningService {
  readonly expansionAddress: string;
  readonly workerPoolAddress: string;
  readonly httpAddress: string;
  readonly environment: EnvironmentConfig;
  readonly metrics: ServiceMetrics;
  readiness(): Promise<ReadinessCheck>;
  /** Graceful stop, bounded by the config's shutdown timeout; resolves true if everything finished in time. */
  stop(reason: string): Promise<boolean>;
}

/** A bind failure (port taken, address not local): the CLI reports it in one line. */
export class BindError extends Error {
  override readonly name = "BindError";
  readonly code = "BIND";
  readonly retriable = false;
}

function bind(
  server: grpc.Server,
  address: string,
  credentials: grpc.ServerCredentials,
  what: string,
): Promise<number> {
  return new Promise((done, fail) => {
    server.bindAsync(address, credentials, (err, port) =>
      err ? fail(new BindError(`cannot listen on ${address} (${what}): ${err.message}`, { cause: err })) : done(port),
    );
  });
}

/** A worker pool that counts StartWorker/StopWorker for /metrics. */
class ObservedWorkerPool extends WorkerPool {
  constructor(
    dofns: DoFnRegistry,
    events: WorkerEvents,
    private readonly metrics: ServiceMetrics,
    private readonly logger: Logger,
    prepareDescriptor?: ServeDependencies["prepareDescriptor"],
  ) {
    super(dofns, events, prepareDescriptor);
  }

  override start(request: fnApi.IStartWorkerRequest): string | undefined {
    const error = this.stopping ? "StartWorker: the worker pool is shutting down" : super.start(request);
    this.metrics.workerStarts.inc({ outcome: error ? "error" : "ok" });
    if (error) {
      this.metrics.errors.inc({ kind: "worker_pool" });
      this.logger.warn("worker not started", { workerId: request.workerId, error });
    } else {
      this.logger.info("worker started", { workerId: request.workerId, control: request.controlEndpoint?.url });
    }
    return error;
  }

  override async stop(id: string): Promise<string | undefined> {
    this.metrics.workerStops.inc();
    const error = await super.stop(id);
    this.logger.info("worker stopped", { workerId: id });
    return error;
  }

  stopping = false;
}

/** Resolves true if a TCP connection to the address is accepted within the time. */
function accepts(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      done(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}

/** Where to dial a server bound to `host` from this machine. */
function localTarget(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "::1";
  return host;
}

/** The Kafka DoFns' per-topic counter kinds → the service metric and the factor to its unit. */
const KAFKA_COUNTERS = {
  records_read: ["recordsRead", 1],
  bytes_read: ["bytesRead", 1],
  fetches: ["fetches", 1],
  fetch_wait_ms: ["fetchWaitSeconds", 1 / 1000],
  records_written: ["recordsWritten", 1],
  bytes_written: ["bytesWritten", 1],
} as const;

/** Adds the Kafka DoFns' per-topic user counters (`records_read/<topic>`, ...) to the service's metrics. */
export function recordKafkaCounters(metrics: ServiceMetrics, counters: Readonly<Record<string, number>>): void {
  for (const [name, value] of Object.entries(counters)) {
    const slash = name.indexOf("/");
    if (slash < 0 || value <= 0) continue;
    const kind = name.slice(0, slash) as keyof typeof KAFKA_COUNTERS;
    if (!Object.hasOwn(KAFKA_COUNTERS, kind)) continue;
    const [metric, factor] = KAFKA_COUNTERS[kind];
    metrics[metric].inc({ topic: name.slice(slash + 1) }, value * factor);
  }
  for (const [name, value] of Object.entries(counters)) {
    // partition_records_read/<topic>/<partition>: Kafka topic names cannot contain "/".
    const match = /^partition_records_read\/([^/]+)\/(\d+)$/.exec(name);
    if (match && value > 0) metrics.partitionRecordsRead.inc({ topic: match[1]!, partition: match[2]! }, value);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function startServices(config: ServeConfig, deps: ServeDependencies): Promise<RunningService> {
  const { logger } = deps;
  const version = packageVersion();
  const transforms = deps.transforms ?? new TransformRegistry(kafkaTransformDefinitions());
  const secrets = secretsSetup(config);
  const workerEnv: Record<string, string> = secrets.keyFile ? { [SECRETS_KEY_FILE_ENV]: secrets.keyFile } : {};
  const schemaTransforms = deps.schemaTransforms ?? kafkaSchemaTransformDefinitions();
  // Metric labels: URNs we serve, else "unknown" (a caller cannot grow the label set).
  const knownUrns = new Set([...transforms.urns, SCHEMA_TRANSFORM_PAYLOAD_URN]);
  const credentials = config.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: config.tls.cert, private_key: config.tls.key }], false)
    : grpc.ServerCredentials.createInsecure();
  // channelz (grpc-js's per-call introspection counters) is off: nothing here serves it, and it costs every call.
  const serverOptions = {
    "grpc.max_receive_message_length": -1,
    "grpc.max_send_message_length": -1,
    "grpc.enable_channelz": 0,
  };

  let state: "starting" | "serving" | "stopping" = "starting";
  let pool: ObservedWorkerPool | undefined;
  const metricsRegistry = new MetricsRegistry();
  const metrics = serviceMetrics(
    metricsRegistry,
    {
      workersActive: () => pool?.size ?? 0,
      bundlesActive: () => pool?.activeBundles ?? 0,
      ready: () => state === "serving",
      partitionReads: () => partitionReadGauges(),
    },
    version,
  );

  const workerEvents: WorkerEvents = {
    // `counters` (the bundle's user counters summed over its transforms) is fed once the harness passes them:
    // the Kafka DoFns count `records_read/<topic>`, `bytes_read/<topic>`, `records_written/<topic>`, ...
    onBundle: (outcome, _elements, counters?: Readonly<Record<string, number>>) => {
      metrics.bundles.inc({ outcome });
      if (outcome === "error") metrics.errors.inc({ kind: "bundle" });
      if (counters) recordKafkaCounters(metrics, counters);
    },
  };
  pool = new ObservedWorkerPool(deps.dofns, workerEvents, metrics, logger, deps.prepareDescriptor);
  const poolServer = new grpc.Server(serverOptions);
  addWorkerPoolService(poolServer, pool);
  const expansionServer = new grpc.Server(serverOptions);
  let http: FastifyInstance | undefined;

  try {
    const workerPoolPort = await bind(
      poolServer,
      formatAddress(config.host, config.workerPoolPort),
      credentials,
      "--worker-pool-port",
    );
    const workerPoolAddress = formatAddress(config.host, workerPoolPort);

    let environment: EnvironmentConfig;
    switch (config.environment.kind) {
      case "process":
        environment = defaultProcessEnvironment(workerEnv);
        break;
      case "docker":
        environment = { kind: "docker", image: config.environment.image };
        break;
      case "external":
        environment = {
          kind: "external",
          address:
            config.environment.address ??
            formatAddress(
              config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host,
              workerPoolPort,
            ),
          fallback: defaultProcessEnvironment(workerEnv),
        };
        break;
    }

    addExpansionService(
      expansionServer,
      { registry: transforms, environment, schemaTransforms, secrets: secrets.policy },
      {
        onExpand: (urn, outcome, millis, error) => {
          const known = knownUrns.has(urn) ? urn : "unknown";
          metrics.expansions.inc({ urn: known, outcome });
          metrics.expansionSeconds.observe({ urn: known }, millis / 1000);
          if (outcome !== "ok") metrics.errors.inc({ kind: "expansion" });
          // The error message names fields, never their values (the expansion layer's contract).
          const fields = { urn, outcome, ms: Math.round(millis * 10) / 10, ...(error ? { error: error.message } : {}) };
          if (outcome === "ok") logger.info("expand", fields);
          else logger.warn("expand", fields);
        },
      },
    );
    const expansionPort = await bind(
      expansionServer,
      formatAddress(config.host, config.expansionPort),
      credentials,
      "--expansion-port",
    );
    const expansionAddress = formatAddress(config.host, expansionPort);

    const readiness = async (): Promise<ReadinessCheck> => {
      if (state !== "serving") return { ready: false, checks: { expansion: state, workerPool: state } };
      const target = localTarget(config.host);
      const [expansionOk, poolOk] = await Promise.all([
        accepts(target, expansionPort, 1000),
        accepts(target, workerPoolPort, 1000),
      ]);
      return {
        ready: expansionOk && poolOk,
        checks: { expansion: expansionOk ? "ok" : "not accepting", workerPool: poolOk ? "ok" : "not accepting" },
      };
    };

    http = buildHttpServer({
      logger,
      metricsRegistry,
      metrics,
      transforms,
      schemaTransforms,
      environment: environment.kind,
      version,
      readiness,
    });
    try {
      await http.listen({ host: config.host, port: config.httpPort });
    } catch (err) {
      throw new BindError(
        `cannot listen on ${formatAddress(config.host, config.httpPort)} (--http-port): ${(err as Error).message}`,
        { cause: err },
      );
    }
    const httpAddress = formatAddress(config.host, (http.server.address() as { port: number }).port);

    state = "serving";
    // test/infra/service.ts (and operators' scripts) look for exactly this line: keep `msg` then `address`.
    logger.info("expansion service listening", { address: expansionAddress, environment: environment.kind });
    logger.info("worker pool listening", { address: workerPoolAddress });
    logger.info("http listening", { address: httpAddress, url: `http://${httpAddress}/` });
    logger.info("serving", {
      version,
      node: process.versions.node,
      expansion: expansionAddress,
      workerPool: workerPoolAddress,
      http: httpAddress,
      environment: environment.kind,
      ...(environment.kind === "external" ? { externalAddress: environment.address } : {}),
      ...(environment.kind === "docker" ? { image: environment.image } : {}),
      tls: config.tls ? { cert: config.tls.certPath, key: config.tls.keyPath } : false,
      transforms: transforms.urns.length,
      schemaTransforms: schemaTransforms.map((d) => d.identifier),
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      literalSecrets: config.literalSecrets,
      ...(secrets.keyFile ? { secretsKeyFile: secrets.generated ? "generated" : secrets.keyFile } : {}),
    });

    let stopping: Promise<boolean> | undefined;
    const stop = (reason: string): Promise<boolean> => {
      stopping ??= shutdown(reason);
      return stopping;
    };

    const shutdown = async (reason: string): Promise<boolean> => {
      state = "stopping";
      pool!.stopping = true;
      const started = Date.now();
      const deadline = started + config.shutdownTimeoutMs;
      logger.info("shutting down", {
        reason,
        timeoutMs: config.shutdownTimeoutMs,
        workers: pool!.size,
        activeBundles: pool!.activeBundles,
      });
      const steps = (async () => {
        // 1. No new Expand or StartWorker calls (calls in flight finish).
        await Promise.all([
          new Promise<void>((r) => expansionServer.tryShutdown(() => r())),
          new Promise<void>((r) => poolServer.tryShutdown(() => r())),
        ]);
        // 2. Drain: reads start nothing new (their restrictions go back to the runner) and finalizations are dropped
        //    (no offset commits from now on); everything else keeps running until the pipeline is quiet here, so
        //    records already read (whose offsets may already be committed) reach the downstream stages, our writes
        //    included. Leave room for the rest of the shutdown.
        const drainUntil = started + config.shutdownTimeoutMs * 0.7;
        if (pool!.size > 0) {
          pool!.drain(DRAIN_RESUME_DELAY_MS);
          const quiet = () =>
            pool!.activeBundles === 0 && Date.now() - Math.max(pool!.lastWorkAt, started) >= DRAIN_QUIET_MS;
          while (!quiet() && Date.now() < drainUntil) await sleep(50);
          logger.info("drained", { quiet: quiet(), afterMs: Date.now() - started, activeBundles: pool!.activeBundles });
        }
        if (pool!.activeBundles > 0)
          logger.warn("bundles still running; stopping their workers", { activeBundles: pool!.activeBundles });
        // 3. Workers close their control streams (finalization callbacks not yet sent are dropped: the runner
        //    re-reads from the last committed offsets).
        await pool!.stopAll();
        // 4. Kafka clients: producers flush, connections close.
        await deps.closeKafkaClients();
        // 5. HTTP last, so /readyz reports the shutdown until the end.
        await http!.close();
        if (secrets.generated && secrets.keyFile) rmSync(dirname(secrets.keyFile), { recursive: true, force: true });
      })();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((r) => {
        timer = setTimeout(() => r("timeout"), Math.max(0, deadline - Date.now()));
      });
      const outcome = await Promise.race([steps.then(() => "done" as const), timedOut]).catch((err: unknown) => {
        logger.error("shutdown step failed", { error: err });
        return "failed" as const;
      });
      clearTimeout(timer);
      if (outcome !== "done") {
        expansionServer.forceShutdown();
        poolServer.forceShutdown();
        if (outcome === "timeout")
          logger.warn("shutdown timed out; exiting anyway", { afterMs: Date.now() - started, workers: pool!.size });
        return false;
      }
      logger.info("stopped", { afterMs: Date.now() - started });
      return true;
    };

    return {
      expansionAddress,
      workerPoolAddress,
      httpAddress,
      environment,
      metrics,
      readiness,
      stop,
    };
  } catch (err) {
    expansionServer.forceShutdown();
    poolServer.forceShutdown();
    await http?.close().catch(() => undefined);
    throw err;
  }
}
