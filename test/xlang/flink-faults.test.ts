// Faults on a real engine: our worker processes are killed (SIGKILL) in the middle of an unbounded read feeding the
// exactly-once write, on Flink with checkpointing and a restart strategy. Flink restores the job from its last
// checkpoint and starts new workers; the output, read `read_committed`, holds every input record exactly once,
// those produced before, during and after the kill, also when the kill comes before the first checkpoint.
import * as assert from "uvu/assert";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "../harness.js";
import { createTopic, testKafka, uniqueTopic } from "../infra/fixtures.js";
import { runKafkaPipeline, type PythonResult } from "../infra/python.js";
import { workerPids } from "../infra/worker-processes.js";
import { useEngineStack } from "../infra/xlang-stack.js";
import { readClient, readTopic, type ReadRecord } from "../integration/kafka-write-helpers.js";
import type { KafkaClient } from "../../src/kafka/client/index.js";

const s = suite("faults on Flink: workers killed under exactly-once", { timeoutMs: 360_000 });
const stack = useEngineStack(s, "flink", { "num.partitions": "4" });
let reader: KafkaClient | undefined;
s.after(async () => {
  await reader?.close();
});

/** The README's Flink streaming setup with checkpoints, and a restart strategy a production job would have. */
function options(checkpointingIntervalMs: number): string[] {
  return [
    "--streaming",
    "--parallelism=2",
    "--max_bundle_time_mills=100",
    `--checkpointing_interval=${checkpointingIntervalMs}`,
    "--finish_bundle_before_checkpointing",
    "--number_of_execution_retries=5",
    "--execution_retry_delay=2000",
  ];
}

const BEFORE = 4000;
const AFTER = 4000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function committedOutput(topic: string): Promise<ReadRecord[]> {
  reader ??= readClient(stack.bootstrap);
  return readTopic(reader, topic, "read_committed").catch(() => []);
}

async function produce(topic: string, from: number, count: number): Promise<void> {
  const producer = testKafka(stack.bootstrap).producer();
  await producer.connect();
  try {
    for (let i = from; i < from + count; i += 500) {
      const batch = Array.from({ length: Math.min(500, from + count - i) }, (_, j) => ({
        key: `k${i + j}`,
        value: `value-${i + j}`,
        partition: (i + j) % 4,
      }));
      await producer.send({ topic, acks: -1, messages: batch });
      await sleep(100); // records keep arriving while the job fails and recovers
    }
  } finally {
    await producer.disconnect();
  }
}

/** The Python job: ReadFromKafka(source) → our exactly-once write to `results` (sink group `sink-<results>`). */
function eosJob(
  source: string,
  results: string,
  args: string[],
  pipelineOptions: string[],
  timeoutMs: number,
): Promise<PythonResult> {
  return runKafkaPipeline(
    "write-eos-unbounded",
    {
      expansion: stack.service("process").expansionAddress,
      jobEndpoint: stack.jobServer.jobEndpoint,
      bootstrap: stack.bootstrap,
    },
    [
      "--topic",
      source,
      "--results-topic",
      results,
      "--sink-group",
      `sink-${results}`,
      ...args,
      ...pipelineOptions.map((o) => `--pipeline-option=${o}`),
    ],
    timeoutMs,
  );
}

/**
 * Runs the read → exactly-once write job, SIGKILLs every worker once `killAfter` records are committed, produces
 * more, and checks that read_committed holds every record exactly once.
 */
