// The demo pipeline (read 4 partitions → enrich → write, offsets per partition kept) end to end on the local
// runner, Prism and a Flink job server, side by side in one run, through the same `demo` code users run:
// `demo --runner local|prism|flink --job-endpoint ...`. Rates are the demo's own (records / pipeline run time, from
// submission to DONE), so a portable runner's job start and worker boot count.
//   npx tsc -p . && node dist/bench/portable.js [--records 100000] [--rounds 2]
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "../test/infra/paths.js";
import { startBroker } from "../test/infra/broker.js";
import { startPrism } from "../test/infra/prism.js";
import { startJobServer } from "../test/infra/job-server.js";
import { median, numberFlag } from "./common.js";

const records = numberFlag("records", 100_000);
const rounds = numberFlag("rounds", 2);
const run = promisify(execFile);

process.env.KBT_PRISM ??= (await run("bash", [resolve(repoRoot(), "scripts/prism.sh")])).stdout.trim();
const [broker, prism, flink] = await Promise.all([startBroker(), startPrism(), startJobServer("flink")]);

async function demo(runner: string, endpoint?: string): Promise<{ seconds: number; rate: number }> {
  const { stdout } = await run(
    process.execPath,
    [
      resolve(repoRoot(), "dist/service/cli.js"),
      "demo",
      "--runner",
      runner,
      ...(endpoint ? ["--job-endpoint", endpoint] : []),
      "--bootstrap",
      broker.bootstrap,
      "--records",
      String(records),
      "--partitions",
      "4",
    ],
    { maxBuffer: 16 << 20, timeout: 600_000 },
  );
  const done =
    /pipeline DONE in ([\d.]+) s on the \w+ runner: [\d,]+ records read, enriched and written \(([\d,]+) rec\/s/.exec(
      stdout,
    );
  if (!done || !stdout.includes("demo: OK"))
    throw new Error(`demo --runner ${runner} did not finish OK:\n${stdout.slice(-3000)}`);
  return { seconds: Number(done[1]), rate: Number(done[2]!.replaceAll(",", "")) };
}

try {
  const results = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const [name, runner, endpoint] of [
      ["local runner", "local", undefined],
      ["Prism", "prism", prism.jobEndpoint],
      ["Flink (embedded cluster)", "flink", flink.jobEndpoint],
    ] as const) {
      const { seconds, rate } = await demo(runner, endpoint);
      console.log(`round ${round + 1}: ${name}: ${seconds} s, ${rate.toLocaleString("en")} rec/s`);
      results.set(name, [...(results.get(name) ?? []), rate]);
    }
  }
  const local = median(results.get("local runner")!);
  console.log(`\n${records.toLocaleString("en")} records, 4 partitions, median of ${rounds} rounds\n`);
  console.log("| runner | records/s | vs the local runner |\n|---|---|---|");
  for (const [name, rates] of results) {
    const rate = median(rates);
    console.log(`| ${name} | ${rate.toLocaleString("en")} | ${(rate / local).toFixed(2)}x |`);
  }
} finally {
  await Promise.all([prism.stop(), flink.stop()]);
  await broker.stop();
}
