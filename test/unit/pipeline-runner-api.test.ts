import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import {
  Filter,
  FixedWindows,
  GroupByKey,
  Impulse,
  Map,
  ParDo,
  Pipeline,
  PipelineTranslationError,
  WindowInto,
  kv,
  pipelineToRunnerApi,
  repeatedlyElementCount,
  type DoFn,
  type KV,
} from "../../src/pipeline/index.js";
import {
  JS_VALUE_CODER_URN,
  jsValueCoder,
  kvCoder,
  stringUtf8Coder,
  varIntCoder,
} from "../../src/model/coders/index.js";
import { runnerApi, toBigInt } from "../../src/model/proto/index.js";
import { decodeDoFnPayload } from "../../src/model/dofn-payload.js";
import { KBT_DOFN_URN } from "../../src/model/kbt-urns.js";
import { writeToKafka } from "../../src/kafka/index.js";
import { CounterSdf } from "./sdf-fixtures.js";

const s = suite("pipeline: Runner API translation");

class PortableCounter extends CounterSdf {
  readonly outputCoder = varIntCoder;
  readonly requestsFinalization = true;
  doFnPayload() {
    return { fn: "counter", perCall: 5 };
  }
}

const keyByParity: DoFn<bigint, KV<string, bigint>> & {
  outputCoder: typeof kvCoder extends (...a: never[]) => infer C ? C : never;
} = {
  outputCoder: kvCoder(stringUtf8Coder, varIntCoder) as never,
  doFnPayload: () => ({ fn: "key_by_parity" }),
  process(n, ctx) {
    ctx.output(kv(n % 2n === 0n ? "even" : "odd", n));
  },
};

const environment = { urn: "beam:env:process:v1", capabilities: [] };