async function killWorkersMidStream(checkpointingIntervalMs: number, killAfter: number): Promise<void> {
  const source = uniqueTopic("flink-kill-in");
  const results = uniqueTopic("flink-kill-out");
  const meta = uniqueTopic("flink-kill-meta");
  // The input exists (the user's data); the exactly-once sink's metadata topic is created as the README says.
  await createTopic(stack.bootstrap, source, 4);
  await createTopic(stack.bootstrap, meta, 3);
  await produce(source, 0, BEFORE);

  const stopFile = join(tmpdir(), `${results}.stop`);
  const run = eosJob(
    source,
    results,
    ["--shards", "3", "--metadata-topic", meta, "--run-seconds", "300", "--stop-file", stopFile],
    options(checkpointingIntervalMs),
    330_000,
  );
  let ended = false;
  void run.then(() => {
    ended = true;
  });
  const fail = async (what: string): Promise<never> => {
    writeFileSync(stopFile, "");
    const r = await run;
    throw new Error(`${what}\n${r.stderr.slice(-3000)}\n${stack.logs()}`);
  };
  try {
    // Mid-stream: some transactions committed, the read still going.
    const deadline = Date.now() + 150_000;
    while ((await committedOutput(results)).length < killAfter) {
      if (ended || Date.now() > deadline) await fail("no committed output before the kill");
      await sleep(500);
    }
    const killed = workerPids(stack.jobServer.pid);
    assert.ok(killed.length > 0, "the job's workers are running");
    for (const pid of killed) process.kill(pid, "SIGKILL");
    const killedAt = Date.now();
    await produce(source, BEFORE, AFTER);

    const total = BEFORE + AFTER;
    let out: ReadRecord[] = [];
    while ((out = await committedOutput(results)).length < total) {
      if (ended || Date.now() > killedAt + 180_000)
        await fail(`${out.length} of ${total} records after the kill: the job did not recover`);
      await sleep(1000);
    }
    const recoveredMs = Date.now() - killedAt;
    await sleep(3000); // a duplicate committed late would show up here
    out = await committedOutput(results);
    const restarted = workerPids(stack.jobServer.pid).filter((pid) => !killed.includes(pid));
    console.log(
      `  FAULT flink: killed ${killed.length} workers mid-stream; all ${total} records committed ${recoveredMs} ms ` +
        `after the kill; ${out.length - new Set(out.map((r) => r.value!.toString())).size} duplicates; ` +
        `${restarted.length} new workers`,
    );
    assert.ok(restarted.length > 0, "Flink started new workers");
    const values = out.map((r) => r.value!.toString());
    const counts = new Map<string, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    assert.equal([...counts].filter(([, n]) => n > 1).slice(0, 5), [], "nothing committed twice");
    for (let i = 0; i < total; i++) assert.ok(counts.has(`value-${i}`), `value-${i} lost`);
    assert.is(out.length, total);
    for (const r of out) assert.is(r.key!.toString(), `k${r.value!.toString().slice("value-".length)}`);
  } finally {
    writeFileSync(stopFile, "");
    await run;
    rmSync(stopFile, { force: true });
  }
}

s.test(
  "SIGKILL of every worker mid-stream: Flink restores from the checkpoint, read_committed holds every record once",
  () => killWorkersMidStream(1000, 500),
);

// Flink restarts a job killed before its first checkpoint from scratch: the read takes every record again, with
// new processing-time timestamps, so in new batches. Without requires_stable_input on the transactions step, the
// batches committed before the kill were committed again (all 4,000 records twice, every time); with it, Flink
// hands the step no batch before a checkpoint holds it.
s.test("SIGKILL before the first checkpoint completed: nothing was committed that the restarted job reads again", () =>
  killWorkersMidStream(10_000, 1),
);

s.test("exactly-once on Flink without checkpointing: the job fails at start, saying why; nothing written", async () => {
  const source = uniqueTopic("flink-nocp-in");
  const results = uniqueTopic("flink-nocp-out");
  await createTopic(stack.bootstrap, source, 4);
  await produce(source, 0, 100);
  const result = await eosJob(
    source,
    results,
    ["--shards", "2", "--run-seconds", "60"],
    ["--streaming", "--parallelism=2"],
    90_000,
  );
  assert.is.not(result.code, 0, "the job fails");
  assert.match(result.stderr, /No checkpointing configured but pipeline uses @RequiresStableInput/);
  assert.equal(await committedOutput(results), []);
});

s.run();
