// `kafka-beam-ts demo --bootstrap ...` against the run's broker: the native pipeline (readFromKafka → enrich →
// writeToKafka on the local runner) copies every record partition for partition and commits the read offsets; a
// SIGTERM mid-run cancels it cleanly (exit 143) with nothing committed that was not written.
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { suite } from "../harness.js";
import { brokerBootstrap, releaseBroker } from "../infra/fixtures.js";
import { cliPath, kbtFreeEnv, runCli } from "./service-fixtures.js";

const s = suite("service: demo", { timeoutMs: 180_000 });
let bootstrap = "";
s.before(async () => {
  bootstrap = await brokerBootstrap();
});
s.after(releaseBroker);

interface Row {
  partition: number;
  inLow: number;
  inHigh: number;
  lastRead: number | undefined;
  outLow: number;
  outHigh: number;
  committed: number | undefined;
}

/** The summary table's rows. */
function summaryRows(stdout: string): Row[] {
  const rows: Row[] = [];
  for (const match of stdout.matchAll(
    /^ {2}(\d+)\s+\[(\d+), (\d+)\)\s+(\d+|-)\s+\[(\d+), (\d+)\)\s+(\d+|none yet)$/gm,
  )) {
    rows.push({
      partition: Number(match[1]),
      inLow: Number(match[2]),
      inHigh: Number(match[3]),
      lastRead: match[4] === "-" ? undefined : Number(match[4]),
      outLow: Number(match[5]),
      outHigh: Number(match[6]),
      committed: match[7] === "none yet" ? undefined : Number(match[7]),
    });
  }
  return rows;
}

s.test(
  "demo: every record read, enriched and written partition for partition; offsets committed; watermark at the end",
  async () => {
    const result = await runCli(
      ["demo", "--bootstrap", bootstrap, "--records", "3000", "--partitions", "3"],
      kbtFreeEnv(),
      120_000,
    );
    assert.is(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^demo: wrote 3,000 sample events in [\d.]+ s$/m);
    assert.match(
      result.stdout,
      /^demo: pipeline DONE in [\d.]+ s on the local runner: 3,000 records read, enriched and written \([\d,]+ rec\/s end to end\)$/m,
    );
    assert.equal(
      summaryRows(result.stdout),
      [0, 1, 2].map((partition) => ({
        partition,
        inLow: 0,
        inHigh: 1000,
        lastRead: 999,
        outLow: 0,
        outHigh: 1000,
        committed: 1000,
      })),
    );
    assert.match(result.stdout, /watermark of the read: \+∞/);
    assert.match(
      result.stdout,
      /first enriched record: user-0 → \{"seq":0,"user":"user-0","action":"view","cents":0,"source":"demo-events-[a-z0-9]+\/0@0","euros":"0\.00","big":false\}/,
    );
    assert.match(
      result.stdout,
      /^demo: OK: every partition of the output holds as many records as its input partition$/m,
    );
  },
);

s.test("demo: SIGTERM mid-run cancels the pipeline; exit 143; every committed offset was written", async () => {
  const child = spawn(
    process.execPath,
    [cliPath, "demo", "--bootstrap", bootstrap, "--records", "300000", "--partitions", "2"],
    { env: kbtFreeEnv(), stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  try {
    const deadline = Date.now() + 90_000;
    while (
      !/^demo: … [\d,]+\/300,000 read/m.test(stdout) ||
      /^demo: … 0\/300,000/m.test(
        stdout
          .split("\n")
          .filter((l) => l.startsWith("demo: …"))
          .at(-1) ?? "",
      )
    ) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no progress:\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const t0 = Date.now();
    child.kill("SIGTERM");
    const code = await exited;
    assert.is(code, 143, stdout + stderr);
    assert.ok(Date.now() - t0 < 30_000, `exited ${Date.now() - t0} ms after SIGTERM`);
    assert.match(stdout, /^demo: SIGTERM: cancelling the pipeline/m);
    assert.match(stdout, /^demo: pipeline CANCELLED in/m);
    assert.match(stdout, /^demo: interrupted by SIGTERM: the pipeline was CANCELLED/m);
    const rows = summaryRows(stdout);
    assert.is(rows.length, 2, stdout);
    let committedTotal = 0;
    for (const row of rows) {
      assert.is(row.inHigh, 150_000);
      const committed = row.committed ?? 0;
      // Output partition p holds exactly the records read from input partition p, in order: a committed offset
      // beyond the output's end would be a record lost.
      assert.ok(committed <= row.outHigh, `p${row.partition}: committed ${committed} <= written ${row.outHigh}`);
      committedTotal += committed;
    }
    assert.ok(committedTotal < 300_000, `cancelled mid-run (${committedTotal} committed)`);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});

s.run();
