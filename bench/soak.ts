// Soak (not CI): an unbounded pipeline under steady load on Prism for --minutes, watching whether the processes
// that run our code grow. A Python pipeline (Beam's own ReadFromKafka → [Python Map] → WriteToKafka, expanded by
// `serve`, run by our worker) copies an input topic to an output topic while a producer writes --rate records/s.
// Every --sample-seconds: the RSS and open file descriptors (/proc/<pid>/fd) of `serve` and of each of our worker
// processes (found in this process's tree), and the copy's lag. At the end: the producer stops, the copy drains,
// and the output is checked record by record (nothing lost; duplicates counted); then a table and a verdict on
// flatness: the RSS slope (least squares) and the fd range over the second half of the run.
//   npx tsc -p . && node dist/bench/soak.js [--minutes 10] [--rate 2000] [--sample-seconds 15] [--python-map true]
// Needs scripts/setup-xlang.sh (run by it); starts its own broker, Prism and `serve`.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import kafkajs from "kafkajs";
import { useXlangToolchain } from "../test/infra/toolchain.js";
import { startBroker } from "../test/infra/broker.js";
import { startPrism } from "../test/infra/prism.js";
import { startServe } from "../test/infra/service.js";
import { parentPid } from "../test/infra/process-memory.js";
import { createTopic, uniqueTopic } from "../test/infra/fixtures.js";
import { lastJsonLine, runPython, type PythonResult } from "../test/infra/python.js";
import { createKafkaClient } from "../src/kafka/client/index.js";
import { parseConsumerConfig } from "../src/kafka/config/index.js";
import { flag, numberFlag } from "./common.js";

const { Kafka, logLevel } = kafkajs;

const minutes = numberFlag("minutes", 10);
const rate = numberFlag("rate", 2_000);
const sampleSeconds = numberFlag("sample-seconds", 15);
const pythonMap = flag("python-map", "true") !== "false";
const PARTITIONS = 4;
/** Flat means: RSS grows by at most this over the second half (least-squares slope), and fds stay within a range. */
const FLAT_RSS_MIB_PER_MIN = 1;
const FLAT_FD_RANGE = 8;

// ---- processes ---------------------------------------------------------------------------------------------------

type Role = "serve" | "worker";

interface ProcessSample {
  readonly pid: number;
  readonly role: Role;
  readonly rssMiB: number;
  readonly fds: number;
}

/** pid → parent pid, for every process we may read. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.set(Number(name), parentPid(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** Our `serve` and worker processes among this process's descendants (Prism starts the workers). */
function ourProcesses(): { pid: number; role: Role }[] {
  const tree = parents();
  const descends = (pid: number): boolean => {
    for (let p = tree.get(pid), hops = 0; p !== undefined && p > 1 && hops < 32; p = tree.get(p), hops++) {
      if (p === process.pid) return true;
    }
    return false;
  };
  const found: { pid: number; role: Role }[] = [];
  for (const pid of tree.keys()) {
    if (!descends(pid)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (!args.some((a) => a.endsWith("service/cli.js"))) continue;
    if (args.includes("serve")) found.push({ pid, role: "serve" });
    else if (args.includes("worker")) found.push({ pid, role: "worker" });
  }
  return found;
}

function sampleProcess(pid: number, role: Role): ProcessSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rssKiB = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN);
    return { pid, role, rssMiB: rssKiB / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined; // exited between the listing and the read
  }
}

// ---- the run -------------------------------------------------------------------------------------------------------

interface Sample {
  readonly minutes: number;
  readonly produced: number;
  readonly copied: number;
  readonly processes: ProcessSample[];
}

await useXlangToolchain();

const broker = await startBroker();
const prism = await startPrism();
const service = await startServe();
const input = uniqueTopic("soak-in");
const output = uniqueTopic("soak-out");
await createTopic(broker.bootstrap, input, PARTITIONS);
await createTopic(broker.bootstrap, output, PARTITIONS);
const kafka = new Kafka({ brokers: [broker.bootstrap], clientId: "kbt-soak", logLevel: logLevel.ERROR });
const admin = kafka.admin();
await admin.connect();
const producer = kafka.producer();
await producer.connect();

