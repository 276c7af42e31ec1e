// `serve`'s HTTP face and its gRPC servers, from outside the process: /healthz, /readyz, /transforms (exact URNs and
// fields), /metrics (names, and counts after expansions and worker pool calls), TLS on the gRPC servers.
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "../harness.js";
import { externalPayload as payload } from "../infra/expansion-payload.js";
import { kafkaTransformDefinitions, TransformRegistry } from "../../src/expansion/index.js";
import { kafkaSchemaTransformDefinitions, SCHEMA_TRANSFORM_PAYLOAD_URN } from "../../src/expansion/index.js";
import { BEAM_KAFKA_URNS, KBT_TRANSFORM_URNS } from "../../src/model/kbt-urns.js";
import { map, array, nullable } from "../../src/model/schema.js";
import { grpcServiceDefinition, type expansionApi } from "../../src/model/proto/index.js";
import {
  grpcClient,
  metricValue,
  runCli,
  startServeProcess,
  unaryCall,
  type ServeProcess,
} from "./service-fixtures.js";

const s = suite("service: HTTP and gRPC servers", { timeoutMs: 60_000 });
let service: ServeProcess;
let scratch = "";

s.before(async () => {
  scratch = mkdtempSync(join(tmpdir(), "kbt-http-"));
  service = await startServeProcess(["--log-level", "debug"]);
});
s.after(async () => {
  await service?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const BYTES = "org.apache.kafka.common.serialization.ByteArrayDeserializer";
const readPayload = payload(
  {
    consumer_config: map("string", "string"),
    topics: array("string"),
    key_deserializer: "string",
    value_deserializer: "string",
    max_num_records: nullable("int64"),
  },
  {
    consumer_config: new Map([
      ["bootstrap.servers", "127.0.0.1:9092"],
      ["sasl.jaas.config", "secret-jaas-text"],
    ]),
    topics: ["events"],
    key_deserializer: BYTES,
    value_deserializer: BYTES,
    max_num_records: 10n,
  },
);
const badPayload = payload({ topics: array("string") }, { topics: ["events"] });

function expansionRequest(urn: string, bytes: Uint8Array): expansionApi.IExpansionRequest {
  return { namespace: "ns1", transform: { uniqueName: "Read", spec: { urn, payload: bytes } }, components: {} };
}

s.test("/healthz answers 200 ok; /readyz 200 with both gRPC servers accepting", async () => {
  const health = await service.get("/healthz");
  assert.is(health.status, 200);
  assert.equal(JSON.parse(health.body), { status: "ok" });
  const ready = await service.get("/readyz");
  assert.is(ready.status, 200);
  assert.equal(JSON.parse(ready.body), { status: "ready", checks: { expansion: "ok", workerPool: "ok" } });
  const missing = await service.get("/nope");
  assert.is(missing.status, 404);
  assert.match(missing.body, /no route GET \/nope/);
});

s.test("/transforms lists exactly the served URNs with their payload fields, and the SchemaTransforms", async () => {
  const response = await service.get("/transforms");
  assert.is(response.status, 200);
  assert.match(response.contentType, /^application\/json/);
  const listing = JSON.parse(response.body) as {
    environment: string;
    schemaTransformPayloadUrn: string;
    transforms: {
      urn: string;
      name: string;
      fields: {
        name: string;
        type: string;
        required: boolean;
        description?: string;
        onlyValue?: unknown;
        refused?: string;
      }[];
    }[];
    schemaTransforms: {
      identifier: string;
      fields: { name: string; type: string; required: boolean }[];
      inputs: string[];
      outputs: string[];
    }[];
  };
  assert.is(listing.environment, "process");
  const expected = [...Object.values(KBT_TRANSFORM_URNS), ...Object.values(BEAM_KAFKA_URNS)].sort();
  assert.equal(
    listing.transforms.map((t) => t.urn),
    expected,
  );
  assert.equal(
    listing.transforms.map((t) => t.urn),
    new TransformRegistry(kafkaTransformDefinitions()).urns,
  );
  const beamRead = listing.transforms.find((t) => t.urn === BEAM_KAFKA_URNS.READ_WITH_METADATA)!;
  assert.equal(beamRead.fields.map((f) => f.name).slice(0, 16), [
    "consumer_config",
    "topics",
    "key_deserializer",
    "value_deserializer",
    "start_read_time",
    "max_num_records",
    "max_read_time",
    "commit_offset_in_finalize",
    "timestamp_policy",
    "consumer_polling_timeout",
    "redistribute",
    "redistribute_num_keys",
    "allow_duplicates",
    "dynamic_read_poll_interval_seconds",
    "consumer_factory_fn_class",
    "consumer_factory_fn_params",
  ]);
  assert.equal(beamRead.fields[0], {
    name: "consumer_config",
    type: "string_map",
    required: true,
    description: "Kafka consumer config (bootstrap.servers, group.id, ...)",
  });
  assert.match(beamRead.fields.find((f) => f.name === "redistribute_num_keys")!.description!, /\(0: 1024\)/);
  assert.match(beamRead.fields.find((f) => f.name === "consumer_factory_fn_class")!.refused!, /Java class/);
  const write = listing.transforms.find((t) => t.urn === BEAM_KAFKA_URNS.WRITE)!;
  assert.equal(
    write.fields.filter((f) => f.required).map((f) => f.name),
    ["producer_config", "topic"],
  );
  assert.is(listing.schemaTransformPayloadUrn, SCHEMA_TRANSFORM_PAYLOAD_URN);
  assert.equal(
    listing.schemaTransforms.map((t) => t.identifier),
    kafkaSchemaTransformDefinitions().map((d) => d.identifier),
  );
  assert.ok(
    listing.schemaTransforms.map((t) => t.identifier).includes("beam:schematransform:org.apache.beam:kafka_read:v1"),
  );
  assert.ok(listing.schemaTransforms.map((t) => t.identifier).includes("beam:transform:managed:v1"));
});

s.test("/metrics: Prometheus text with every metric name; Expand calls counted by URN and outcome", async () => {
  const client = grpcClient("org.apache.beam.model.expansion.v1.ExpansionService", service.expansion);
  try {
    const ok = await unaryCall<expansionApi.IExpansionResponse>(
      client,
      "Expand",
      expansionRequest(BEAM_KAFKA_URNS.READ_WITHOUT_METADATA, readPayload),
    );
    assert.ok(Object.keys(ok.transform?.outputs ?? {}).length > 0, "expanded");
    await unaryCall(client, "Expand", expansionRequest(BEAM_KAFKA_URNS.READ_WITHOUT_METADATA, readPayload));
    const invalid = await unaryCall(
      client,
      "Expand",
      expansionRequest(BEAM_KAFKA_URNS.READ_WITHOUT_METADATA, badPayload),
    ).catch((e: grpc.ServiceError) => e);
    assert.is((invalid as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
    const unknown = await unaryCall(client, "Expand", expansionRequest("beam:transform:nope:v1", readPayload)).catch(
      (e: grpc.ServiceError) => e,
    );
    assert.is((unknown as grpc.ServiceError).code, grpc.status.UNIMPLEMENTED);
  } finally {
    client.close();
  }
  const metrics = await service.get("/metrics");
  assert.is(metrics.status, 200);
  assert.is(metrics.contentType, "text/plain; version=0.0.4; charset=utf-8");
  const text = metrics.body;
  for (const name of [
    "kbt_build_info",
    "kbt_ready",
    "kbt_expansions_total",
    "kbt_expansion_duration_seconds",
    "kbt_worker_starts_total",
    "kbt_worker_stops_total",
    "kbt_workers_active",
    "kbt_bundles_total",
    "kbt_bundles_active",
    "kbt_kafka_records_read_total",
    "kbt_kafka_bytes_read_total",
    "kbt_kafka_records_written_total",
    "kbt_kafka_bytes_written_total",
    "kbt_errors_total",
    "kbt_http_requests_total",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
    "nodejs_heap_used_bytes",
  ]) {
    assert.match(text, new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, "m"), name);
  }
  const urn = BEAM_KAFKA_URNS.READ_WITHOUT_METADATA;
  assert.is(metricValue(text, "kbt_expansions_total", { urn, outcome: "ok" }), 2);
  assert.is(metricValue(text, "kbt_expansions_total", { urn, outcome: "INVALID_ARGUMENT" }), 1);
  assert.is(metricValue(text, "kbt_expansions_total", { urn: "unknown", outcome: "UNIMPLEMENTED" }), 1);
  assert.is(metricValue(text, "kbt_expansion_duration_seconds_count", { urn }), 3);
  assert.is(metricValue(text, "kbt_expansion_duration_seconds_bucket", { urn, le: "+Inf" }), 3);
  assert.is(metricValue(text, "kbt_errors_total", { kind: "expansion" }), 2);
  assert.is(metricValue(text, "kbt_ready"), 1);
  assert.is(metricValue(text, "kbt_workers_active"), 0);
  assert.ok(metricValue(text, "kbt_http_requests_total", { route: "/healthz", status: "200" })! >= 1);
  // Expansions are logged by URN and outcome; config values (the JAAS text) never.
  assert.match(
    service.output(),
    /"msg":"expand","urn":"beam:transform:org.apache.beam:kafka_read_without_metadata:v1","outcome":"ok"/,
  );
  assert.match(
    service.output(),
    /"level":"warn","msg":"expand".*"outcome":"INVALID_ARGUMENT","ms":[\d.]+,"error":"[^"]*consumer_config/,
  );
  assert.not.match(service.output(), /secret-jaas-text/);
});

/** A fake runner's control service: records the workers that connect and when their streams end. */
function fakeControl(): Promise<{ url: string; connected: string[]; ended: string[]; close(): void }> {
  const connected: string[] = [];
  const ended: string[] = [];
  const server = new grpc.Server();
  server.addService(grpcServiceDefinition("org.apache.beam.model.fn_execution.v1.BeamFnControl"), {
    Control(call: grpc.ServerDuplexStream<unknown, unknown>) {
      const id = String(call.metadata.get("worker_id")[0] ?? "");
      connected.push(id);
      call.on("data", () => undefined);
      call.on("end", () => {
        ended.push(id);
        call.end();
      });
      call.on("error", () => {
        if (!ended.includes(id)) ended.push(id);
      });
      call.on("cancelled", () => {
        if (!ended.includes(id)) ended.push(id);
      });
    },
    GetProcessBundleDescriptor(_call: unknown, callback: grpc.sendUnaryData<unknown>) {
      callback({ code: grpc.status.NOT_FOUND, details: "no descriptors here" });
    },
  });
  return new Promise((done, fail) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err) return fail(err);
      done({ url: `127.0.0.1:${port}`, connected, ended, close: () => server.forceShutdown() });
    }),
  );
}

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

