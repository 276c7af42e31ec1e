// Our SdkWorker against a runner that sends hostile Fn API instructions (in-process Control and Data services on
// loopback, as in harness-worker.test.ts). Seeded (KBT_FUZZ_SEED, printed; KBT_WORKER_FUZZ_CASES, default 2,000):
// ProcessBundleDescriptors with broken coders, transforms, payloads and references, registered and run with input
// (valid or garbage elements); progress, split and finalize requests for bundles that are gone or never were;
// requests of no known kind. Every instruction must be answered (with or without `error`) before its deadline, and
// the worker must still run a valid bundle afterwards. Figures are printed with a `FUZZ (worker):` prefix.
// Not fuzzed: bytes that do not decode as an InstructionRequest (grpc-js ends the control stream on them; nothing a
// worker can answer) and data or state URLs in descriptors (a worker dials what the runner names).
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import { suite } from "../harness.js";
import { fnApi, fromBigInt, grpcServiceDefinition, type runnerApi } from "../../src/model/proto/index.js";
import { parDoSpec } from "../../src/expansion/components.js";
import { doFnSpec } from "../../src/model/dofn-payload.js";
import {
  bytesCoder,
  encodeToBytes,
  globalWindowCoder,
  windowedValueCoder,
  type Coder,
} from "../../src/model/coders/index.js";
import { inGlobalWindow, type WindowedValue } from "../../src/model/windowing.js";
import { SdkWorker, type WorkerLogger } from "../../src/harness/index.js";
import type { DoFn } from "../../src/sdf/index.js";
import { rng as seededRng, type Rng } from "./sdf-prng.js";

const seed = Number(process.env.KBT_FUZZ_SEED ?? 20261204);
const caseCount = Number(process.env.KBT_WORKER_FUZZ_CASES ?? 2_000);
/** A bundle of a few elements takes milliseconds; this long means the worker will not answer. */
const DEADLINE_MS = 5_000;
const s = suite(`harness: worker fuzz (seed ${seed})`, { timeoutMs: 120_000 });
const wire = windowedValueCoder(bytesCoder, globalWindowCoder) as Coder<WindowedValue<unknown>>;

const upper: DoFn<Uint8Array, Uint8Array> = {
  process(value, ctx) {
    ctx.output(Buffer.from(Buffer.from(value).toString().toUpperCase()));
  },
};

/** Control and Data services of a scripted runner: instructions out, responses and outputs in. */
class FuzzRunner {
  readonly server = new grpc.Server();
  url = "";
  private control: grpc.ServerDuplexStream<fnApi.InstructionResponse, fnApi.IInstructionRequest> | undefined;
  private data: grpc.ServerDuplexStream<fnApi.Elements, fnApi.IElements> | undefined;
  private readonly waiting = new Map<string, (r: fnApi.InstructionResponse) => void>();
  readonly outputs = new Map<string, Buffer[]>();
  private connected: () => void = () => undefined;
  readonly workerConnected = new Promise<void>((r) => {
    this.connected = r;
  });

