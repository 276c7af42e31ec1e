// TypeScript pipelines off one machine: the native API submitted through Beam's Job API to Prism and to a Flink job
// server, our worker started by the runner, the pipeline's own Map shipped by module (enrich-pipeline.ts). Results
// are compared with the local runner's; an unbounded read is cancelled and resumed from committed offsets; an
// exactly-once write runs through the runner's GroupByKey and is read back read_committed.
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { suite } from "../harness.js";
import { rejection } from "../assertions.js";
import {
  brokerBootstrap,
  createTopic,
  readTopicByOffset,
  releaseBroker,
  testKafka,
  uniqueTopic,
  withAdmin,
} from "../infra/fixtures.js";
import { startPrism, type Prism } from "../infra/prism.js";
import { startJobServer, type JobServer } from "../infra/job-server.js";
import { Create, Map, Pipeline, PipelineTranslationError } from "../../src/pipeline/index.js";
import { LocalRunner } from "../../src/runners/local/index.js";
import { PortableRunner, type PortableRunnerOptions } from "../../src/runners/portable/index.js";
import { closeAllClients } from "../../src/kafka/index.js";
import { createKafkaClient } from "../../src/kafka/client/index.js";
import { parseConsumerConfig } from "../../src/kafka/config/index.js";
import { build, enrich, type EnrichArgs } from "./portable/enrich-pipeline.js";

const s = suite("portable runner: TypeScript pipelines on Prism and Flink", { timeoutMs: 300_000 });
const MODULE = new URL("./portable/enrich-pipeline.js", import.meta.url).href;
const RECORDS = 100_000;
let bootstrap = "";
let prism: Prism | undefined;
let flink: JobServer | undefined;

s.before(async () => {
  [bootstrap, prism, flink] = await Promise.all([brokerBootstrap(), startPrism(), startJobServer("flink")]);
});
s.after(async () => {
  await Promise.all([prism?.stop(), flink?.stop()]);
  await closeAllClients();
  await releaseBroker();
});

function pipelineOf(args: EnrichArgs): Pipeline {
  const p = Pipeline.create();
  build(p, args);
  return p;
}

function runner(jobEndpoint: string, args: EnrichArgs, extra: Partial<PortableRunnerOptions> = {}): PortableRunner {
  return new PortableRunner({ jobEndpoint, pipelineModule: { url: MODULE, export: "build", args }, ...extra });
}

async function loadInput(topic: string, count: number, from = 0): Promise<void> {
  const producer = testKafka(bootstrap).producer();
  await producer.connect();
  for (let i = from; i < from + count; i += 5_000) {
    const n = Math.min(5_000, from + count - i);
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: n }, (_, j) => ({ key: `k${i + j}`, value: `v${i + j}`, partition: (i + j) % 4 })),
    });
  }
  await producer.disconnect();
}

/** key=value of every record of a topic, sorted (read by offset: nothing skipped, nothing twice). */
async function contents(topic: string): Promise<string[]> {
  return [...(await readTopicByOffset(bootstrap, topic)).values()]
    .flat()
    .map((r) => `${r.key}=${r.value}`)
    .sort();
}

function expected(from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, i) => `k${from + i}=${enrich(`v${from + i}`)}`).sort();
}

let input = "";
let localOutput: string[] = [];

s.test("the enrich pipeline (4 partitions, 100,000 records) on the local runner: the reference", async () => {
  input = uniqueTopic("portable-in");
  await createTopic(bootstrap, input, 4);
  await loadInput(input, RECORDS);
  const output = uniqueTopic("portable-local");
  const handle = pipelineOf({ bootstrap, input, output, maxRecords: RECORDS }).run(new LocalRunner());
  assert.is(await handle.waitUntilFinish(120_000), "DONE");
  localOutput = await contents(output);
  assert.equal(localOutput, expected(0, RECORDS));
});