s.test(
  "worker pool: StartWorker connects a worker to the runner's control endpoint, StopWorker ends it; counted",
  async () => {
    const control = await fakeControl();
    const pool = grpcClient("org.apache.beam.model.fn_execution.v1.BeamFnExternalWorkerPool", service.workerPool);
    try {
      const started = await unaryCall<{ error?: string }>(pool, "StartWorker", {
        workerId: "w1",
        controlEndpoint: { url: control.url },
      });
      assert.is(started.error ?? "", "");
      await until("w1 on the control stream", () => control.connected.includes("w1"));
      const again = await unaryCall<{ error?: string }>(pool, "StartWorker", {
        workerId: "w1",
        controlEndpoint: { url: control.url },
      });
      assert.match(again.error ?? "", /already running/);
      const noControl = await unaryCall<{ error?: string }>(pool, "StartWorker", { workerId: "w2" });
      assert.match(noControl.error ?? "", /control_endpoint is required/);
      let text = (await service.get("/metrics")).body;
      assert.is(metricValue(text, "kbt_workers_active"), 1);
      assert.is(metricValue(text, "kbt_worker_starts_total", { outcome: "ok" }), 1);
      assert.is(metricValue(text, "kbt_worker_starts_total", { outcome: "error" }), 2);
      assert.is(metricValue(text, "kbt_errors_total", { kind: "worker_pool" }), 2);
      const stopped = await unaryCall<{ error?: string }>(pool, "StopWorker", { workerId: "w1" });
      assert.is(stopped.error ?? "", "");
      await until("w1's control stream to end", () => control.ended.includes("w1"));
      text = (await service.get("/metrics")).body;
      assert.is(metricValue(text, "kbt_workers_active"), 0);
      assert.is(metricValue(text, "kbt_worker_stops_total"), 1);
      assert.match(service.output(), /"msg":"worker started","workerId":"w1"/);
      assert.match(service.output(), /"msg":"worker stopped","workerId":"w1"/);
    } finally {
      pool.close();
      control.close();
    }
  },
);