  constructor() {
    this.server.addService(grpcServiceDefinition("org.apache.beam.model.fn_execution.v1.BeamFnControl"), {
      Control: (call: grpc.ServerDuplexStream<fnApi.InstructionResponse, fnApi.IInstructionRequest>) => {
        this.control = call;
        call.on("data", (r: fnApi.InstructionResponse) => this.waiting.get(r.instructionId ?? "")?.(r));
        call.on("error", () => undefined);
        this.connected();
      },
      // Descriptors the worker was not given: none (it must answer the bundle with an error).
      GetProcessBundleDescriptor: (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
        callback({ code: grpc.status.NOT_FOUND, details: "no such descriptor" }),
    });
    this.server.addService(grpcServiceDefinition("org.apache.beam.model.fn_execution.v1.BeamFnData"), {
      Data: (call: grpc.ServerDuplexStream<fnApi.Elements, fnApi.IElements>) => {
        this.data = call;
        call.on("data", (e: fnApi.Elements) => {
          for (const d of e.data ?? []) {
            const id = d.instructionId ?? "";
            if (d.data?.length) this.outputs.set(id, [...(this.outputs.get(id) ?? []), Buffer.from(d.data)]);
          }
        });
        call.on("error", () => undefined);
      },
    });
  }

  async start(): Promise<void> {
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    this.url = `127.0.0.1:${port}`;
  }

  /** The response to `request`, or "timeout" after the deadline. */
  instruct(request: fnApi.IInstructionRequest): Promise<fnApi.InstructionResponse | "timeout"> {
    const id = request.instructionId!;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve("timeout"), DEADLINE_MS);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(r);
      });
      this.control!.write(request);
    });
  }

  /** A bundle's input on the data stream, ended with is_last (sent once the worker has connected its stream). */
  async sendInput(instructionId: string, transformId: string, bytes: Uint8Array): Promise<void> {
    for (let i = 0; !this.data && i < 200; i++) await new Promise((r) => setTimeout(r, 10));
    this.data?.write({ data: [{ instructionId, transformId, data: bytes, isLast: true }] });
  }
}

function elements(values: string[]): Buffer {
  return Buffer.concat(values.map((v) => Buffer.from(encodeToBytes(wire, inGlobalWindow(Buffer.from(v)), "nested"))));
}

/** source "in" → ParDo(upper) → sink "out", as a runner sends it. */
function seedDescriptor(id: string, dataUrl: string): fnApi.IProcessBundleDescriptor {
  const port = (coderId: string) =>
    fnApi.RemoteGrpcPort.encode({ apiServiceDescriptor: { url: dataUrl }, coderId }).finish();
  return {
    id,
    transforms: {
      in: { uniqueName: "in", spec: { urn: "beam:runner:source:v1", payload: port("wv") }, outputs: { out: "values" } },
      upper: {
        uniqueName: "Upper",
        spec: parDoSpec({ doFn: doFnSpec({ fn: "upper" }) }),
        inputs: { in: "values" },
        outputs: { out: "upper" },
      },
      out: { uniqueName: "out", spec: { urn: "beam:runner:sink:v1", payload: port("wv") }, inputs: { in: "upper" } },
    },
    pcollections: {
      values: { uniqueName: "values", coderId: "wv", windowingStrategyId: "ws" },
      upper: { uniqueName: "upper", coderId: "wv", windowingStrategyId: "ws" },
    },
    windowingStrategies: { ws: { windowFn: { urn: "beam:window_fn:global_windows:v1" }, windowCoderId: "gw" } },
    coders: {
      bytes: { spec: { urn: "beam:coder:bytes:v1" } },
      gw: { spec: { urn: "beam:coder:global_window:v1" } },
      wv: { spec: { urn: "beam:coder:windowed_value:v1" }, componentCoderIds: ["bytes", "gw"] },
    } as Record<string, runnerApi.ICoder>,
  };
}

const HOSTILE = ["", "\u0000", "missing", "__proto__", "constructor", "x".repeat(10_000), "🚀"];

function randomBytes(rng: Rng, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => rng.int(0, 255)));
}

