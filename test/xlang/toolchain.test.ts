import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { suite } from "../harness.js";

const run = promisify(execFile);
const s = suite("xlang toolchain", { timeoutMs: 60_000 });

s.test("the venv imports the pinned apache_beam", async () => {
  const python = process.env.KBT_PYTHON;
  assert.ok(python, "KBT_PYTHON is set by test/runner.ts from scripts/setup-xlang.sh");
  const { stdout } = await run(python, ["-c", "import apache_beam; print(apache_beam.__version__)"]);
  assert.is(stdout.trim(), process.env.KBT_BEAM_VERSION ?? "2.77.0");
});

s.test("prism starts and documents its flags", async () => {
  const prism = process.env.KBT_PRISM;
  assert.ok(prism, "KBT_PRISM is set by test/runner.ts from scripts/setup-xlang.sh");
  // prism --help exits 0 on some versions and 2 on others: judge by the flags it prints.
  const out = await run(prism, ["--help"]).then(
    (r) => r.stdout + r.stderr,
    (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ""}${e.stderr ?? ""}`,
  );
  assert.match(out, /job_port/);
});

s.run();