const stopFile = join(tmpdir(), `kbt-soak-stop-${process.pid}`);
const pipelineSeconds = minutes * 60 + 900;
let pipelineEnded = false;
const pipeline: Promise<PythonResult> = runPython(
  "kafka_pipelines.py",
  [
    "stream",
    "--expansion",
    service.expansionAddress,
    "--job-endpoint",
    prism.jobEndpoint,
    "--bootstrap",
    broker.bootstrap,
    "--topic",
    input,
    "--results-topic",
    output,
    "--group",
    `soak-${input}`,
    "--run-seconds",
    String(pipelineSeconds),
    "--stop-file",
    stopFile,
    ...(pythonMap ? ["--python-map"] : []),
    // Beam Python gives the job's state and message streams the job service timeout (300 s by default): a longer
    // streaming job would lose them and its driver exit 1 (DEADLINE_EXCEEDED) while the job runs on.
    `--pipeline-option=--job_server_timeout=${pipelineSeconds + 300}`,
  ],
  (pipelineSeconds + 120) * 1000,
).finally(() => {
  pipelineEnded = true;
});

async function copiedCount(): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(output);
  return offsets.reduce((n, p) => n + Number(p.high), 0);
}

/** Sends `rate` records/s (keyed k<i>, values v<i>) in sends of up to 1,000, catching up if a send was slow. */
let produced = 0;
let producing = true;
async function produceSteadily(): Promise<void> {
  const started = Date.now();
  while (producing) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate) - produced;
    if (due <= 0) {
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    const count = Math.min(due, 1_000);
    const first = produced;
    await producer.send({
      topic: input,
      acks: -1,
      messages: Array.from({ length: count }, (_, i) => ({ key: `k${first + i}`, value: `v${first + i}` })),
    });
    produced += count;
  }
}

const samples: Sample[] = [];
const started = Date.now();
function printSample(s: Sample): void {
  const procs = s.processes.map((p) => `${p.role}[${p.pid}] ${p.rssMiB.toFixed(0)} MiB ${p.fds} fds`).join(", ");
  console.log(
    `t=${s.minutes.toFixed(1)} min produced=${s.produced} copied=${s.copied} lag=${s.produced - s.copied} ${procs}`,
  );
}
async function takeSample(): Promise<Sample> {
  const processes = ourProcesses()
    .map(({ pid, role }) => sampleProcess(pid, role))
    .filter((p): p is ProcessSample => p !== undefined);
  const sample = { minutes: (Date.now() - started) / 60_000, produced, copied: await copiedCount(), processes };
  samples.push(sample);
  printSample(sample);
  return sample;
}

