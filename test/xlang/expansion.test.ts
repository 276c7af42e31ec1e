// The real Python SDK (pinned apache-beam) against our expansion service: pipelines construct, bad configs
// surface our message.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { runPython, lastJsonLine } from "../infra/python.js";
import { startServe, type RunningCli } from "../infra/service.js";

const s = suite("xlang expansion (Python SDK → our service)", { timeoutMs: 120_000 });
let service: RunningCli;
s.before(async () => {
  service = await startServe();
});
s.after(async () => {
  await service?.stop();
});

s.test("ReadFromKafka (with and without metadata) and WriteToKafka expand into our environment", async () => {
  const result = await runPython(
    "kafka_pipelines.py",
    ["expand-only", "--expansion", service.expansionAddress, "--bootstrap", "127.0.0.1:9", "--topic", "t"],
    90_000,
  );
  const out = lastJsonLine<{ transforms: string[]; environments: string[]; requirements: string[] }>(result);
  // Two reads of Impulse + 2 ParDos each, one write ParDo; Python's own Create adds the rest.
  assert.is(out.transforms.filter((u) => u === "beam:transform:impulse:v1").length, 3);
  assert.ok(out.environments.includes("beam:env:process:v1"), `environments: ${out.environments}`);
  assert.ok(out.requirements.includes("beam:requirement:pardo:splittable_dofn:v1"));
});

s.test("an unknown deserializer reaches the Python user as INVALID_ARGUMENT naming key_deserializer", async () => {
  const result = await runPython(
    "kafka_pipelines.py",
    ["bad-config", "--expansion", service.expansionAddress, "--bootstrap", "127.0.0.1:9", "--topic", "t"],
    90_000,
  );
  const out = lastJsonLine<{ error: string | null }>(result);
  assert.ok(out.error, "the pipeline must not construct");
  assert.match(out.error!, /INVALID_ARGUMENT/);
  assert.match(out.error!, /key_deserializer: unsupported deserializer "com\.example\.NoSuchDeserializer"/);
});

s.run();
