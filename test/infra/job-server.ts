// Beam's Flink and Spark job servers (Beam 2.56.0 runners from Maven Central, scripts/maven-libs.sh), each running
// its engine embedded (Flink's local cluster, Spark local[2]) on free loopback ports. Prism proves the protocol;
// these prove the connector on the engines users run.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "./paths.js";
import { freePort, waitForPort } from "./ports.js";
import { startManaged, type Managed } from "./processes.js";

export type Engine = "flink" | "spark";

export interface JobServer {
  readonly engine: Engine;
  /** host:port of its JobService, for --job_endpoint */
  readonly jobEndpoint: string;
  /** The JVM's process id: workers of a process environment are its children. */
  readonly pid: number;
  output(): string;
  stop(): Promise<void>;
}

// Java 17 closes the JDK's internals that Flink's and Spark's serializers reach into: without these, a streaming
// Flink job fails in the job server with InaccessibleObjectException before any worker starts.
const ADD_OPENS = [
  "java.lang",
  "java.util",
  "java.lang.reflect",
  "java.nio",
  "java.net",
  "java.io",
  "java.util.concurrent",
];
const SPARK_ADD_OPENS = [...ADD_OPENS, "sun.nio.ch", "java.lang.invoke", "sun.util.calendar"];

interface EngineSetup {
  readonly mainClass: string;
  readonly opens: readonly string[];
  readonly args: readonly string[];
  /** Its JobServerDriver's "JobService started on host:port" reaches our log (Spark's logs through log4j). */
  readonly logsJobPort: boolean;
}

const ENGINES: Readonly<Record<Engine, EngineSetup>> = {
  flink: {
    mainClass: "org.apache.beam.runners.flink.FlinkJobServerDriver",
    opens: ADD_OPENS,
    args: ["--flink-master", "[local]"],
    logsJobPort: true,
  },
  spark: {
    mainClass: "org.apache.beam.runners.spark.SparkJobServerDriver",
    opens: SPARK_ADD_OPENS,
    args: ["--spark-master-url", "local[2]"],
    logsJobPort: false,
  },
};

/** Resolves (downloading once) an engine's jars and returns their directory. */
export async function engineLibs(engine: Engine): Promise<string> {
  const { stdout } = await promisify(execFile)("bash", [resolve(repoRoot(), "scripts/maven-libs.sh"), engine], {
    maxBuffer: 1 << 20,
  });
  return stdout.trim().split("\n").pop()!;
}

export async function startJobServer(
  engine: Engine,
  options: { readonly startTimeoutMs?: number } = {},
): Promise<JobServer> {
  const libs = await engineLibs(engine);
  const { mainClass, opens, args, logsJobPort } = ENGINES[engine];
  // The job port is the JVM's own pick (0), read from its log where it can be: a port chosen here and bound seconds
  // later by the JVM was once taken meanwhile by another test's server, which then answered as the job service.
  const chosenPort = logsJobPort ? 0 : await freePort();
  const artifacts = mkdtempSync(join(tmpdir(), `kbt-${engine}-artifacts-`));
  const managed: Managed = startManaged("java", [
    "-Xmx2g",
    ...opens.map((pkg) => `--add-opens=java.base/${pkg}=ALL-UNNAMED`),
    `-Dorg.slf4j.simpleLogger.defaultLogLevel=${process.env.KBT_JOB_SERVER_LOG_LEVEL ?? "warn"}`,
    "-Dorg.slf4j.simpleLogger.log.org.apache.beam.runners.jobsubmission.JobServerDriver=info",
    // Extra JVM flags for debugging a run, e.g. -Dorg.slf4j.simpleLogger.log.org.apache.beam.runners.flink=debug
    ...(process.env.KBT_JOB_SERVER_JAVA_OPTS ?? "").split(" ").filter(Boolean),
    "-cp",
    `${libs}/*`,
    mainClass,
    "--job-host",
    "127.0.0.1",
    "--job-port",
    String(chosenPort),
    "--artifact-port",
    "0",
    "--expansion-port",
    "0",
    "--artifacts-dir",
    artifacts,
    ...args,
  ]);
  const stop = async () => {
    await managed.stop();
    rmSync(artifacts, { recursive: true, force: true });
  };
  let jobPort: number;
  try {
    const timeoutMs = options.startTimeoutMs ?? 90_000;
    jobPort = logsJobPort ? await jobServicePort(managed, timeoutMs) : chosenPort;
    await waitForPort("127.0.0.1", jobPort, timeoutMs);
  } catch (err) {
    await stop();
    throw new Error(`the ${engine} job server did not start: ${String(err)}\n${managed.output().slice(-4000)}`);
  }
  return { engine, jobEndpoint: `127.0.0.1:${jobPort}`, pid: managed.child.pid!, output: managed.output, stop };
}

/** The port the job server's log says its JobService listens on ("JobService started on host:port"). */
async function jobServicePort(managed: Managed, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const port = /JobService started on [^\s:]+:(\d+)/.exec(managed.output())?.[1];
    if (port !== undefined) return Number(port);
    if (managed.child.exitCode !== null) throw new Error(`the JVM exited (${managed.child.exitCode})`);
    if (Date.now() > deadline) throw new Error(`no "JobService started" line within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