console.log(
  `soak: ${minutes} min at ${rate} records/s, ${PARTITIONS} partitions, ReadFromKafka → ${pythonMap ? "Python Map → " : ""}WriteToKafka on Prism; sample every ${sampleSeconds} s`,
);
const load = produceSteadily();
let failure: string | undefined;
try {
  const end = started + minutes * 60_000;
  await takeSample();
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, Math.min(sampleSeconds * 1000, Math.max(0, end - Date.now()))));
    if (pipelineEnded) {
      const result = await pipeline;
      throw new Error(`the pipeline ended early (exit ${result.code}):\n${result.stderr.slice(-4000)}`);
    }
    await takeSample();
  }
  producing = false;
  await load;
  // Drain: the copy catches up with everything acknowledged.
  const drainStarted = Date.now();
  while ((await copiedCount()) < produced) {
    if (Date.now() - drainStarted > 300_000) throw new Error(`not drained after 300 s: ${await copiedCount()}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  const drainMs = Date.now() - drainStarted;
  await new Promise((r) => setTimeout(r, 5_000)); // duplicates, if any, land here
  await takeSample();
  writeFileSync(stopFile, "");
  const result = await pipeline;
  let state: string;
  try {
    state = lastJsonLine<{ state: string }>(result).state;
  } catch (err) {
    // Checked after the output: what was copied is the soak's finding either way.
    state = `no result (exit ${result.code})`;
    failure = `the pipeline's driver: ${err instanceof Error ? err.message.slice(0, 2000) : String(err)}`;
  }

  // Verify: every input record once in the output (values upper-cased by the Python Map).
  const client = createKafkaClient(
    parseConsumerConfig({ "bootstrap.servers": broker.bootstrap }, { logger: () => undefined }),
    { logger: () => undefined },
  );
  const seen = new Uint8Array(produced);
  let outputRecords = 0;
  let wrong = 0;
  try {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      let offset = 0n;
      for (;;) {
        const fetched = await client.fetch(output, partition, offset, { maxWaitMs: 50, maxBytes: 8 << 20 });
        for (const r of fetched.records) {
          outputRecords++;
          const key = r.key?.toString() ?? "";
          const i = Number(key.slice(1));
          const expected = pythonMap ? `V${i}` : `v${i}`;
          if (!/^k\d+$/.test(key) || i >= produced || r.value?.toString() !== expected) wrong++;
          else if (seen[i]! < 255) seen[i]!++;
        }
        offset = fetched.nextOffset;
        if (offset >= fetched.highWatermark) break;
      }
    }
  } finally {
    await client.close();
  }
  let lost = 0;
  let duplicates = 0;
  for (const n of seen) {
    if (n === 0) lost++;
    else duplicates += n - 1;
  }

  // ---- report --------------------------------------------------------------------------------------------------
  const roles = [...new Set(samples.flatMap((s) => s.processes.map((p) => `${p.role} ${p.pid}`)))];
  console.log(`\n| t (min) | produced | copied | lag | ${roles.map((r) => `${r} RSS (MiB) / fds`).join(" | ")} |`);
  console.log(`|---|---|---|---|${roles.map(() => "---").join("|")}|`);
  for (const s of samples) {
    const cells = roles.map((r) => {
      const p = s.processes.find((x) => `${x.role} ${x.pid}` === r);
      return p ? `${p.rssMiB.toFixed(1)} / ${p.fds}` : "-";
    });
    console.log(
      `| ${s.minutes.toFixed(1)} | ${s.produced.toLocaleString("en")} | ${s.copied.toLocaleString("en")} | ${(s.produced - s.copied).toLocaleString("en")} | ${cells.join(" | ")} |`,
    );
  }
  const lags = samples.slice(0, -1).map((s) => s.produced - s.copied);
  console.log(
    `\nrecords: produced ${produced.toLocaleString("en")}, output ${outputRecords.toLocaleString("en")}, lost ${lost}, duplicates ${duplicates}, wrong ${wrong}; drained in ${(drainMs / 1000).toFixed(1)} s; pipeline ${state}`,
  );
  console.log(`lag while producing: max ${Math.max(...lags).toLocaleString("en")}, last ${lags.at(-1)}`);

  const secondHalf = samples.filter((s) => s.minutes >= minutes / 2);
  const verdicts: string[] = [];
  for (const r of roles) {
    const points = secondHalf.flatMap((s) => {
      const p = s.processes.find((x) => `${x.role} ${x.pid}` === r);
      return p ? [{ t: s.minutes, rss: p.rssMiB, fds: p.fds }] : [];
    });
    if (points.length < 3) {
      verdicts.push(`${r}: ${points.length} samples in the second half, no verdict`);
      continue;
    }
    const meanT = points.reduce((n, p) => n + p.t, 0) / points.length;
    const meanR = points.reduce((n, p) => n + p.rss, 0) / points.length;
    const slope =
      points.reduce((n, p) => n + (p.t - meanT) * (p.rss - meanR), 0) /
      points.reduce((n, p) => n + (p.t - meanT) ** 2, 0);
    const fds = points.map((p) => p.fds);
    const fdRange = Math.max(...fds) - Math.min(...fds);
    const flat = slope <= FLAT_RSS_MIB_PER_MIN && fdRange <= FLAT_FD_RANGE;
    verdicts.push(
      `${r}: RSS slope ${slope.toFixed(2)} MiB/min (second half, ${points.length} samples, ${Math.min(...points.map((p) => p.rss)).toFixed(0)}-${Math.max(...points.map((p) => p.rss)).toFixed(0)} MiB), fds ${Math.min(...fds)}-${Math.max(...fds)}: ${flat ? "FLAT" : "GROWING"}`,
    );
    if (!flat) failure ??= `${r} is not flat`;
  }
  console.log(
    `\nverdict (flat: RSS slope <= ${FLAT_RSS_MIB_PER_MIN} MiB/min and fd range <= ${FLAT_FD_RANGE} over the second half):`,
  );
  for (const v of verdicts) console.log(`  ${v}`);
  if (lost > 0 || wrong > 0) failure = `lost ${lost}, wrong ${wrong}${failure ? `; ${failure}` : ""}`;
  console.log(`\nsoak: ${failure === undefined ? "OK" : `FAILED (${failure})`}`);
  if (failure !== undefined) console.log(result.stderr.slice(-3000));
} catch (err) {
  failure = String(err);
  console.error(`soak: FAILED: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  producing = false;
  await load.catch(() => undefined);
  writeFileSync(stopFile, "");
  await pipeline.catch(() => undefined);
  rmSync(stopFile, { force: true });
  await producer.disconnect().catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
  await Promise.all([prism.stop(), service.stop()]);
  await broker.stop();
}
process.exit(failure === undefined ? 0 : 1);
