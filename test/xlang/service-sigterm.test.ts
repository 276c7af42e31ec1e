// `serve` as the sidecar under a real runner: Beam Python's ReadFromKafka/WriteToKafka (the examples/python script,
// unbounded, committing offsets to a group) on Prism, our transforms in the worker pool (external environment).
// SIGTERM in the middle of the run: the service exits 0 in bounded time, every offset the group committed was
// written, and a second run from the committed offsets completes the output: nothing is lost.
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { suite } from "../harness.js";
import {
  brokerBootstrap,
  createTopic,
  readTopicByOffset,
  releaseBroker,
  testKafka,
  uniqueTopic,
  withAdmin,
} from "../infra/fixtures.js";
import { repoRoot } from "../infra/paths.js";
import { startPrism, type Prism } from "../infra/prism.js";
import { metricValue, startServeProcess, type ServeProcess } from "../integration/service-fixtures.js";

const s = suite("service: SIGTERM with a pipeline running (Prism, worker pool)", { timeoutMs: 300_000 });
const example = resolve(repoRoot(), "examples/python/kafka_roundtrip.py");
const PARTITIONS = 4;
const INITIAL_RECORDS = 4000;
let bootstrap = "";
let prism: Prism;
const started: ServeProcess[] = [];
const pythons: ChildProcess[] = [];
let stopFeeding: () => Promise<void> = async () => undefined;