s.test("a portable pipeline becomes a Runner API proto with coders, windowing strategies and SDF requirements", () => {
  const p = Pipeline.create();
  const counts = p
    .apply(new Impulse())
    .apply("Read", ParDo.of<Uint8Array, bigint>(new PortableCounter({ perCall: 5 }) as never));
  const grouped = counts
    .apply(WindowInto(FixedWindows(60_000), "WindowInto", { trigger: repeatedlyElementCount(2) }))
    .apply("KeyByParity", ParDo.of(keyByParity))
    .apply(GroupByKey<string, bigint>());
  const proto = pipelineToRunnerApi(p, { environment });
  const c = proto.components!;
  assert.equal(proto.rootTransformIds, ["Impulse", "Read", "WindowInto", "KeyByParity", "GroupByKey"]);
  assert.equal([...proto.requirements].sort(), [
    "beam:requirement:pardo:finalization:v1",
    "beam:requirement:pardo:splittable_dofn:v1",
  ]);
  const urnOf = (id: string) => c.transforms![id]!.spec?.urn;
  assert.is(urnOf("Impulse"), "beam:transform:impulse:v1");
  assert.is(urnOf("Read"), "beam:transform:pardo:v1");
  assert.is(urnOf("WindowInto"), "beam:transform:window_into:v1");
  assert.is(urnOf("GroupByKey"), "beam:transform:group_by_key:v1");
  assert.is(c.transforms!.Read!.environmentId, "kbt-environment");

  const read = runnerApi.ParDoPayload.decode(c.transforms!.Read!.spec!.payload!);
  assert.is(read.doFn!.urn, KBT_DOFN_URN);
  assert.equal(decodeDoFnPayload(read.doFn!.payload!), { fn: "counter", perCall: 5 });
  assert.ok(read.requestsFinalization);
  const coderUrns = (id: string): unknown => {
    const coder = c.coders![id]!;
    const comps = coder.componentCoderIds ?? [];
    return comps.length === 0 ? coder.spec!.urn : [coder.spec!.urn, ...comps.map(coderUrns)];
  };
  // KV<restriction, watermark state> as Beam's SDKs declare it: KV<KV<varint, varint>, varint>.
  assert.equal(coderUrns(read.restrictionCoderId), [
    "beam:coder:kv:v1",
    ["beam:coder:kv:v1", "beam:coder:varint:v1", "beam:coder:varint:v1"],
    "beam:coder:varint:v1",
  ]);
  const pcCoder = (pcId: string) => coderUrns(c.pcollections![pcId]!.coderId!);
  const impulseOut = c.transforms!.Impulse!.outputs!.output!;
  assert.is(pcCoder(impulseOut), "beam:coder:bytes:v1");
  assert.is(pcCoder(counts.id), "beam:coder:varint:v1");
  assert.equal(pcCoder(grouped.id), [
    "beam:coder:kv:v1",
    "beam:coder:string_utf8:v1",
    ["beam:coder:iterable:v1", "beam:coder:varint:v1"],
  ]);
  assert.is(c.pcollections![counts.id]!.isBounded, runnerApi.IsBounded.Enum.UNBOUNDED);

  const fixed = c.windowingStrategies![c.pcollections![grouped.id]!.windowingStrategyId!]!;
  assert.is(fixed.windowFn!.urn, "beam:window_fn:fixed_windows:v1");
  const size = runnerApi.FixedWindowsPayload.decode(fixed.windowFn!.payload!).size!;
  assert.is(toBigInt(size.seconds), 60n);
  assert.is(coderUrns(fixed.windowCoderId!), "beam:coder:interval_window:v1");
  assert.equal(runnerApi.Trigger.toObject(runnerApi.Trigger.fromObject(fixed.trigger!)), {
    repeat: { subtrigger: { elementCount: { elementCount: 2 } } },
  });
  assert.is(fixed.accumulationMode, runnerApi.AccumulationMode.Enum.DISCARDING);
  const global = c.windowingStrategies![c.pcollections![impulseOut]!.windowingStrategyId!]!;
  assert.is(global.windowFn!.urn, "beam:window_fn:global_windows:v1");
  assert.is(global.outputTime, runnerApi.OutputTime.Enum.END_OF_WINDOW);
  assert.equal(global.trigger, { default: {} });

  const roundTrip = runnerApi.Pipeline.decode(runnerApi.Pipeline.encode(proto).finish());
  assert.equal(runnerApi.Pipeline.toObject(roundTrip), runnerApi.Pipeline.toObject(proto));
});

s.test("an exactly-once writeToKafka's transactions step requires stable input, unless told not to (Prism)", () => {
  const translate = (requiresStableInput?: boolean) => {
    const p = Pipeline.create();
    p.apply(new Impulse())
      .apply(
        "Records",
        Map((_: Uint8Array) => ({ key: "k", value: "v" })),
      )
      .apply(
        writeToKafka({
          producerConfig: { "bootstrap.servers": "127.0.0.1:9092" },
          topic: "out",
          keySerializer: "string",
          valueSerializer: "string",
          exactlyOnce: {
            numShards: 2,
            sinkGroupId: "g",
            ...(requiresStableInput !== undefined ? { requiresStableInput } : {}),
          },
        }),
      );
    const proto = pipelineToRunnerApi(p, {
      environment,
      defaultCoder: jsValueCoder,
      shipDoFn: () => ({ fn: "records" }),
    });
    const stable = Object.entries(proto.components!.transforms!)
      .filter(([, t]) => t.spec?.urn === "beam:transform:pardo:v1")
      .filter(([, t]) => runnerApi.ParDoPayload.decode(t.spec!.payload!).requiresStableInput)
      .map(([id]) => id);
    return { stable, requirement: proto.requirements.includes("beam:requirement:pardo:stable_input:v1") };
  };
  assert.equal(translate(), { stable: ["WriteToKafka/WriteTransactions"], requirement: true });
  assert.equal(translate(true), { stable: ["WriteToKafka/WriteTransactions"], requirement: true });
  assert.equal(translate(false), { stable: [], requirement: false });
});

