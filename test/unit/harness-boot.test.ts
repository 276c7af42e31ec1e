// How runners start our worker: Prism's quoted --id, classic endpoint flags, environment variables.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { parseWorkerFlags, BootError, pipelineOptionAdvice } from "../../src/harness/index.js";

const s = suite("harness boot flags");

s.test("Prism's process environment: --id='w' --provision_endpoint=host:port (quotes stripped)", () => {
  assert.equal(parseWorkerFlags(["--id='job-001[job]_env-1'", "--provision_endpoint=localhost:37211"], {}), {
    id: "job-001[job]_env-1",
    provisionEndpoint: "localhost:37211",
    controlEndpoint: undefined,
    loggingEndpoint: undefined,
  });
});

s.test("classic flags, space-separated values, and unknown flags ignored", () => {
  assert.equal(
    parseWorkerFlags(
      ["--id", "w2", "--control_endpoint", "localhost:1", "--logging_endpoint=localhost:2", "--semi_persist_dir=/tmp"],
      {},
    ),
    { id: "w2", provisionEndpoint: undefined, controlEndpoint: "localhost:1", loggingEndpoint: "localhost:2" },
  );
});

s.test("environment variables as Beam's boot uses them", () => {
  assert.equal(parseWorkerFlags([], { WORKER_ID: "w3", CONTROL_API_SERVICE_DESCRIPTOR: "h:9" }), {
    id: "w3",
    provisionEndpoint: undefined,
    controlEndpoint: "h:9",
    loggingEndpoint: undefined,
  });
});

s.test("missing id or endpoints: a BootError that says which", () => {
  assert.throws(
    () => parseWorkerFlags(["--provision_endpoint=h:1"], {}),
    (e: unknown) => e instanceof BootError && /--id is required/.test((e as Error).message),
  );
  assert.throws(
    () => parseWorkerFlags(["--id=w"], {}),
    (e: unknown) => e instanceof BootError && /--provision_endpoint or --control_endpoint/.test((e as Error).message),
  );
});

s.test(
  "pipeline option advice: checkpointing on Flink needs finish_bundle_before_checkpointing; a misspelt bundle time is named",
  () => {
    const py = (fields: Record<string, { stringValue?: string; boolValue?: boolean; numberValue?: number }>) => ({
      fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [`beam:option:${k}:v1`, v])),
    });
    assert.equal(pipelineOptionAdvice(py({ streaming: { boolValue: true } })), []);
    const [advice, ...more] = pipelineOptionAdvice(py({ checkpointing_interval: { stringValue: "1000" } }));
    assert.equal(more, []);
    assert.match(advice!, /--finish_bundle_before_checkpointing/);
    assert.equal(
      pipelineOptionAdvice(
        py({
          checkpointing_interval: { stringValue: "1000" },
          finish_bundle_before_checkpointing: { boolValue: true },
        }),
      ),
      [],
    );
    assert.equal(
      pipelineOptionAdvice(py({ checkpointing_interval: { stringValue: "-1" } })),
      [],
      "-1 is Flink's 'off'",
    );
    // Java sends plain option names.
    assert.equal(
      pipelineOptionAdvice({
        fields: {
          checkpointing_interval: { numberValue: 500 },
          finish_bundle_before_checkpointing: { stringValue: "true" },
        },
      }),
      [],
    );
    assert.equal(pipelineOptionAdvice(py({ max_bundle_time_millis: { stringValue: "100" } })), [
      "max_bundle_time_millis is not an option of Beam's Flink runner and is ignored: its name is max_bundle_time_mills",
    ]);
    assert.equal(pipelineOptionAdvice(undefined), []);
  },
);

s.run();