/** The seed descriptor with 1–3 things broken (data URLs are left alone: a worker dials what it is given). */
function mutatedDescriptor(rng: Rng, id: string, dataUrl: string): fnApi.IProcessBundleDescriptor {
  const d = seedDescriptor(id, dataUrl);
  const transforms = d.transforms!;
  const coders = d.coders as Record<string, runnerApi.ICoder>;
  for (let edits = rng.int(1, 3); edits > 0; edits--) {
    switch (rng.int(0, 9)) {
      case 0: // the ParDo's payload: garbage, cut short, or naming a DoFn the worker does not have
        transforms.upper!.spec = rng.pick([
          { urn: "beam:transform:pardo:v1", payload: randomBytes(rng, rng.int(0, 64)) },
          {
            urn: "beam:transform:pardo:v1",
            payload: parDoSpec({ doFn: doFnSpec({ fn: "upper" }) }).payload!.subarray(0, rng.int(0, 20)),
          },
          parDoSpec({ doFn: doFnSpec({ fn: rng.pick(["nope", ...HOSTILE]) }) }),
          { urn: rng.pick(["beam:transform:flatten:v1", "beam:transform:group_by_key:v1", ...HOSTILE]) },
          {},
        ]);
        break;
      case 1: // a coder of another kind, or one that contains itself
        coders[rng.pick(["bytes", "gw", "wv"])] = rng.pick([
          {
            spec: {
              urn: rng.pick(["beam:coder:kv:v1", "beam:coder:row:v1", "beam:coder:pickled_python:v1", ...HOSTILE]),
            },
          },
          { spec: { urn: "beam:coder:kv:v1" }, componentCoderIds: ["wv", "wv"] },
          { spec: { urn: "beam:coder:windowed_value:v1" }, componentCoderIds: ["wv", "gw"] },
          { spec: { urn: "beam:coder:length_prefix:v1" }, componentCoderIds: [] },
          { spec: { urn: "beam:coder:row:v1", payload: randomBytes(rng, rng.int(0, 40)) } },
        ]);
        break;
      case 2:
        delete coders[rng.pick(["bytes", "gw", "wv"])];
        break;
      case 3: // references to PCollections that do not exist
        transforms.upper!.inputs = { in: rng.pick(HOSTILE) };
        break;
      case 4:
        transforms.upper!.outputs = { out: rng.pick(HOSTILE), [rng.pick(HOSTILE)]: "upper" };
        break;
      case 5: // a port naming a coder that is missing or is no windowed value
        transforms.in!.spec = {
          urn: "beam:runner:source:v1",
          payload: fnApi.RemoteGrpcPort.encode({
            apiServiceDescriptor: { url: dataUrl },
            coderId: rng.pick(["bytes", "gw", ...HOSTILE]),
          }).finish(),
        };
        break;
      case 6: // a source whose port does not decode
        transforms.in!.spec = { urn: "beam:runner:source:v1", payload: Buffer.from([0x0a, 0xff, 0xff, 0x7f]) };
        break;
      case 7: // transforms of kinds the worker may not run, with garbage payloads
        transforms[`extra_${edits}`] = {
          uniqueName: rng.pick(HOSTILE) || "extra",
          spec: {
            urn: rng.pick([
              "beam:transform:window_into:v1",
              "beam:transform:flatten:v1",
              "beam:transform:impulse:v1",
              "beam:transform:sdf_process_sized_element_and_restrictions:v1",
              "beam:transform:no_such:v1",
            ]),
            payload: randomBytes(rng, rng.int(0, 32)),
          },
          inputs: { in: rng.pick(["values", "upper", "missing"]) },
          outputs: rng.next() < 0.5 ? { out: "upper" } : {},
        };
        break;
      case 8: // windowing that is not there or not global
        d.windowingStrategies = rng.pick<Record<string, runnerApi.IWindowingStrategy>>([
          {},
          { ws: { windowFn: { urn: "beam:window_fn:fixed_windows:v1", payload: randomBytes(rng, 8) } } },
          { ws: { windowFn: { urn: rng.pick(HOSTILE) }, windowCoderId: "missing" } },
        ]);
        break;
      default: // many transforms
        for (let i = 0; i < rng.int(100, 2000); i++)
          transforms[`noop_${i}`] = { uniqueName: `noop_${i}`, spec: { urn: "beam:transform:pardo:v1" } };
    }
  }
  return d;
}

type Answer = fnApi.InstructionResponse | "timeout";

