// The Python package (python/, `pip install ./python`) as a Python user meets it: its ReadFromKafka/WriteToKafka are
// Beam's own with our service as the default expansion service, started on demand. No `serve` is started by the
// test: a write and a read-back on Prism, then no service is left behind.
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { suite } from "../harness.js";
import { brokerBootstrap, readTopicByOffset, releaseBroker, uniqueTopic } from "../infra/fixtures.js";
import { repoRoot } from "../infra/paths.js";
import { startPrism, type Prism } from "../infra/prism.js";

const s = suite("xlang: the Python package starts our service on demand", { timeoutMs: 300_000 });
const run = promisify(execFile);
let bootstrap = "";
let prism: Prism | undefined;
let site = "";

s.before(async () => {
  bootstrap = await brokerBootstrap();
  prism = await startPrism();
  const python = process.env.KBT_PYTHON;
  if (!python) throw new Error("KBT_PYTHON is not set: run through test/runner.ts (xlang)");
  // Installed as users install it (pip builds it from pyproject.toml), into a directory of its own: the shared Beam
  // venv stays as it is.
  // pip builds in the source tree (build/, *.egg-info): from a copy, so the checkout stays clean.
  site = mkdtempSync(join(tmpdir(), "kbt-pysite-"));
  const source = join(site, "src");
  cpSync(resolve(repoRoot(), "python"), source, { recursive: true });
  await run(
    python,
    [
      "-m",
      "pip",
      "install",
      "--quiet",
      "--disable-pip-version-check",
      "--no-deps",
      "--target",
      join(site, "lib"),
      source,
    ],
    { maxBuffer: 16 << 20 },
  );
});

s.after(async () => {
  await prism?.stop();
  if (site) rmSync(site, { recursive: true, force: true });
  await releaseBroker();
});

/** Processes whose command line holds `needle` (ps), for checking what a script left behind. */
async function processesWith(needle: string): Promise<string[]> {
  const { stdout } = await run("ps", ["-eo", "pid=,args="], { maxBuffer: 16 << 20 });
  return stdout.split("\n").filter((l) => l.includes(needle));
}

s.test(
  "kafka_beam_ts.WriteToKafka then ReadFromKafka on Prism, no expansion service given: exact, and the service is gone after",
  async () => {
    const topic = uniqueTopic("py-entry");
    const count = 1000;
    const { stdout, stderr } = await run(
      process.env.KBT_PYTHON!,
      [
        resolve(repoRoot(), "test/xlang/python/entry_pipelines.py"),
        "--job-endpoint",
        prism!.jobEndpoint,
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        "--count",
        String(count),
      ],
      {
        env: {
          ...process.env,
          PYTHONPATH: join(site, "lib"),
          PYTHONUNBUFFERED: "1",
          KAFKA_BEAM_TS_CLI: resolve(repoRoot(), "bin/kafka-beam-ts"),
        },
        timeout: 240_000,
        maxBuffer: 64 << 20,
      },
    ).catch((err: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`${err.message}\n${err.stdout ?? ""}\n${(err.stderr ?? "").slice(-6000)}`);
    });
    const result = JSON.parse(stdout.trim().split("\n").pop()!) as { pid: number; records: number };
    assert.is(result.records, count);
    assert.match(
      stderr,
      /Really starting service at localhost:\d+ with cmd: .*bin\/kafka-beam-ts', 'serve'/,
      "Beam's subprocess server started our CLI",
    );
    const written = [...(await readTopicByOffset(bootstrap, topic)).values()].flat();
    assert.equal(
      written.map((r) => `${r.key}=${r.value}`).sort(),
      Array.from({ length: count }, (_, i) => `k${i}=v${i}`).sort(),
    );
    // The service was stopped with the pipelines (and would stop within a second of its parent anyway).
    const deadline = Date.now() + 5_000;
    let left = await processesWith(`--parent-pid ${result.pid}`);
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      left = await processesWith(`--parent-pid ${result.pid}`);
    }
    assert.equal(left, [], "no kafka-beam-ts service outlives the script");
  },
);

s.run();
