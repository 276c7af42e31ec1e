// The portable runner's pure parts: Beam's option names on the command line, and the refusal, at submission, of a
// pipeline whose own DoFns could not be rebuilt on the workers.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { rejection } from "../assertions.js";
import { Create, Map, Pipeline, PipelineTranslationError } from "../../src/pipeline/index.js";
import {
  PortableRunnerError,
  isMainModule,
  portableRunnerOptionsFromArgs,
  userDoFnShipping,
} from "../../src/runners/portable/index.js";
import { workerLauncherPath } from "../../src/harness/index.js";

const s = suite("portable runner: options and shipping");

s.test("Beam's options: --runner, --job_endpoint, --environment_type/config; the rest are pipeline options", () => {
  assert.equal(
    portableRunnerOptionsFromArgs([
      "--runner=PortableRunner",
      "--job_endpoint=localhost:8099",
      "--streaming",
      "--parallelism=2",
      "--environment_type=EXTERNAL",
      "--environment_config",
      "pool.local:50000",
    ]),
    {
      jobEndpoint: "localhost:8099",
      environment: { kind: "external", address: "pool.local:50000" },
      pipelineOptions: { streaming: true, parallelism: "2" },
    },
  );
  const prism = portableRunnerOptionsFromArgs([
    "--runner",
    "PrismRunner",
    "--job_endpoint=localhost:8073",
    "--environment_type=PROCESS",
  ])!;
  assert.equal(prism.environment, {
    kind: "process",
    command: workerLauncherPath(),
    env: { KBT_NODE: process.env.KBT_NODE ?? process.execPath },
  });
  assert.equal(
    portableRunnerOptionsFromArgs([
      "--runner=FlinkRunner",
      "--job_endpoint=jm:8099",
      "--environment_type=DOCKER",
      "--environment_config=kbt:1",
    ])!.environment,
    { kind: "docker", image: "kbt:1" },
  );
  for (const local of [[], ["--runner=local"], ["--runner", "DirectRunner"]])
    assert.is(portableRunnerOptionsFromArgs(local), undefined);
});

s.test("bad options name themselves", () => {
  const error = (args: string[], pattern: RegExp) =>
    assert.throws(
      () => portableRunnerOptionsFromArgs(args),
      (err: unknown) => err instanceof PortableRunnerError && pattern.test((err as Error).message),
    );
  error(["--runner=PortableRunner"], /^--job_endpoint: /);
  error(["--runner=Dataflow", "--job_endpoint=x:1"], /^--runner: /);
  error(
    ["--runner=PortableRunner", "--job_endpoint=x:1", "--environment_type=LOOPBACK"],
    /^--environment_type: .*LOOPBACK is the Python SDK's/,
  );
  error(
    ["--runner=PortableRunner", "--job_endpoint=x:1", "--environment_type=EXTERNAL"],
    /^--environment_config: EXTERNAL needs/,
  );
  error(
    ["--runner=PortableRunner", "--job_endpoint=x:1", "--environment_type=PROCESS", "--environment_config={oops"],
    /^--environment_config: for PROCESS/,
  );
  error(["stray"], /unexpected argument "stray"/);
});

s.test("a pipeline with its own DoFns and no pipelineModule is refused at submission, naming them", async () => {
  const p = Pipeline.create();
  p.apply(Create.of(["a"]))
    .apply(
      "Upper",
      Map((v: string) => v.toUpperCase()),
    )
    .apply(
      "Length",
      Map((v: string) => v.length),
    );
  const err = (await rejection(userDoFnShipping(p, undefined))) as Error;
  assert.instance(err, PipelineTranslationError);
  assert.match(
    err.message,
    /the pipeline's own DoFns \(Create\/Values, Upper, Length\) must be rebuilt on the workers: give the runner pipelineModule/,
  );
});

s.test("a module that does not rebuild the pipeline is refused, naming the ParDos it lacks", async () => {
  const p = Pipeline.create();
  p.apply(Create.of(["a"])).apply(
    "NotInTheModule",
    Map((v: string) => v.length),
  );
  // This test file's own module has no builder export: the check imports it and says so.
  const missingExport = (await rejection(userDoFnShipping(p, { url: import.meta.url, export: "build" }))) as Error;
  assert.match(missingExport.message, /has no function export "build" to build the pipeline/);
  const moduleUrl = new URL("../xlang/portable/enrich-pipeline.js", import.meta.url).href;
  const differs = (await rejection(
    userDoFnShipping(p, { url: moduleUrl, export: "build", args: { bootstrap: "h:1", input: "i", output: "o" } }),
  )) as Error;
  assert.match(
    differs.message,
    /does not rebuild these ParDos of the pipeline being run, so workers could not find their DoFns: .*NotInTheModule/,
  );
});

s.test("isMainModule: true only for the file Node was started with (the runner starts this test file)", () => {
  assert.is(isMainModule(import.meta.url), true);
  assert.is(isMainModule(new URL("../xlang/portable/enrich-pipeline.js", import.meta.url).href), false);
});

s.run();