for (const engine of ["Prism", "Flink"] as const) {
  s.test(
    `the same pipeline on ${engine} through the Job API: output identical to the local runner's, metrics reported`,
    async () => {
      const output = uniqueTopic(`portable-${engine.toLowerCase()}`);
      const args = { bootstrap, input, output, maxRecords: RECORDS };
      const endpoint = engine === "Prism" ? prism!.jobEndpoint : flink!.jobEndpoint;
      const started = Date.now();
      const handle = pipelineOf(args).run(runner(endpoint, args));
      const state = await handle.waitUntilFinish(240_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${(engine === "Prism" ? prism! : flink!).output().slice(-4000)}`);
      });
      assert.is(state, "DONE");
      console.log(
        `  ${engine}: ${RECORDS} records in ${((Date.now() - started) / 1000).toFixed(1)} s (job ${handle.jobId})`,
      );
      assert.equal(await contents(output), localOutput, "identical to the local runner's output");
      const steps = handle.metrics().steps;
      assert.is(steps.Enrich?.elementsIn, RECORDS, "the pipeline's own Map ran on the runner's workers");
      assert.is(steps["WriteToKafka/Write"]?.counters[`records_written/${output}`], RECORDS);
    },
  );
}

s.test(
  "readFromKafka({redistribute}) on Flink: the records cross Flink's GroupByKey, output identical to the local runner's",
  async () => {
    const output = uniqueTopic("portable-flink-redistribute");
    const args = { bootstrap, input, output, maxRecords: RECORDS, redistributeKeys: 16 };
    const handle = pipelineOf(args).run(runner(flink!.jobEndpoint, args));
    const state = await handle.waitUntilFinish(240_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${flink!.output().slice(-4000)}`);
    });
    assert.is(state, "DONE");
    assert.equal(await contents(output), localOutput, "identical to the local runner's output");
    const steps = handle.metrics().steps;
    assert.is(steps["ReadFromKafka/Redistribute/AssignKey"]?.elementsIn, RECORDS, "every record was keyed");
    assert.is(steps["ReadFromKafka/Redistribute/Values"]?.elementsOut, RECORDS, "and came out of the groups");
    assert.is(steps.Enrich?.elementsIn, RECORDS);
  },
);

s.test(
  "an unbounded read on Prism, cancelled, resumes from the offsets committed in finalization: nothing lost",
  async () => {
    const source = uniqueTopic("portable-unbounded");
    const output = uniqueTopic("portable-unbounded-out");
    const group = `g-${source}`;
    await createTopic(bootstrap, source, 4);
    await loadInput(source, 2_000);
    const args = { bootstrap, input: source, output, group };
    const first = pipelineOf(args).run(runner(prism!.jobEndpoint, args));
    await until(
      async () => (await contents(output)).length >= 2_000,
      "the first 2,000 records",
      first.messages.map((m) => m.text).join("\n"),
    );
    // Offsets are committed when Prism finalizes the bundles that read them.
    await until(async () => (await committedTotal(group, source)) === 2_000, "commits of 2,000 offsets");
    assert.is(await first.cancel(), "CANCELLED");

    await loadInput(source, 1_000, 2_000);
    const second = pipelineOf(args).run(runner(prism!.jobEndpoint, args));
    await until(async () => (await contents(output)).length >= 3_000, "the 1,000 records produced while stopped");
    await new Promise((r) => setTimeout(r, 1_000)); // anything read twice would show up here
    assert.is(await second.cancel(), "CANCELLED");
    assert.equal(
      await contents(output),
      expected(0, 3_000),
      "every record once: the restart began at the committed offsets",
    );
  },
);

/** Every committed record of a topic (key=value), read by offset up to the last stable offset. */
async function readCommitted(topic: string, partitions: number): Promise<string[]> {
  const client = createKafkaClient(
    parseConsumerConfig(
      { "bootstrap.servers": bootstrap, "isolation.level": "read_committed" },
      { logger: () => undefined },
    ),
  );
  try {
    const got: string[] = [];
    for (let partition = 0; partition < partitions; partition++) {
      const [end] = await client.listOffsets([{ topic, partition }], "latest");
      for (let next = 0n; next < end!.offset; ) {
        const fetched = await client.fetch(topic, partition, next, { maxWaitMs: 100 });
        for (const r of fetched.records) got.push(`${r.key?.toString()}=${r.value?.toString()}`);
        next = fetched.nextOffset > next ? fetched.nextOffset : next + 1n;
      }
    }
    return got;
  } finally {
    await client.close();
  }
}

