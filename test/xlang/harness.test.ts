// Our Fn API worker under a real runner, independent of Kafka: a counter SDF that checkpoints every 100 offsets,
// expanded by an in-process expansion service and run by an in-process worker pool (external environment), driven
// by Prism for a real Python pipeline. Proves residual roots, re-scheduling and the worker pool path.
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import { suite } from "../harness.js";
import { runPython, lastJsonLine } from "../infra/python.js";
import { startPrism, type Prism } from "../infra/prism.js";
import { addExpansionService, TransformRegistry, type TransformDefinition } from "../../src/expansion/index.js";
import { parDoSpec } from "../../src/expansion/components.js";
import { addWorkerPoolService, WorkerPool } from "../../src/harness/index.js";
import { doFnSpec } from "../../src/model/dofn-payload.js";
import { bytesCoder, varIntCoder, kvCoder, type Coder } from "../../src/model/coders/index.js";
import { urns } from "../../src/model/proto/index.js";
import { CounterSdf } from "../unit/sdf-fixtures.js";

const counter: TransformDefinition = {
  name: "test counter",
  urns: ["kafka-beam-ts:test:counter:v1"],
  fields: [{ name: "count", kind: "int", required: true }],
  expand(values, ctx) {
    const b = ctx.builder;
    const count = values.get("count") as bigint;
    const impulseOut = b.pcollection("impulse.out", { coder: bytesCoder, bounded: true });
    const out = b.pcollection("counter.out", { coder: varIntCoder, bounded: true });
    const impulse = b.transform(b.id("Impulse"), {
      uniqueName: `${ctx.uniqueName}/Impulse`,
      spec: { urn: urns.StandardPTransforms.Primitives.IMPULSE },
      outputs: { out: impulseOut },
      environment: false,
    });
    const sdf = b.transform(b.id("Counter"), {
      uniqueName: `${ctx.uniqueName}/Counter`,
      spec: parDoSpec({
        doFn: doFnSpec({ fn: "test_counter", count: count.toString() }),
        restrictionCoderId: b.coderId(kvCoder(kvCoder(varIntCoder, varIntCoder), varIntCoder) as Coder<unknown>),
      }),
      inputs: { in: impulseOut },
      outputs: { out },
    });
    b.requirements.add(urns.StandardRequirements.Enum.REQUIRES_SPLITTABLE_DOFN);
    return { outputs: { out }, subtransforms: [impulse, sdf] };
  },
};

const s = suite("xlang harness (counter SDF on Prism via our worker pool)", { timeoutMs: 180_000 });
let prism: Prism;
let server: grpc.Server;
let pool: WorkerPool;
let expansionAddress = "";

function bind(address: string): Promise<number> {
  return new Promise((done, fail) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : done(p))),
  );
}

s.before(async () => {
  prism = await startPrism();
  server = new grpc.Server();
  pool = new WorkerPool({
    test_counter: (payload) => new CounterSdf({ total: BigInt(payload.count as string), perCall: 100 }),
  });
  addWorkerPoolService(server, pool);
  const poolPort = await bind("127.0.0.1:0");
  addExpansionService(server, {
    registry: new TransformRegistry([counter]),
    environment: { kind: "external", address: `127.0.0.1:${poolPort}` },
  });
  expansionAddress = `127.0.0.1:${poolPort}`;
});

s.after(async () => {
  await pool?.stopAll();
  await new Promise<void>((done) => (server ? server.tryShutdown(() => done()) : done()));
  await prism?.stop();
});

s.test("a checkpointing SDF emits every offset exactly once through Prism", async () => {
  const result = await runPython(
    "counter_pipeline.py",
    ["--expansion", expansionAddress, "--job-endpoint", prism.jobEndpoint, "--count", "1000"],
    150_000,
  );
  let out: { values: number[] };
  try {
    out = lastJsonLine<{ values: number[] }>(result);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- prism ---\n${prism.output().slice(-5000)}`);
  }
  assert.is(out.values.length, 1000);
  assert.equal(
    out.values,
    Array.from({ length: 1000 }, (_, i) => i),
  );
});

s.run();
