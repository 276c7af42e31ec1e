// Our SdkWorker against a scripted runner (in-process Control and Data services, no Kafka): a failing bundle is
// answered with the error's message and stack and the worker keeps serving; bundles run at once; the runner closing
// the control stream ends the worker cleanly.
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import { suite } from "../harness.js";
import { fnApi, grpcServiceDefinition, type runnerApi } from "../../src/model/proto/index.js";
import { parDoSpec } from "../../src/expansion/components.js";
import { doFnSpec } from "../../src/model/dofn-payload.js";
import {
  ByteReader,
  bytesCoder,
  encodeToBytes,
  globalWindowCoder,
  windowedValueCoder,
  type Coder,
} from "../../src/model/coders/index.js";
import { inGlobalWindow, type WindowedValue } from "../../src/model/windowing.js";
import { SdkWorker, type WorkerLogger } from "../../src/harness/index.js";
import type { DoFn } from "../../src/sdf/index.js";

const s = suite("harness: worker against a scripted runner");
const wire = windowedValueCoder(bytesCoder, globalWindowCoder) as Coder<WindowedValue<unknown>>;

/** Upper-cases each value; throws on "boom"; waits on "slow" until released (to hold a bundle open). */
let releaseSlow: () => void = () => undefined;
/** Registers a finalization callback per element, latest wins per bundle (as the Kafka read commits offsets). */
const finalized: string[] = [];
const committing: DoFn<Uint8Array, Uint8Array> = {
  requestsFinalization: true,
  process(value, ctx) {
    const text = Buffer.from(value).toString();
    ctx.bundleFinalizer.afterBundleCommit(
      Date.now() + 60_000,
      () => {
        finalized.push(text);
      },
      { latestWins: "position" },
    );
    ctx.output(value);
  },
};
const upper: DoFn<Uint8Array, Uint8Array> = {
  async process(value, ctx) {
    const text = Buffer.from(value).toString();
    if (text === "boom") throw new RangeError("cannot process boom");
    if (text === "slow")
      await new Promise<void>((r) => {
        releaseSlow = r;
      });
    ctx.output(Buffer.from(text.toUpperCase()));
  },
};

/** Numbers the elements of each bundle in a field (per-bundle state, as the Kafka write keeps its pending records). */
let releaseCounting: () => void = () => undefined;
class CountingDoFn implements DoFn<Uint8Array, Uint8Array> {
  static instances = 0;
  private count = 0;
  constructor() {
    CountingDoFn.instances++;
  }
  startBundle(): void {
    this.count = 0;
  }
  async process(value: Uint8Array, ctx: Parameters<DoFn<Uint8Array, Uint8Array>["process"]>[1]): Promise<void> {
    const text = Buffer.from(value).toString();
    if (text === "wait")
      await new Promise<void>((r) => {
        releaseCounting = r;
      });
    ctx.output(Buffer.from(`${text}#${++this.count}`));
  }
}

class ScriptedRunner {
  readonly server = new grpc.Server();
  url = "";
  private control: grpc.ServerDuplexStream<fnApi.InstructionResponse, fnApi.IInstructionRequest> | undefined;
  private data: grpc.ServerDuplexStream<fnApi.Elements, fnApi.IElements> | undefined;
  private readonly responses = new Map<string, (r: fnApi.InstructionResponse) => void>();
  private readonly outputs = new Map<string, Buffer[]>();
  /** Instructions whose output stream ended (is_last): the data stream is separate from control, so it can lag. */
  private readonly ended = new Set<string>();
  private connected: () => void = () => undefined;
  readonly workerConnected = new Promise<void>((r) => {
    this.connected = r;
  });
  dataReady: Promise<void>;
  private dataConnected: () => void = () => undefined;