for (const engine of ["Prism", "Flink"] as const) {
  s.test(
    `an exactly-once write on ${engine} (shard → the runner's GroupByKey → transactions): read_committed output exact`,
    async () => {
      const output = uniqueTopic(`portable-eos-${engine.toLowerCase()}`);
      await createTopic(bootstrap, output, 4); // the sink keeps each shard's sequence in the output topic's partitions
      // Prism 2.77 refuses pipelines that require stable input; Flink (batch) takes the default.
      const args = {
        bootstrap,
        input,
        output,
        maxRecords: 10_000,
        exactlyOnceShards: 4,
        ...(engine === "Prism" ? { requiresStableInput: false } : {}),
      };
      const server = engine === "Prism" ? prism! : flink!;
      const handle = pipelineOf(args).run(runner(server.jobEndpoint, args));
      const state = await handle.waitUntilFinish(240_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${server.output().slice(-4000)}`);
      });
      assert.is(state, "DONE");
      // The coordinator writes the commit markers just after a commit returns: the records become visible moments later.
      let got = await readCommitted(output, 4);
      for (let tries = 0; got.length < 10_000 && tries < 40; tries++) {
        await new Promise((r) => setTimeout(r, 250));
        got = await readCommitted(output, 4);
      }
      // The first 10,000 records of the 4-partition input: 2,500 from each partition, whichever they are.
      assert.is(got.length, 10_000);
      assert.is(new Set(got).size, 10_000, "nothing twice");
      const enriched = new Set(localOutput);
      assert.equal(
        got.filter((line) => !enriched.has(line)),
        [],
        "every record is an enriched input record",
      );
    },
  );
}

s.test("a DoFn that throws on a worker fails the job; the worker's error reaches waitUntilFinish", async () => {
  const output = uniqueTopic("portable-fail");
  const args = { bootstrap, input, output, maxRecords: 1_000, failOn: "v7" };
  const handle = pipelineOf(args).run(runner(prism!.jobEndpoint, args));
  const err = (await rejection(handle.waitUntilFinish(120_000))) as Error;
  assert.is(err.name, "PortableRunnerError");
  assert.match(
    err.message,
    /the job failed: [\s\S]*enrich refuses v7/,
    `${err.message}\n${JSON.stringify(handle.messages)}`,
  );
  assert.is(handle.state, "FAILED");
});

s.test("a pipeline whose own DoFn cannot be shipped fails at submission, naming it; no job is started", async () => {
  const p = Pipeline.create();
  p.apply(Create.of(["a", "b"])).apply(
    "Inline",
    Map((v: string) => v.length),
  );
  const handle = p.run(new PortableRunner({ jobEndpoint: prism!.jobEndpoint }));
  const err = (await rejection(handle.waitUntilFinish(30_000))) as Error;
  assert.instance(err, PipelineTranslationError);
  assert.match(
    err.message,
    /own DoFns \(Create\/Values, Inline\) must be rebuilt on the workers: give the runner pipelineModule/,
  );
  assert.is(handle.jobId, undefined);
});

s.test(
  "the demo with --runner prism: the README's main job submitted through the Job API, every record written",
  async () => {
    const cli = new URL("../../service/cli.js", import.meta.url).pathname;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        cli,
        "demo",
        "--runner",
        "prism",
        "--job-endpoint",
        prism!.jobEndpoint,
        "--bootstrap",
        bootstrap,
        "--records",
        "20000",
        "--partitions",
        "4",
      ],
      { timeout: 180_000 },
    );
    assert.match(stdout, /demo: submitted to prism at /);
    assert.match(
      stdout,
      /demo: pipeline DONE in [\d.]+ s on the prism runner: 20,000 records read, enriched and written/,
    );
    assert.match(stdout, /demo: OK: every partition of the output holds as many records as its input partition/);
    // Prism finalizes bundles: the group committed every offset of the input.
    for (let p = 0; p < 4; p++) assert.match(stdout, new RegExp(`\\n  ${p} +\\[0, 5000\\) +- +\\[0, 5000\\) +5000\\n`));
  },
);

async function committedTotal(group: string, topic: string): Promise<number> {
  const offsets = await withAdmin(bootstrap, (admin) => admin.fetchOffsets({ groupId: group, topics: [topic] }));
  return offsets[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

async function until(check: () => Promise<boolean>, what: string, context = ""): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}\n${context}\n${prism?.output().slice(-4000) ?? ""}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

s.run();
