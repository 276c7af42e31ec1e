import { useXlangToolchain } from "../test/infra/toolchain.js";
import { startBroker } from "../test/infra/broker.js";
import { startPrism } from "../test/infra/prism.js";
import { startServe } from "../test/infra/service.js";
import { createTopic, uniqueTopic } from "../test/infra/fixtures.js";
import { runPython, lastJsonLine } from "../test/infra/python.js";
import { numberFlag } from "./common.js";

const records = numberFlag("records", 100_000);
const small = numberFlag("small", 1_000);

await useXlangToolchain();
const broker = await startBroker();
const prism = await startPrism();
const service = await startServe();

async function timed(mode: string, topic: string, count: number): Promise<number> {
  const t0 = performance.now();
  const result = await runPython(
    "kafka_pipelines.py",
    [
      mode,
      "--expansion",
      service.expansionAddress,
      "--job-endpoint",
      prism.jobEndpoint,
      "--bootstrap",
      broker.bootstrap,
      "--topic",
      topic,
      "--count",
      String(count),
    ],
    600_000,
  );
  const out = lastJsonLine<{ written?: number; records?: unknown[] }>(result);
  const got = out.written ?? out.records?.length;
  if (got !== count) throw new Error(`${mode}: expected ${count} records, got ${got}`);
  return (performance.now() - t0) / 1000;
}

try {
  const rows: string[] = [];
  for (const n of [small, records]) {
    const topic = uniqueTopic("bench-xlang");
    await createTopic(broker.bootstrap, topic, 4);
    const write = await timed("write", topic, n);
    const read = await timed("read", topic, n);
    rows.push(
      `| ${n.toLocaleString("en")} | ${write.toFixed(1)} s | ${(n / write).toFixed(0)} rec/s | ${read.toFixed(1)} s | ${(n / read).toFixed(0)} rec/s |`,
    );
  }
  console.log("| records | write pipeline | write rate | read pipeline | read rate |\n|---|---|---|---|---|");
  for (const row of rows) console.log(row);
} finally {
  await Promise.all([prism.stop(), service.stop()]);
  await broker.stop();
}
