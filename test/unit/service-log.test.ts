// The service's log lines: batched to one stdout write per event-loop turn, yet complete and in order, also when
// the process exits in the same turn that logged them.
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { suite } from "../harness.js";
import { repoRoot } from "../infra/paths.js";

const s = suite("service: logs");

function run(script: string): string[] {
  const log = pathToFileURL(resolve(repoRoot(), "dist/service/log.js")).href;
  const program = `import { batchedStdout, jsonLogger } from ${JSON.stringify(log)};\nconst logger = jsonLogger("info", batchedStdout());\n${script}`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", program], { encoding: "utf8" });
  return out
    .trim()
    .split("\n")
    .map((line) => (JSON.parse(line) as { msg: string }).msg);
}

s.test("lines logged right before process.exit are written, in order", () => {
  assert.equal(
    run(`for (let i = 0; i < 3; i++) logger.info("line " + i);\nlogger.debug("hidden");\nprocess.exit(0);`),
    ["line 0", "line 1", "line 2"],
  );
});

s.test("lines from several turns keep their order", () => {
  assert.equal(
    run(
      `logger.info("a");\nsetTimeout(() => { logger.info("c"); logger.warn("d"); }, 5);\nsetImmediate(() => logger.info("b"));`,
    ),
    ["a", "b", "c", "d"],
  );
});
s.run();
