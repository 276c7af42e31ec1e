// A real single-node Apache Kafka 4.x broker (KRaft, broker+controller) for tests and the demo.
// Jars come from Maven Central through scripts/maven-libs.sh (cached); storage lives in a temp dir removed on stop
// (a restart keeps it: same ports, same data).
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, mkdirSync, readdirSync, readFileSync, openSync, closeSync } from "node:fs";
import { tmpdir, homedir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import { repoRoot } from "./paths.js";
import { freePort } from "./ports.js";

const execFileAsync = promisify(execFile);

export interface Broker {
  /** host:port for bootstrap.servers (the PLAINTEXT listener) */
  readonly bootstrap: string;
  /** host:port of each extra listener, by name. */
  readonly listeners: Readonly<Record<string, string>>;
  readonly logFile: string;
  /** The broker JVM's process id (a new one after restart()). */
  readonly pid: number | undefined;
  /** Freezes the broker process (SIGSTOP): connections stay open but nothing answers, as with a hung or partitioned broker. */
  pause(): void;
  /** Lets a paused broker run again (SIGCONT). */
  resume(): void;
  /**
   * Stops the broker process and starts it again on the same ports with the same data (its log, offsets and
   * transaction state survive). Resolves once it serves again; see {@link RestartOptions}.
   */
  restart(options?: RestartOptions): Promise<RestartTimes>;
  stop(): Promise<void>;
}

export interface RestartOptions {
  /** SIGTERM (default): a clean shutdown (leaders moved, logs flushed). SIGKILL: a crash, logs recovered at start. */
  readonly signal?: "SIGTERM" | "SIGKILL";
  /** How long the broker stays down before it is started again (default 0). */
  readonly downMs?: number;
}

export interface RestartTimes {
  /** From the signal until the process exited. */
  readonly stopMs: number;
  /** From the signal until the restarted broker answered metadata (and group offsets, when warm): the outage. */
  readonly downtimeMs: number;
}

export interface BrokerOptions {
  /** Extra server.properties lines, e.g. { "log.retention.ms": "1000" }. */
  readonly properties?: Readonly<Record<string, string>>;
  readonly startTimeoutMs?: number;
  /**
   * Ask for a group's offsets before returning, so that `__consumer_offsets` exists and its coordinator is loaded
   * (default true). `false` gives a broker as a new user meets it: no consumer group has ever asked for one.
   */
  readonly warm?: boolean;
  /**
   * Listeners beside PLAINTEXT (e.g. SSL, SASL_SSL), each on a free port; their settings go in `properties` under
   * Kafka's `listener.name.<name>.` prefix.
   */
  readonly listeners?: readonly ExtraListener[];
  /** Extra arguments to `kafka-storage format` (e.g. `--add-scram` credentials, which KRaft takes at format time). */
  readonly formatArgs?: readonly string[];
  /**
   * "4.x": the test bed's Kafka 4 (default). "3.x": Kafka 3.9, as many production clusters (and Confluent
   * Platform 7) run: no transactions v2, older maximum request versions.
   */
  readonly release?: "4.x" | "3.x";
  /** JVM system properties of the broker (e.g. org.apache.kafka.sasl.oauthbearer.allowed.urls). */
  readonly systemProperties?: Readonly<Record<string, string>>;
}

export interface ExtraListener {
  /** Upper case, as in listener.security.protocol.map. */
  readonly name: string;
  readonly protocol: "SSL" | "SASL_SSL" | "SASL_PLAINTEXT" | "PLAINTEXT";
}

function cacheDir(): string {
  return process.env.KBT_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "kafka-beam-ts");
}