/** One case: its instructions (and the input the runner sends with them); each answer labelled with what it was. */
async function runCase(rng: Rng, index: number, runner: FuzzRunner): Promise<[string, Answer][]> {
  const bundle = `b${index}`;
  const kind = rng.int(0, 9);
  if (kind <= 5) {
    // a broken (or, now and then, intact) descriptor, registered and run with input
    const descriptor =
      rng.next() < 0.1 ? seedDescriptor(`d${index}`, runner.url) : mutatedDescriptor(rng, `d${index}`, runner.url);
    const registered = await runner.instruct({
      instructionId: `r${index}`,
      register: { processBundleDescriptor: [descriptor] },
    });
    const running = runner.instruct({
      instructionId: bundle,
      processBundle: { processBundleDescriptorId: `d${index}` },
    });
    const input = rng.next() < 0.7 ? elements(["a", "b", "c"]) : randomBytes(rng, rng.int(0, 64));
    await runner.sendInput(bundle, "in", input);
    return [
      ["register", registered],
      ["bundle of a broken descriptor", await running],
    ];
  }
  if (kind === 6) {
    // a bundle of a descriptor the worker was never given (GetProcessBundleDescriptor answers NOT_FOUND)
    const id = rng.pick(HOSTILE);
    return [
      [
        "bundle of an unknown descriptor",
        await runner.instruct({ instructionId: bundle, processBundle: { processBundleDescriptorId: id } }),
      ],
    ];
  }
  if (kind === 7) {
    // the intact descriptor with garbage input: elements that do not decode
    const id = `d${index}`;
    const registered = await runner.instruct({
      instructionId: `r${index}`,
      register: { processBundleDescriptor: [seedDescriptor(id, runner.url)] },
    });
    const running = runner.instruct({ instructionId: bundle, processBundle: { processBundleDescriptorId: id } });
    await runner.sendInput(bundle, "in", Buffer.concat([elements(["ok"]), randomBytes(rng, rng.int(1, 32))]));
    return [
      ["register", registered],
      ["bundle with garbage input", await running],
    ];
  }
  // questions about bundles that are gone or never were, and requests of no known kind
  const target = rng.pick([`b${rng.int(0, index)}`, ...HOSTILE]);
  const request: fnApi.IInstructionRequest = rng.pick([
    { processBundleProgress: { instructionId: target } },
    {
      processBundleSplit: {
        instructionId: target,
        desiredSplits: {
          [rng.pick(["in", ...HOSTILE])]: {
            fractionOfRemainder: rng.pick([0, 0.5, 1, -1, 2, Number.NaN]),
            estimatedInputElements: fromBigInt(BigInt(rng.pick([0, 1, -1, 2 ** 40]))),
            allowedSplitPoints: [fromBigInt(BigInt(rng.int(-5, 5)))],
          },
        },
      },
    },
    { finalizeBundle: { instructionId: target } },
    { monitoringInfos: { monitoringInfoId: [target, rng.pick(HOSTILE)] } },
    { harnessMonitoringInfos: {} },
    {},
  ]);
  const what = Object.keys(request)[0] ?? "no request";
  return [[what, await runner.instruct({ instructionId: `q${index}`, ...request })]];
}

const quietLogger: WorkerLogger = { log: () => undefined, close: async () => undefined } as unknown as WorkerLogger;