s.test(
  "SIGTERM with workers connected: they are stopped, the runner sees their streams end, exit 0 in bounded time",
  async () => {
    const own = await startServeProcess(["--shutdown-timeout-ms", "4000"]);
    const control = await fakeControl();
    const pool = grpcClient("org.apache.beam.model.fn_execution.v1.BeamFnExternalWorkerPool", own.workerPool);
    try {
      for (const id of ["a", "b", "c"])
        await unaryCall(pool, "StartWorker", { workerId: id, controlEndpoint: { url: control.url } });
      await until("3 workers on the control stream", () => control.connected.length === 3);
      assert.is(metricValue((await own.get("/metrics")).body, "kbt_workers_active"), 3);
      const t0 = Date.now();
      own.signal("SIGTERM");
      assert.is(await own.exited, 0, own.output());
      assert.ok(Date.now() - t0 < 4_000, `exited after ${Date.now() - t0} ms`);
      await until("every control stream to end", () => ["a", "b", "c"].every((id) => control.ended.includes(id)));
      assert.match(
        own.output(),
        /"msg":"shutting down","reason":"SIGTERM","timeoutMs":4000,"workers":3,"activeBundles":0/,
      );
      // After the shutdown began, nothing is accepted: the pool's port is closed.
      const late = await unaryCall(pool, "StartWorker", { workerId: "d", controlEndpoint: { url: control.url } }).catch(
        (e: grpc.ServiceError) => e,
      );
      assert.instance(late, Error);
    } finally {
      pool.close();
      control.close();
      await own.stop();
    }
  },
);

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: "ignore" });
}