s.before(async () => {
  bootstrap = await brokerBootstrap();
  prism = await startPrism();
});
s.after(async () => {
  await stopFeeding();
  for (const p of pythons)
    if (p.exitCode === null) {
      try {
        process.kill(-p.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  await Promise.all([prism?.stop(), ...started.map((x) => x.stop())]);
  await releaseBroker();
});

interface PythonRun {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

function runExample(
  serviceAddress: string,
  input: string,
  output: string,
  groupId: string,
  maxRecords?: number,
): PythonRun {
  const python = process.env.KBT_PYTHON;
  if (!python) throw new Error("KBT_PYTHON is not set: run through test/runner.ts (xlang)");
  const args = [
    example,
    "--expansion-service",
    serviceAddress,
    "--bootstrap",
    bootstrap,
    "--input",
    input,
    "--output",
    output,
    "--group-id",
    groupId,
    ...(maxRecords !== undefined ? ["--max-records", String(maxRecords)] : []),
    "--runner=PortableRunner",
    `--job_endpoint=${prism.jobEndpoint}`,
    "--environment_type=LOOPBACK",
  ];
  const child = spawn(python, args, {
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  pythons.push(child);
  let text = "";
  child.stdout!.on("data", (c: Buffer) => {
    text += c.toString();
    if (text.length > 200_000) text = text.slice(-100_000);
  });
  child.stderr!.on("data", (c: Buffer) => {
    text += c.toString();
    if (text.length > 200_000) text = text.slice(-100_000);
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, exited, output: () => text };
}

async function highWatermarks(topic: string): Promise<Map<number, bigint>> {
  return withAdmin(
    bootstrap,
    async (admin) => new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)])),
  );
}

async function committed(groupId: string, topic: string): Promise<Map<number, bigint>> {
  return withAdmin(bootstrap, async (admin) => {
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((result?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  });
}

/** The topic's values by partition, in offset order (up to its current end offsets; read by offset, exactly). */
async function valuesByPartition(topic: string): Promise<Map<number, string[]>> {
  const byPartition = await readTopicByOffset(bootstrap, topic);
  return new Map([...byPartition].map(([p, records]) => [p, records.map((r) => r.value ?? "")]));
}

/** Every value in the topic (up to its current end offsets). */
async function valuesIn(topic: string): Promise<string[]> {
  return [...(await valuesByPartition(topic)).values()].flat();
}

async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  context: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

s.test(
  "SIGTERM mid-run: exit 0 in bounded time, committed offsets were all written, a restart completes the output",
  async () => {
    const input = uniqueTopic("sigterm-in");
    const output = uniqueTopic("sigterm-out");
    const groupId = uniqueTopic("sigterm-group");
    await createTopic(bootstrap, input, PARTITIONS);
    await createTopic(bootstrap, output, PARTITIONS);
    // Records keep arriving while run 1 reads (an unbounded read always has a bundle to finish or checkpoint).
    const producer = testKafka(bootstrap).producer();
    await producer.connect();
    const sent: { partition: number; value: string }[] = [];
    let producing = true;
    const produce = async (count: number) => {
      const batch = Array.from({ length: count }, (_, j) => {
        const i = sent.length + j;
        return { partition: i % PARTITIONS, value: `value-${i % PARTITIONS}-${Math.floor(i / PARTITIONS)}` };
      });
      sent.push(...batch);
      await producer.send({
        topic: input,
        acks: -1,
        messages: batch.map((m) => ({ key: `k${m.partition}`, value: m.value, partition: m.partition })),
      });
    };
    await produce(INITIAL_RECORDS);
    const feeding = (async () => {
      while (producing) {
        await produce(200);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    stopFeeding = async () => {
      producing = false;
      await feeding.catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
    };

    // Run 1: unbounded, until part of the output is there; then SIGTERM the service.
    const first = await startServeProcess(["--environment", "external", "--shutdown-timeout-ms", "5000"]);
    started.push(first);
    assert.is(first.serving.externalAddress, first.workerPool);
    const run1 = runExample(first.expansion, input, output, groupId);
    const context = () =>
      `--- python ---\n${run1.output().slice(-4000)}\n--- service ---\n${first.output().slice(-4000)}\n--- prism ---\n${prism.output().slice(-3000)}`;
    await until(
      "some output",
      async () => [...(await highWatermarks(output)).values()].reduce((a, b) => a + b, 0n) >= 2000n,
      180_000,
      context,
    );
    const metrics = (await first.get("/metrics")).body;
    assert.ok((metricValue(metrics, "kbt_workers_active") ?? 0) >= 1, "the runner started workers in our pool");
    assert.ok((metricValue(metrics, "kbt_bundles_total", { outcome: "ok" }) ?? 0) >= 1, "bundles counted");
    assert.ok((metricValue(metrics, "kbt_worker_starts_total", { outcome: "ok" }) ?? 0) >= 1);
    // The reads run in this process (worker pool), so their per-partition state shows in its /metrics.
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const labels = { topic: input, partition: String(partition) };
      assert.ok(
        (metricValue(metrics, "kbt_kafka_partition_records_read_total", labels) ?? 0) > 0,
        `records read from p${partition}`,
      );
      assert.ok((metricValue(metrics, "kbt_kafka_backlog_records", labels) ?? -1) >= 0, `backlog of p${partition}`);
    }

    const t0 = Date.now();
    first.signal("SIGTERM");
    const code = await first.exited;
    const took = Date.now() - t0;
    assert.is(code, 0, context());
    assert.ok(took < 5_000 + 1_000, `exited after ${took} ms (timeout 5000)`);
    assert.match(first.output(), /"msg":"shutting down","reason":"SIGTERM"/);
    assert.match(first.output(), /"msg":"stopped"/);
    try {
      process.kill(-run1.child.pid!, "SIGKILL");
    } catch {
      /* already gone */
    }
    await run1.exited;
    // Records produced after the service is gone: run 1 cannot have read them, run 2 must.
    await new Promise((r) => setTimeout(r, 500));
    producing = false;
    await stopFeeding();
    const RECORDS = sent.length;

    // Nothing the group committed is missing from the output.
    const commits = await committed(groupId, input);
    const written = new Set(await valuesIn(output));
    // The input as the broker holds it, by partition in offset order: what "committed" refers to.
    const inputByPartition = await valuesByPartition(input);
    const notAsSent = [...inputByPartition].filter(
      ([p, values]) =>
        values.join() !==
        sent
          .filter((m) => m.partition === p)
          .map((m) => m.value)
          .join(),
    );
    assert.equal(
      notAsSent.map(([p]) => p),
      [],
      `the input holds what the test sent, in order: ${notAsSent
        .map(
          ([p, v]) =>
            `p${p}: ${v.length} records, first difference at offset ${v.findIndex((value, i) => value !== sent.filter((m) => m.partition === p)[i]?.value)}`,
        )
        .join("; ")}`,
    );
    let committedRecords = 0;
    const lost: string[] = [];
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const upTo = commits.get(partition) ?? -1n;
      const expected = (inputByPartition.get(partition) ?? []).slice(0, upTo < 0n ? 0 : Number(upTo));
      committedRecords += expected.length;
      lost.push(
        ...expected
          .filter((value) => !written.has(value.toUpperCase()))
          .map((value) => `${value} (p${partition} < ${upTo})`),
      );
    }
    assert.is(
      lost.length,
      0,
      `committed but not written: ${lost.length}, first ${lost.slice(0, 3).join(", ")}\n${context()}`,
    );

    // Run 2: a new service; the read resumes at the committed offsets and reads exactly the rest.
    const second = await startServeProcess(["--environment", "external"]);
    started.push(second);
    const remaining = RECORDS - committedRecords;
    assert.ok(remaining >= 0);
    if (remaining > 0) {
      const run2 = runExample(second.expansion, input, output, groupId, remaining);
      const exit2 = await run2.exited;
      assert.is(
        exit2,
        0,
        `--- python ---\n${run2.output().slice(-4000)}\n--- service ---\n${second.output().slice(-3000)}`,
      );
    }
    const all = new Set(await valuesIn(output));
    const missing = sent.filter((m) => !all.has(m.value.toUpperCase()));
    assert.is(
      missing.length,
      0,
      `missing after the restart: ${missing
        .slice(0, 5)
        .map((m) => m.value)
        .join(", ")}`,
    );
    assert.ok(committedRecords < RECORDS, `SIGTERM came mid-run (${committedRecords} of ${RECORDS} committed)`);
    console.log(
      `  run 1 committed ${committedRecords}/${RECORDS} records before SIGTERM (service exited ${took} ms after SIGTERM); run 2 read the other ${remaining}`,
    );
    second.signal("SIGTERM");
    assert.is(await second.exited, 0);
  },
);

s.run();
