// Expand latency under load: 50 concurrent callers send Python's ReadFromKafka request (the payload Beam's SDK
// builds) to our ExpansionService over gRPC on loopback; prints p50/p99/max. By default the service is `serve` in its
// own process, as users run it (the callers are another process too); `--server in-process` shares one event loop.
// `--client go` measures with bench/expansion-load (Go's gRPC client), which costs the shared cores the least.
//   npx tsc -p . && node dist/bench/expansion.js [--requests 5000] [--concurrency 50] [--server process|in-process|HOST:PORT]
//     [--client grpc|http2|go] [--connections 1] [--warmup 5000] [--rounds 3]   (the last three: go client only)
import * as grpc from "@grpc/grpc-js";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { addExpansionService, kafkaTransformDefinitions, TransformRegistry } from "../src/expansion/index.js";
import { expansionApi, grpcServiceDefinition } from "../src/model/proto/index.js";
import { array, map, nullable } from "../src/model/schema.js";
import { startServe } from "../test/infra/service.js";
import { externalPayload } from "../test/infra/expansion-payload.js";
import { flag, numberFlag } from "./common.js";

const total = numberFlag("requests", 5000);
const concurrency = numberFlag("concurrency", 50);
const serverMode = flag("server", "process");
const clientMode = flag("client", "grpc");
// Go client only (the Node clients warm up with 200 sequential calls and measure once):
const connections = numberFlag("connections", 1);
const warmup = numberFlag("warmup", 5000);
const rounds = numberFlag("rounds", 3);

const bytesDeserializer = "org.apache.kafka.common.serialization.ByteArrayDeserializer";
const payload = externalPayload(
  {
    consumer_config: map("string", "string"),
    topics: array("string"),
    key_deserializer: "string",
    value_deserializer: "string",
    max_num_records: nullable("int64"),
    commit_offset_in_finalize: "boolean",
    timestamp_policy: "string",
  },
  {
    consumer_config: new Map([["bootstrap.servers", "127.0.0.1:9092"]]),
    topics: ["events"],
    key_deserializer: bytesDeserializer,
    value_deserializer: bytesDeserializer,
    max_num_records: 1000n,
    commit_offset_in_finalize: false,
    timestamp_policy: "ProcessingTime",
  },
);

async function startServer(): Promise<{ address: string; stop(): Promise<void> }> {
  if (serverMode.includes(":")) return { address: serverMode, stop: async () => undefined }; // a running service
  if (serverMode === "process") {
    const served = await startServe(); // default log level: one JSON line per Expand, as in production
    return { address: served.expansionAddress, stop: served.stop };
  }
  const server = new grpc.Server();
  addExpansionService(server, {
    registry: new TransformRegistry(kafkaTransformDefinitions()),
    environment: { kind: "process", command: "/bin/true" },
  });
  const port = await new Promise<number>((done, fail) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : done(p))),
  );
  return { address: `127.0.0.1:${port}`, stop: async () => server.forceShutdown() };
}

/** One caller: `expand(i)` resolves with the call's latency in ms. */
interface Caller {
  expand(i: number): Promise<number>;
  close(): void;
}

function request(i: number): expansionApi.IExpansionRequest {
  return {
    namespace: `external_${i}`,
    transform: {
      uniqueName: "ReadFromKafka",
      spec: { urn: "beam:transform:org.apache.beam:kafka_read_without_metadata:v1", payload },
    },
  };
}

function grpcCaller(address: string): Caller {
  const Client = grpc.makeGenericClientConstructor(
    grpcServiceDefinition("org.apache.beam.model.expansion.v1.ExpansionService"),
    "ExpansionService",
  );
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as {
    Expand(r: expansionApi.IExpansionRequest, cb: (e: Error | null) => void): void;
    close(): void;
  };
  return {
    expand: (i) => {
      const t0 = performance.now();
      return new Promise((done, fail) =>
        client.Expand(request(i), (err) => (err ? fail(err) : done(performance.now() - t0))),
      );
    },
    close: () => client.close(),
  };
}

/**
 * The same calls as raw HTTP/2 gRPC frames (a pre-encoded request, the grpc-status trailer checked): a lighter load
 * generator than grpc-js's client, which on 2 cores otherwise takes more CPU than the service it measures.
 */
function http2Caller(address: string): Caller {
  const session = http2.connect(`http://${address}`);
  const frame = (i: number) => {
    const body = expansionApi.ExpansionRequest.encode(request(i)).finish();
    const out = Buffer.alloc(5 + body.length);
    out.writeUInt32BE(body.length, 1);
    out.set(body, 5);
    return out;
  };
  return {
    expand: (i) => {
      const t0 = performance.now();
      return new Promise((done, fail) => {
        const stream = session.request({
          ":method": "POST",
          ":path": "/org.apache.beam.model.expansion.v1.ExpansionService/Expand",
          "content-type": "application/grpc",
          te: "trailers",
        });
        let status: string | undefined;
        stream.on("trailers", (t) => {
          status = String(t["grpc-status"]);
        });
        stream.on("data", () => undefined);
        stream.on("end", () =>
          status === "0" ? done(performance.now() - t0) : fail(new Error(`grpc-status ${status}`)),
        );
        stream.on("error", fail);
        stream.end(frame(i));
      });
    },
    close: () => session.close(),
  };
}

const execFileAsync = promisify(execFile);

/** Builds and runs the Go load generator (a full-concurrency warm-up, then `rounds` measured rounds). */
async function goLoad(address: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "kbt-expansion-load-"));
  try {
    const binary = join(dir, "expansion-load");
    execFileSync("go", ["build", "-o", binary, "."], {
      cwd: new URL("../../bench/expansion-load/", import.meta.url),
      stdio: "inherit",
    });
    writeFileSync(join(dir, "request.bin"), expansionApi.ExpansionRequest.encode(request(0)).finish());
    const { stdout } = await execFileAsync(binary, [
      "--address",
      address,
      "--request",
      join(dir, "request.bin"),
      "--requests",
      String(total),
      "--concurrency",
      String(concurrency),
      "--connections",
      String(connections),
      "--warmup",
      String(warmup),
      "--rounds",
      String(rounds),
    ]);
    return stdout
      .trim()
      .split("\n")
      .map((line) => {
        const r = JSON.parse(line) as Record<string, number>;
        return `round ${r.round}: p50 ${r.p50!.toFixed(2)} ms, p90 ${r.p90!.toFixed(2)} ms, p99 ${r.p99!.toFixed(2)} ms, max ${r.max!.toFixed(2)} ms, ${r.rps!.toFixed(0)} req/s (first call ${r.firstCall!.toFixed(1)} ms)`;
      });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const server = await startServer();
if (clientMode === "go") {
  console.log(
    `${total} Expand calls per round, ${concurrency} concurrent on ${connections} connection(s), after ${warmup} warm-up calls (${serverMode} server, go client, Node ${process.version}):`,
  );
  for (const line of await goLoad(server.address)) console.log(`  ${line}`);
  await server.stop();
  process.exit(0);
}
const caller = clientMode === "http2" ? http2Caller(server.address) : grpcCaller(server.address);
const expandOnce = (i: number) => caller.expand(i);

for (let i = 0; i < 200; i++) await expandOnce(i); // warm-up
const latencies: number[] = [];
let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < total) latencies.push(await expandOnce(next++));
  }),
);
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(2);
console.log(
  `${total} Expand calls, ${concurrency} concurrent (${serverMode} server, ${clientMode} client): p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${latencies.at(-1)!.toFixed(2)} ms, ${(total / seconds).toFixed(0)} req/s (Node ${process.version})`,
);
caller.close();
await server.stop();