  constructor() {
    this.dataReady = new Promise<void>((r) => {
      this.dataConnected = r;
    });
    this.server.addService(grpcServiceDefinition("org.apache.beam.model.fn_execution.v1.BeamFnControl"), {
      Control: (call: grpc.ServerDuplexStream<fnApi.InstructionResponse, fnApi.IInstructionRequest>) => {
        this.control = call;
        call.on("data", (r: fnApi.InstructionResponse) => this.responses.get(r.instructionId ?? "")?.(r));
        call.on("error", () => undefined);
        this.connected();
      },
      GetProcessBundleDescriptor: (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
        callback({ code: grpc.status.NOT_FOUND }),
    });
    this.server.addService(grpcServiceDefinition("org.apache.beam.model.fn_execution.v1.BeamFnData"), {
      Data: (call: grpc.ServerDuplexStream<fnApi.Elements, fnApi.IElements>) => {
        this.data = call;
        call.on("data", (e: fnApi.Elements) => {
          for (const d of e.data ?? []) {
            const id = d.instructionId ?? "";
            if (d.data && d.data.length > 0)
              this.outputs.set(id, [...(this.outputs.get(id) ?? []), Buffer.from(d.data)]);
            if (d.isLast) this.ended.add(id);
          }
        });
        call.on("error", () => undefined);
        this.dataConnected();
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

  instruct(request: fnApi.IInstructionRequest): Promise<fnApi.InstructionResponse> {
    const answered = new Promise<fnApi.InstructionResponse>((r) => this.responses.set(request.instructionId!, r));
    this.control!.write(request);
    return answered;
  }

  async sendInput(instructionId: string, values: string[]): Promise<void> {
    await this.dataReady;
    const bytes = Buffer.concat(
      values.map((v) => Buffer.from(encodeToBytes(wire, inGlobalWindow(Buffer.from(v)), "nested"))),
    );
    this.data!.write({ data: [{ instructionId, transformId: "in", data: bytes, isLast: true }] });
  }

  /** The values a bundle sent, once its output ended. */
  async output(instructionId: string): Promise<string[]> {
    const deadline = Date.now() + 5_000;
    while (!this.ended.has(instructionId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.sentSoFar(instructionId);
  }

  sentSoFar(instructionId: string): string[] {
    const reader = new ByteReader(Buffer.concat(this.outputs.get(instructionId) ?? []));
    const values: string[] = [];
    while (!reader.atEnd)
      values.push(Buffer.from((wire.decode(reader, "nested") as WindowedValue<Uint8Array>).value).toString());
    return values;
  }

  closeControl(): void {
    this.control?.end();
  }
}

function descriptor(dataUrl: string, fn = "upper"): fnApi.IProcessBundleDescriptor {
  const port = (coderId: string) =>
    fnApi.RemoteGrpcPort.encode({ apiServiceDescriptor: { url: dataUrl }, coderId }).finish();
  return {
    id: fn,
    transforms: {
      in: { uniqueName: "in", spec: { urn: "beam:runner:source:v1", payload: port("wv") }, outputs: { out: "values" } },
      upper: {
        uniqueName: "Upper",
        spec: parDoSpec({ doFn: doFnSpec({ fn }), requestsFinalization: fn === "committing" }),
        inputs: { in: "values" },
        outputs: { out: "upper" },
      },
      out: { uniqueName: "out", spec: { urn: "beam:runner:sink:v1", payload: port("wv") }, inputs: { in: "upper" } },
    },
    coders: {
      bytes: { spec: { urn: "beam:coder:bytes:v1" } },
      gw: { spec: { urn: "beam:coder:global_window:v1" } },
      wv: { spec: { urn: "beam:coder:windowed_value:v1" }, componentCoderIds: ["bytes", "gw"] },
    } as Record<string, runnerApi.ICoder>,
  };
}

const quietLogger = (): WorkerLogger & { lines: string[] } => {
  const lines: string[] = [];
  return {
    lines,
    log: (level: string, message: string) => {
      lines.push(`${level} ${message}`);
    },
    close: async () => undefined,
  } as WorkerLogger & { lines: string[] };
};

s.test(
  "a failing bundle returns its error and stack; bundles run at once; closing control ends the worker",
  async () => {
    const runner = new ScriptedRunner();
    await runner.start();
    const logger = quietLogger();
    const worker = new SdkWorker({ id: "w1", controlUrl: runner.url, dofns: { upper: () => upper }, logger });
    const running = worker.run();
    try {
      await runner.workerConnected;
      const registered = await runner.instruct({
        instructionId: "r1",
        register: { processBundleDescriptor: [descriptor(runner.url)] },
      });
      assert.is(registered.error, "");

      const failing = runner.instruct({ instructionId: "b1", processBundle: { processBundleDescriptorId: "upper" } });
      await runner.sendInput("b1", ["a", "boom", "c"]);
      const failed = await failing;
      assert.match(failed.error, /RangeError: cannot process boom/);
      assert.match(failed.error, /at .*harness-worker\.test/, "the stack reaches the runner");
      await new Promise((r) => setTimeout(r, 300)); // past the data channel's time-based flush
      assert.equal(runner.sentSoFar("b1"), [], "a failed bundle's partial output is not sent");

      // The worker keeps serving: one bundle held open while another completes.
      const slow = runner.instruct({ instructionId: "b2", processBundle: { processBundleDescriptorId: "upper" } });
      await runner.sendInput("b2", ["x", "slow"]);
      const fast = runner.instruct({ instructionId: "b3", processBundle: { processBundleDescriptorId: "upper" } });
      await runner.sendInput("b3", ["p", "q"]);
      assert.is((await fast).error, "");
      assert.is(worker.activeBundles, 1, "b2 is still running");
      releaseSlow();
      assert.is((await slow).error, "");
      assert.equal(await runner.output("b3"), ["P", "Q"]);
      assert.equal(await runner.output("b2"), ["X", "SLOW"]);
    } finally {
      runner.closeControl();
      await running;
      runner.server.forceShutdown();
    }
    assert.ok(
      logger.lines.some((l) => l.includes("worker w1 stopped")),
      logger.lines.join("\n"),
    );
  },
);

s.test(
  "concurrent bundles of one descriptor run on DoFn instances of their own; finished ones are reused",
  async () => {
    const runner = new ScriptedRunner();
    await runner.start();
    const worker = new SdkWorker({
      id: "w3",
      controlUrl: runner.url,
      dofns: { counting: () => new CountingDoFn() },
      logger: quietLogger(),
    });
    const running = worker.run();
    try {
      await runner.workerConnected;
      await runner.instruct({
        instructionId: "r1",
        register: { processBundleDescriptor: [descriptor(runner.url, "counting")] },
      });
      // b1 stops in the middle; b2 starts and finishes meanwhile (a shared instance would renumber b1's rest).
      const b1 = runner.instruct({ instructionId: "b1", processBundle: { processBundleDescriptorId: "counting" } });
      await runner.sendInput("b1", ["a", "wait", "c"]);
      while (worker.activeBundles === 0) await new Promise((r) => setTimeout(r, 5));
      const b2 = runner.instruct({ instructionId: "b2", processBundle: { processBundleDescriptorId: "counting" } });
      await runner.sendInput("b2", ["p", "q", "r"]);
      assert.is((await b2).error, "");
      releaseCounting();
      assert.is((await b1).error, "");
      assert.equal(await runner.output("b2"), ["p#1", "q#2", "r#3"]);
      assert.equal(await runner.output("b1"), ["a#1", "wait#2", "c#3"]);
      assert.is(CountingDoFn.instances, 2, "one instance per concurrent bundle");
      const b3 = runner.instruct({ instructionId: "b3", processBundle: { processBundleDescriptorId: "counting" } });
      await runner.sendInput("b3", ["x"]);
      assert.is((await b3).error, "");
      assert.equal(await runner.output("b3"), ["x#1"]);
      assert.is(CountingDoFn.instances, 2, "a finished bundle's processor (and its instances) serves the next bundle");
    } finally {
      runner.closeControl();
      await running;
      runner.server.forceShutdown();
    }
  },
);

s.test("bundles are finalized when the runner asks, never older after newer, not once the worker drains", async () => {
  const runner = new ScriptedRunner();
  await runner.start();
  const worker = new SdkWorker({
    id: "w2",
    controlUrl: runner.url,
    dofns: { committing: () => committing },
    logger: quietLogger(),
  });
  const running = worker.run();
  try {
    await runner.workerConnected;
    await runner.instruct({
      instructionId: "r1",
      register: { processBundleDescriptor: [descriptor(runner.url, "committing")] },
    });
    for (const id of ["b1", "b2", "b3", "b4"]) {
      const done = runner.instruct({ instructionId: id, processBundle: { processBundleDescriptorId: "committing" } });
      await runner.sendInput(id, [`${id}-a`, `${id}-b`]);
      assert.is((await done).processBundle?.requiresFinalization, true);
    }
    assert.is((await runner.instruct({ instructionId: "f1", finalizeBundle: { instructionId: "b1" } })).error, "");
    assert.equal(finalized, ["b1-a", "b1-b"]);
    // b3 finished after b2: once b3's callbacks ran, b2's (same key, older) are skipped.
    assert.is((await runner.instruct({ instructionId: "f3", finalizeBundle: { instructionId: "b3" } })).error, "");
    assert.is((await runner.instruct({ instructionId: "f2", finalizeBundle: { instructionId: "b2" } })).error, "");
    assert.equal(finalized, ["b1-a", "b1-b", "b3-a", "b3-b"]);
    worker.drain(1000);
    assert.is((await runner.instruct({ instructionId: "f4", finalizeBundle: { instructionId: "b4" } })).error, "");
    assert.equal(finalized, ["b1-a", "b1-b", "b3-a", "b3-b"], "a draining worker runs no finalization callback");
  } finally {
    runner.closeControl();
    await running;
    runner.server.forceShutdown();
  }
});

s.run();