s.test("closures and PCollections without coders are named in one translation error", () => {
  const p = Pipeline.create();
  p.apply(new Impulse()).apply(
    "Closure",
    Map((b: Uint8Array) => b.length),
  );
  let error: unknown;
  try {
    pipelineToRunnerApi(p, { environment });
  } catch (err) {
    error = err;
  }
  assert.instance(error, PipelineTranslationError);
  assert.match((error as Error).message, /ParDo Closure: its DoFn has no doFnPayload\(\)/);
  assert.match((error as Error).message, /PCollection Closure\.output \(output of Closure\) has no coder/);
  // Filter keeps its input's coder (declared here with withCoder): only its closure is reported.
  const q = Pipeline.create();
  q.apply(new Impulse())
    .apply(
      "Keyed",
      ParDo.of({ process() {}, doFnPayload: () => ({ fn: "noop" }) } as DoFn<Uint8Array, KV<string, bigint>>),
    )
    .withCoder(kvCoder(stringUtf8Coder, varIntCoder))
    .apply(Filter((g: KV<string, bigint>) => g.value > 0n));
  let second: unknown;
  try {
    pipelineToRunnerApi(q, { environment });
  } catch (err) {
    second = err;
  }
  assert.is(
    (second as Error).message,
    "cannot translate the pipeline to a Runner API proto:\n- ParDo Filter: its DoFn has no doFnPayload(), so a Fn API worker cannot rebuild it (the portable runner ships user DoFns through pipelineModule)",
  );
});

s.test(
  "for a portable runner: closures get the shipped payload, coderless PCollections the default coder (a KV where grouped), WindowInto an environment",
  () => {
    const p = Pipeline.create();
    p.apply(new Impulse())
      .apply(
        "Pairs",
        Map((b: Uint8Array) => kv(`k${b.length}`, b.length)),
      )
      .apply("Windowed", WindowInto(FixedWindows(1000)))
      .apply("Group", GroupByKey<string, number>())
      .apply(
        "Sizes",
        Map((g: KV<string, number[]>) => g.value.length),
      );
    const proto = pipelineToRunnerApi(p, {
      environment,
      defaultCoder: jsValueCoder,
      shipDoFn: (node) => ({ fn: "kbt_user", transform: node.id }),
    });
    const c = proto.components!;
    const doFnOf = (id: string) =>
      decodeDoFnPayload(runnerApi.ParDoPayload.decode(c.transforms![id]!.spec!.payload!).doFn!.payload!);
    assert.equal(doFnOf("Pairs"), { fn: "kbt_user", transform: "Pairs" });
    assert.equal(doFnOf("Sizes"), { fn: "kbt_user", transform: "Sizes" });
    const coderOf = (pc: string) => {
      const coder = c.coders![c.pcollections![pc]!.coderId!]!;
      return [coder.spec!.urn, ...(coder.componentCoderIds ?? []).map((id) => c.coders![id]!.spec!.urn)];
    };
    // Grouped: a KV of js values the runner can group; after the GroupByKey: KV<js, iterable<js>>; the rest: js values.
    assert.equal(coderOf("Pairs.output"), ["beam:coder:kv:v1", JS_VALUE_CODER_URN, JS_VALUE_CODER_URN]);
    assert.equal(coderOf("Windowed.output"), ["beam:coder:kv:v1", JS_VALUE_CODER_URN, JS_VALUE_CODER_URN]);
    assert.equal(coderOf("Group.output"), ["beam:coder:kv:v1", JS_VALUE_CODER_URN, "beam:coder:iterable:v1"]);
    assert.equal(coderOf("Sizes.output"), [JS_VALUE_CODER_URN]);
    assert.is(c.transforms!.Windowed!.environmentId, "kbt-environment", "the SDK assigns windows");
    assert.equal(Object.keys(c.environments!), ["kbt-environment"]);
  },
);

s.run();
