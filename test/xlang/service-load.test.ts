// One `serve` under two loads at once: 50 concurrent Expand callers (Python's ReadFromKafka and WriteToKafka, and
// managed.Read, each on a connection of its own, closed loop) for KBT_LOAD_SECONDS (default 60), while a streaming
// pipeline runs in the same process's worker pool: the TypeScript enrich pipeline (Kafka → Map → Kafka, unbounded)
// through the portable runner on Prism, environment EXTERNAL = serve's worker pool, fed records throughout the load.
// No caller may see an error or a wrong graph, serve must count exactly the calls made, and the pipeline's output
// must be every input record once, enriched. Figures are printed with a `LOAD:` prefix for RELIABILITY.md.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import {
  brokerBootstrap,
  createTopic,
  readTopicByOffset,
  releaseBroker,
  testKafka,
  uniqueTopic,
} from "../infra/fixtures.js";
import { startPrism, type Prism } from "../infra/prism.js";
import { rawExpansionClient, statusName } from "../infra/expansion-client.js";
import { percentile, runExpandLoad, type LoadRequest } from "../infra/expansion-load.js";
import {
  discoveredSchemas,
  encodePayload,
  encodeRequest,
  expansionSeeds,
  leafUrns,
  URNS,
  type RequestSeed,
} from "../infra/expansion-requests.js";
import { processMemory } from "../infra/process-memory.js";
import { startServeProcess, type ServeProcess } from "../integration/service-fixtures.js";
import { expansionApi } from "../../src/model/proto/index.js";
import { Pipeline } from "../../src/pipeline/index.js";
import { PortableRunner } from "../../src/runners/portable/index.js";
import { closeAllClients } from "../../src/kafka/index.js";
import { build, enrich, type EnrichArgs } from "./portable/enrich-pipeline.js";

const LOAD_SECONDS = Number(process.env.KBT_LOAD_SECONDS ?? 60);
const CALLERS = 50;
/** A call answered later than this is an error (p99 is a few hundred ms on 2 shared cores). */
const DEADLINE_MS = 30_000;
/** The feeder's pace: records produced per tick while the load runs (a tick every 250 ms). */
const RECORDS_PER_TICK = 50;
const PARTITIONS = 4;
const MODULE = new URL("./portable/enrich-pipeline.js", import.meta.url).href;

const s = suite("service: 50 Expand callers while a pipeline runs in the worker pool", {
  timeoutMs: (LOAD_SECONDS + 120) * 1000,
});
let bootstrap = "";
let prism: Prism | undefined;
let serve: ServeProcess | undefined;

s.before(async () => {
  bootstrap = await brokerBootstrap();
  [prism, serve] = await Promise.all([startPrism(), startServeProcess(["--environment", "external"])]);
});
s.after(async () => {
  await Promise.all([prism?.stop(), serve?.stop()]);
  await closeAllClients();
  await releaseBroker();
});

/** key=value of every record of a topic, sorted (read by offset: nothing skipped, nothing twice). */
async function contents(topic: string): Promise<string[]> {
  return [...(await readTopicByOffset(bootstrap, topic)).values()]
    .flat()
    .map((r) => `${r.key}=${r.value}`)
    .sort();
}