s.test(
  "TLS: both gRPC servers speak TLS with --tls-cert/--tls-key; plaintext clients are refused; a wrong key is exit 2",
  async () => {
    const cert = join(scratch, "cert.pem");
    const key = join(scratch, "key.pem");
    const otherKey = join(scratch, "other.pem");
    openssl([
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout",
      key,
      "-out",
      cert,
    ]);
    openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", otherKey]);

    const mismatch = await runCli(["serve", "--tls-cert", cert, "--tls-key", otherKey]);
    assert.is(mismatch.code, 2);
    assert.match(
      mismatch.stderr,
      /^kafka-beam-ts serve: --tls-key=".*other\.pem": does not match the certificate in .*cert\.pem \(see/,
    );

    const tls = await startServeProcess(["--tls-cert", cert, "--tls-key", key]);
    try {
      assert.equal(tls.serving.tls, { cert, key });
      const credentials = grpc.credentials.createSsl(readFileSync(cert));
      const secure = grpcClient("org.apache.beam.model.expansion.v1.ExpansionService", tls.expansion, credentials, {
        "grpc.ssl_target_name_override": "localhost",
      });
      const discovered = await unaryCall<expansionApi.IDiscoverSchemaTransformResponse>(
        secure,
        "DiscoverSchemaTransform",
        {},
      );
      assert.ok(Object.keys(discovered.schemaTransformConfigs ?? {}).length > 0);
      secure.close();
      const securePool = grpcClient(
        "org.apache.beam.model.fn_execution.v1.BeamFnExternalWorkerPool",
        tls.workerPool,
        credentials,
        { "grpc.ssl_target_name_override": "localhost" },
      );
      const stopped = await unaryCall<{ error?: string }>(securePool, "StopWorker", { workerId: "none" });
      assert.is(stopped.error ?? "", "");
      securePool.close();
      const plain = grpcClient(
        "org.apache.beam.model.expansion.v1.ExpansionService",
        tls.expansion,
        grpc.credentials.createInsecure(),
        {},
      );
      const refused = await unaryCall(plain, "DiscoverSchemaTransform", {}).catch((e: grpc.ServiceError) => e);
      assert.instance(refused, Error);
      assert.is((refused as grpc.ServiceError).code, grpc.status.UNAVAILABLE);
      plain.close();
      assert.is((await tls.get("/readyz")).status, 200);
    } finally {
      await tls.stop();
    }
  },
);

s.run();