s.test(
  `${caseCount} hostile instruction sequences: each answered in time; the worker then runs a valid bundle`,
  async () => {
    const runner = new FuzzRunner();
    await runner.start();
    const worker = new SdkWorker({
      id: "fuzz",
      controlUrl: runner.url,
      dofns: { upper: () => upper },
      logger: quietLogger,
    });
    let stopped = false;
    const running = worker.run().then(() => {
      stopped = true;
    });
    try {
      await runner.workerConnected;
      const outcomes = new Map<string, number>();
      const byKind = new Map<string, Map<string, number>>();
      const failures: string[] = [];
      const started = performance.now();
      for (let index = 0; index < caseCount; index++) {
        const rng = seededRng((seed ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
        for (const [what, answer] of await runCase(rng, index, runner)) {
          const outcome = answer === "timeout" ? "timeout" : answer.error ? "error" : "ok";
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          if (!byKind.has(what)) byKind.set(what, new Map());
          byKind.get(what)!.set(outcome, (byKind.get(what)!.get(outcome) ?? 0) + 1);
          if (outcome === "timeout" && failures.length < 10)
            failures.push(`case ${index} (${what}): no answer in ${DEADLINE_MS} ms (replay: KBT_FUZZ_SEED=${seed})`);
        }
        assert.not.ok(stopped, `the worker stopped during case ${index}`);
      }
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `FUZZ (worker): seed ${seed}, ${caseCount} cases in ${seconds.toFixed(1)} s; instructions answered: ` +
          [...outcomes].map(([k, n]) => `${k} ${n}`).join(", "),
      );
      for (const [what, counts] of [...byKind].sort())
        console.log(`FUZZ (worker):   ${what}: ${[...counts].map(([k, n]) => `${k} ${n}`).join(", ")}`);
      assert.equal(failures, []);
      assert.ok((outcomes.get("error") ?? 0) > 0 && (outcomes.get("ok") ?? 0) > 0, "both kinds of answer occurred");

      // Still serving: the intact descriptor runs a bundle with the right output.
      await runner.instruct({
        instructionId: "final-r",
        register: { processBundleDescriptor: [seedDescriptor("final", runner.url)] },
      });
      const final = runner.instruct({
        instructionId: "final-b",
        processBundle: { processBundleDescriptorId: "final" },
      });
      await runner.sendInput("final-b", "in", elements(["x", "y"]));
      const answer = await final;
      assert.ok(answer !== "timeout" && answer.error === "", answer === "timeout" ? "timeout" : answer.error);
      await new Promise((r) => setTimeout(r, 300)); // the output flushes on the data stream, apart from the answer
      assert.equal(Buffer.concat(runner.outputs.get("final-b") ?? []), elements(["X", "Y"]));
    } finally {
      await worker.stop();
      await running;
      runner.server.forceShutdown();
    }
  },
);

// Found by this fuzz: a bundle whose descriptor fails (unknown DoFn, unsupported coder, ...) never released the input
// the runner sent it; past 64 MiB the data channel paused and every later bundle waited forever.
s.test("input of bundles whose descriptor fails is released, not buffered for good", async () => {
  const runner = new FuzzRunner();
  await runner.start();
  const worker = new SdkWorker({
    id: "leak",
    controlUrl: runner.url,
    dofns: { upper: () => upper },
    logger: quietLogger,
  });
  const running = worker.run();
  try {
    await runner.workerConnected;
    const good = seedDescriptor("good", runner.url);
    const bad = { ...seedDescriptor("bad", runner.url) };
    bad.transforms = {
      ...bad.transforms,
      upper: { ...bad.transforms!.upper, spec: parDoSpec({ doFn: doFnSpec({ fn: "nope" }) }) },
    };
    await runner.instruct({ instructionId: "r", register: { processBundleDescriptor: [good, bad] } });
    const first = runner.instruct({ instructionId: "g1", processBundle: { processBundleDescriptorId: "good" } });
    await runner.sendInput("g1", "in", elements(["a"]));
    assert.ok((await first) !== "timeout");
    // 80 failing bundles with 1 MiB of input each: more than the channel buffers before it pauses (64 MiB)
    const mib = elements(Array.from({ length: 1024 }, () => "v".repeat(1000)));
    for (let i = 0; i < 80; i++) {
      await runner.sendInput(`x${i}`, "in", mib);
      const failed = await runner.instruct({
        instructionId: `x${i}`,
        processBundle: { processBundleDescriptorId: "bad" },
      });
      assert.ok(failed !== "timeout" && failed.error !== "", "the bad descriptor fails its bundles");
    }
    const last = runner.instruct({ instructionId: "g2", processBundle: { processBundleDescriptorId: "good" } });
    await runner.sendInput("g2", "in", elements(["b"]));
    const answer = await last;
    assert.ok(answer !== "timeout", "a valid bundle after the failed ones is answered");
  } finally {
    await worker.stop();
    await running;
    runner.server.forceShutdown();
  }
});

s.run();