/** Resolves (downloading once) the broker's jars and returns their directory. */
export async function kafkaLibs(release: "4.x" | "3.x" = "4.x"): Promise<string> {
  const pom = release === "3.x" ? "kafka-3" : "kafka";
  const { stdout } = await execFileAsync("bash", [resolve(repoRoot(), "scripts/maven-libs.sh"), pom], {
    maxBuffer: 1 << 20,
  });
  return stdout.trim().split("\n").pop()!;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Brokers whose owner died without stopping them (SIGKILL, OOM) are killed at the next start.
function registryDir(): string {
  const dir = join(cacheDir(), "brokers");
  mkdirSync(dir, { recursive: true });
  return dir;
}

function reapOrphans(): void {
  const dir = registryDir();
  for (const name of readdirSync(dir)) {
    try {
      const entry = JSON.parse(readFileSync(join(dir, name), "utf8")) as {
        javaPid: number;
        ownerPid: number;
        dataDir: string;
      };
      if (isAlive(entry.ownerPid)) continue;
      if (isAlive(entry.javaPid)) process.kill(entry.javaPid, "SIGKILL");
      rmSync(entry.dataDir, { recursive: true, force: true });
      rmSync(join(dir, name), { force: true });
    } catch {
      rmSync(join(dir, name), { force: true });
    }
  }
}

function serverProperties(
  dataDir: string,
  brokerPort: number,
  controllerPort: number,
  extraListeners: readonly (ExtraListener & { port: number })[],
  extra: Record<string, string>,
): string {
  const advertised = [
    `PLAINTEXT://127.0.0.1:${brokerPort}`,
    ...extraListeners.map((l) => `${l.name}://127.0.0.1:${l.port}`),
  ];
  const protocols = [
    "PLAINTEXT:PLAINTEXT",
    "CONTROLLER:PLAINTEXT",
    ...extraListeners.map((l) => `${l.name}:${l.protocol}`),
  ];
  const props: Record<string, string> = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
    listeners: [...advertised, `CONTROLLER://127.0.0.1:${controllerPort}`].join(","),
    "advertised.listeners": advertised.join(","),
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": protocols.join(","),
    "log.dirs": join(dataDir, "logs"),
    "num.partitions": "1",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "5",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "5",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    "auto.create.topics.enable": "true",
    // Tests write records stamped years back (timestamps round-trip exactly); the default 7-day retention would
    // delete them at its next check (every 5 min), in the middle of a long run.
    "log.retention.ms": "-1",
    ...extra,
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n")}\n`;
}

async function java(libs: string, args: string[], logFd?: number): Promise<ChildProcess> {
  return spawn(
    "java",
    ["-Xms256m", "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", `${libs}/*`, ...args],
    {
      stdio: ["ignore", logFd ?? "pipe", logFd ?? "pipe"],
    },
  );
}

async function runJava(libs: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync("java", [
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
    "-cp",
    `${libs}/*`,
    ...args,
  ]);
  return stdout.trim();
}

/** Waits until the broker answers metadata and, when `warm`, its group coordinator is loaded (tests then need no sleeps). */
async function waitUntilServing(
  bootstrap: string,
  child: ChildProcess,
  logFile: string,
  timeoutMs: number,
  warm: boolean,
): Promise<void> {
  const kafka = new Kafka({
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  });
  const admin = kafka.admin();
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  try {
    for (;;) {
      if (child.exitCode !== null) {
        throw new BrokerExitedError(`broker exited with code ${child.exitCode}; see ${logFile}:\n${tail(logFile)}`);
      }
      try {
        await admin.connect();
        await admin.describeCluster();
        // Creates __consumer_offsets and waits for its coordinator.
        if (warm) await admin.fetchOffsets({ groupId: "kbt-broker-readiness", topics: [] });
        return;
      } catch (err) {
        lastError = err;
        await admin.disconnect().catch(() => undefined);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `broker at ${bootstrap} not serving after ${timeoutMs} ms: ${String(lastError)}; see ${logFile}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-30).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Attempts at starting a broker whose process exits at start (seen once in CI, beside a job server starting). */
const START_ATTEMPTS = 3;

/**
 * Starts a broker on free loopback ports; `stop()` kills it and deletes its data. A broker that exits while starting
 * is started again on other ports: a free port found here can be taken by another process (a job server starting
 * beside it) before the broker binds it.
 */
export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startBrokerOnce(options);
    } catch (err) {
      if (!(err instanceof BrokerExitedError) || attempt >= START_ATTEMPTS) throw err;
      console.warn(`startBroker: attempt ${attempt} exited at start, trying other ports: ${err.message}`);
    }
  }
}

class BrokerExitedError extends Error {}

async function startBrokerOnce(options: BrokerOptions): Promise<Broker> {
  reapOrphans();
  const libs = await kafkaLibs(options.release);
  const dataDir = mkdtempSync(join(tmpdir(), "kbt-kafka-"));
  const ports = new Set<number>();
  while (ports.size < 2 + (options.listeners?.length ?? 0)) ports.add(await freePort());
  const [brokerPort, controllerPort, ...extraPorts] = [...ports] as [number, number, ...number[]];
  const extraListeners = (options.listeners ?? []).map((l, i) => ({ ...l, port: extraPorts[i]! }));
  const propsFile = join(dataDir, "server.properties");
  writeFileSync(
    propsFile,
    serverProperties(dataDir, brokerPort, controllerPort, extraListeners, { ...options.properties }),
  );
  const clusterId = await runJava(libs, ["kafka.tools.StorageTool", "random-uuid"]);
  await runJava(libs, [
    "kafka.tools.StorageTool",
    "format",
    "-t",
    clusterId,
    "-c",
    propsFile,
    ...(options.formatArgs ?? []),
  ]);

  const logFile = join(dataDir, "broker.log");
  const bootstrap = `127.0.0.1:${brokerPort}`;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const warm = options.warm ?? true;
  let child!: ChildProcess;
  let registryEntry = "";
  /** (Re)starts the java process on the same properties and data; the log is appended to. */
  const launch = async (): Promise<void> => {
    const logFd = openSync(logFile, "a");
    const properties = Object.entries(options.systemProperties ?? {}).map(([k, v]) => `-D${k}=${v}`);
    child = await java(libs, [...properties, "kafka.Kafka", propsFile], logFd);
    closeSync(logFd);
    registryEntry = join(registryDir(), `${child.pid}.json`);
    writeFileSync(registryEntry, JSON.stringify({ javaPid: child.pid, ownerPid: process.pid, dataDir }));
  };
  /** Ends the current process (SIGKILL after 10 s of a SIGTERM it ignores) and forgets its registry entry. */
  const terminate = async (name: "SIGTERM" | "SIGKILL"): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGCONT"); // a paused broker would not see the SIGTERM
      child.kill(name);
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(registryEntry, { force: true });
  };

  await launch();
  let stopped = false;
  const signal = (name: NodeJS.Signals) => {
    if (child.exitCode === null) child.kill(name);
  };
  // A process that dies without stopping its broker (an exception, a closed stdout) takes it along; the registry
  // reaps what a SIGKILL leaves behind.
  const killOnExit = () => signal("SIGKILL");
  process.once("exit", killOnExit);
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off("exit", killOnExit);
    await terminate("SIGTERM");
    rmSync(dataDir, { recursive: true, force: true });
  };
  const restart = async (restartOptions: RestartOptions = {}): Promise<RestartTimes> => {
    if (stopped) throw new Error("restart: the broker was stopped");
    const signalled = Date.now();
    await terminate(restartOptions.signal ?? "SIGTERM");
    const stopMs = Date.now() - signalled;
    if (restartOptions.downMs) await new Promise((r) => setTimeout(r, restartOptions.downMs));
    await launch();
    try {
      await waitUntilServing(bootstrap, child, logFile, startTimeoutMs, warm);
    } catch (err) {
      await stop();
      throw err;
    }
    return { stopMs, downtimeMs: Date.now() - signalled };
  };
  try {
    await waitUntilServing(bootstrap, child, logFile, startTimeoutMs, warm);
  } catch (err) {
    await stop();
    throw err;
  }
  const listeners = Object.fromEntries(extraListeners.map((l) => [l.name, `127.0.0.1:${l.port}`]));
  return {
    bootstrap,
    listeners,
    logFile,
    get pid() {
      return child.pid;
    },
    stop,
    restart,
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
  };
}