function expected(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `k${i}=${enrich(`v${i}`)}`).sort();
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}\n--- prism ---\n${prism?.output().slice(-4000)}\n--- serve ---\n${serve?.output().slice(-4000)}`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Produces records k<from>..k<to-1> (round-robin over the partitions). */
async function produce(
  producer: ReturnType<ReturnType<typeof testKafka>["producer"]>,
  input: string,
  from: number,
  to: number,
) {
  await producer.send({
    topic: input,
    acks: -1,
    messages: Array.from({ length: to - from }, (_, j) => ({
      key: `k${from + j}`,
      value: `v${from + j}`,
      partition: (from + j) % PARTITIONS,
    })),
  });
}

/** The callers' requests: each seed under a namespace of its own per call, the response checked for its graph. */
function loadRequests(seeds: readonly RequestSeed[]): (caller: number, i: number) => LoadRequest {
  const payloads = seeds.map((seed) => encodePayload(seed.wrapper, seed.rowSchema, seed.row));
  return (caller, i) => {
    const which = (caller + i) % seeds.length;
    const seed = seeds[which]!;
    return {
      bytes: encodeRequest(seed.request(payloads[which]!, `external_${caller}_${i}_`)),
      check: (bytes) => {
        const leaves = leafUrns(expansionApi.ExpansionResponse.decode(bytes));
        return leaves.join() === seed.expectedLeaves.join() ? undefined : `${seed.name}: got ${leaves.join(", ")}`;
      },
    };
  };
}

/** Expand calls serve counted as ok, over every URN. */
function okExpansions(metrics: string): number {
  return metrics
    .split("\n")
    .filter((line) => line.startsWith("kbt_expansions_total{") && line.includes('outcome="ok"'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

s.test(
  `${CALLERS} callers for ${LOAD_SECONDS} s: no error, exact call count; the pipeline's output exact`,
  async () => {
    const discovery = rawExpansionClient(serve!.expansion);
    const discovered = await discovery.call("DiscoverSchemaTransform", new Uint8Array(), DEADLINE_MS);
    discovery.close();
    assert.ok(discovered.ok, discovered.ok ? "" : `${statusName(discovered.code)} ${discovered.details}`);
    const all = expansionSeeds(
      bootstrap,
      discoveredSchemas(expansionApi.DiscoverSchemaTransformResponse.decode((discovered as { bytes: Buffer }).bytes)),
    );
    const seeds = [URNS.READ, URNS.WRITE, URNS.SCHEMA_TRANSFORM].map((urn) => all.find((x) => x.urn === urn)!);
    // managed.Read (the SchemaTransform seed listed first for that URN is Beam YAML's kafka_read; use managed's)
    seeds[2] = all.find((x) => x.wrapper.kind === "schematransform" && x.wrapper.identifier === URNS.MANAGED)!;

    const input = uniqueTopic("load-in");
    const output = uniqueTopic("load-out");
    await createTopic(bootstrap, input, PARTITIONS);
    const producer = testKafka(bootstrap).producer();
    await producer.connect();
    let produced = 0;
    const args: EnrichArgs = { bootstrap, input, output };
    const pool = serve!.workerPool.replace(/^0\.0\.0\.0:/, "127.0.0.1:");
    const pipeline = Pipeline.create();
    build(pipeline, args);
    const handle = pipeline.run(
      new PortableRunner({
        jobEndpoint: prism!.jobEndpoint,
        pipelineModule: { url: MODULE, export: "build", args },
        environment: { kind: "external", address: pool },
      }),
    );
    let finalState = "";
    try {
      // The pipeline is up (in serve's pool) once the first records come through.
      await produce(producer, input, 0, 200);
      produced = 200;
      await until(
        async () => (await contents(output)).length >= 200,
        "the first 200 records through the pipeline",
        90_000,
      );
      assert.ok(
        serve!.logLines().some((l) => l.msg === "worker started"),
        "the runner started its workers in serve's worker pool",
      );

      // The load, with the feeder producing throughout.
      let feeding = true;
      const feeder = (async () => {
        while (feeding) {
          await produce(producer, input, produced, produced + RECORDS_PER_TICK);
          produced += RECORDS_PER_TICK;
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
      const rssBefore = processMemory(serve!.managed.child.pid!);
      const callsBefore = okExpansions((await serve!.get("/metrics")).body);
      const result = await runExpandLoad({
        address: serve!.expansion,
        callers: CALLERS,
        seconds: LOAD_SECONDS,
        deadlineMs: DEADLINE_MS,
        request: loadRequests(seeds),
      });
      feeding = false;
      await feeder;
      const duringLoad = (await contents(output)).length;
      const rssAfter = processMemory(serve!.managed.child.pid!);

      console.log(
        `LOAD: ${CALLERS} callers for ${result.seconds.toFixed(1)} s: ${result.calls} Expand calls ` +
          `(${(result.calls / result.seconds).toFixed(0)}/s), ${result.errors} errors; latency ms ` +
          `p50 ${percentile(result.latencies, 50).toFixed(1)}, p99 ${percentile(result.latencies, 99).toFixed(1)}, ` +
          `max ${percentile(result.latencies, 100).toFixed(1)}`,
      );
      console.log(
        `LOAD: pipeline (Prism, serve's worker pool): ${produced} records produced, ${duringLoad} through by the end of ` +
          `the load; serve RSS MiB ${rssBefore.rssMiB.toFixed(1)} → ${rssAfter.rssMiB.toFixed(1)} (peak ${rssAfter.peakRssMiB.toFixed(1)})`,
      );
      assert.equal(result.firstErrors, [], `${result.errors} of ${result.calls} calls failed`);
      assert.is(result.errors, 0);
      assert.ok(result.calls >= CALLERS, "every caller made calls");
      assert.is(
        okExpansions((await serve!.get("/metrics")).body) - callsBefore,
        result.calls,
        "serve counted every call as ok",
      );
      assert.ok(duringLoad > 200, "the pipeline made progress while the load ran");

      await until(async () => (await contents(output)).length >= produced, `all ${produced} records`, 120_000);
      await new Promise((r) => setTimeout(r, 1_000)); // anything written twice would show up here
      assert.equal(await contents(output), expected(produced), "every input record once, enriched");
    } finally {
      await producer.disconnect();
      finalState = await handle.cancel();
    }
    assert.is(finalState, "CANCELLED");
  },
);

s.run();
