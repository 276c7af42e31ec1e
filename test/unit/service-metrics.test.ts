// The service's metrics registry (Prometheus text format) and its feed from the Kafka DoFns' counters; the CLI's
// config parsing into frozen objects (flag over variable, defaults, messages naming the flag).
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { MetricsRegistry, serviceMetrics } from "../../service/metrics.js";
import { recordKafkaCounters } from "../../service/serve.js";
import { ConfigError, parseDemoConfig, parseHealthcheckConfig, parseServeConfig } from "../../service/config.js";

const s = suite("service: metrics and config");

s.test("counters, gauges and histograms render as Prometheus text, labels escaped", () => {
  const registry = new MetricsRegistry();
  const requests = registry.counter("t_requests_total", "Requests\nby path", ["path"]);
  requests.inc({ path: '/a"b\\c' });
  requests.inc({ path: '/a"b\\c' }, 2);
  registry.gauge("t_up", "Up", [], () => 1);
  const latency = registry.histogram("t_seconds", "Latency", ["op"], [0.1, 1]);
  latency.observe({ op: "x" }, 0.05);
  latency.observe({ op: "x" }, 0.5);
  latency.observe({ op: "x" }, 3);
  assert.is(
    registry.render(),
    [
      "# HELP t_requests_total Requests\\nby path",
      "# TYPE t_requests_total counter",
      't_requests_total{path="/a\\"b\\\\c"} 3',
      "# HELP t_up Up",
      "# TYPE t_up gauge",
      "t_up 1",
      "# HELP t_seconds Latency",
      "# TYPE t_seconds histogram",
      't_seconds_bucket{op="x",le="0.1"} 1',
      't_seconds_bucket{op="x",le="1"} 2',
      't_seconds_bucket{op="x",le="+Inf"} 3',
      't_seconds_sum{op="x"} 3.55',
      't_seconds_count{op="x"} 3',
      "",
    ].join("\n"),
  );
  assert.throws(() => requests.inc({ route: "/" }), /labels \["route"\] do not match \["path"\]/);
  assert.throws(() => requests.inc({ path: "/" }, -1), /cannot decrease/);
  assert.throws(() => registry.counter("t_up", "again"), /registered twice/);
});

s.test("the Kafka DoFns' per-topic counters feed kbt_kafka_*_total by topic; other counters are ignored", () => {
  const registry = new MetricsRegistry();
  const metrics = serviceMetrics(
    registry,
    { workersActive: () => 2, bundlesActive: () => 1, ready: () => true },
    "9.9.9",
  );
  recordKafkaCounters(metrics, {
    "records_read/events": 10,
    "bytes_read/events": 1000,
    "records_written/out": 4,
    "bytes_written/out": 40,
    "mystery/x": 5,
    records_read: 3,
    "fetches/events": 7,
    "fetch_wait_ms/events": 1500,
    "partition_records_read/events/3": 6,
  });
  recordKafkaCounters(metrics, { "records_read/events": 5 });
  const text = registry.render();
  for (const line of [
    'kbt_kafka_records_read_total{topic="events"} 15',
    'kbt_kafka_bytes_read_total{topic="events"} 1000',
    'kbt_kafka_records_written_total{topic="out"} 4',
    'kbt_kafka_fetches_total{topic="events"} 7',
    'kbt_kafka_fetch_wait_seconds_total{topic="events"} 1.5',
    'kbt_kafka_partition_records_read_total{topic="events",partition="3"} 6',
    'kbt_kafka_bytes_written_total{topic="out"} 40',
    "kbt_workers_active 2",
    "kbt_bundles_active 1",
    "kbt_ready 1",
    'kbt_build_info{version="9.9.9",node_version="',
  ]) {
    assert.ok(text.includes(line), line);
  }
  assert.not.ok(text.includes("mystery"));
  assert.not.ok(text.includes("kbt_kafka_backlog_records{"), "no partition gauges without reads");
  assert.match(text, /^process_cpu_seconds_total [\d.e-]+$/m);
});

s.test("serve config: defaults, flags over variables, frozen; errors name the flag or variable", () => {
  const defaults = parseServeConfig([], {});
  assert.equal(
    { ...defaults, environment: { ...defaults.environment } },
    {
      host: "127.0.0.1",
      expansionPort: 8097,
      workerPoolPort: 50000,
      httpPort: 8080,
      environment: { kind: "process" },
      tls: undefined,
      shutdownTimeoutMs: 10_000,
      logLevel: "info",
      parentPid: undefined,
      literalSecrets: "seal",
      secretsKeyFile: undefined,
    },
  );
  assert.ok(Object.isFrozen(defaults));
  assert.is(parseServeConfig(["--literal-secrets", "refuse"], {}).literalSecrets, "refuse");
  assert.throws(
    () => parseServeConfig([], { KBT_LITERAL_SECRETS: "hide" }),
    /^KBT_LITERAL_SECRETS="hide": expected one of seal, refuse, pass/,
  );
  assert.throws(
    () => parseServeConfig(["--secrets-key-file", "/nonexistent/key"], {}),
    /^--secrets-key-file="\/nonexistent\/key": cannot read the file \(ENOENT\)/,
  );
  assert.is(parseServeConfig(["--parent-pid", "4242"], {}).parentPid, 4242);
  assert.is(parseServeConfig([], { KBT_PARENT_PID: "17" }).parentPid, 17);
  assert.throws(() => parseServeConfig(["--parent-pid", "zero"], {}), /--parent-pid/);
  const config = parseServeConfig(["--expansion-port=0", "--environment", "external", "--host", "::"], {
    KBT_EXPANSION_PORT: "1",
    KBT_HTTP_PORT: "9090",
    KBT_LOG_LEVEL: "",
    KBT_EXTERNAL_ADDRESS: "pool.local:50001",
  });
  assert.is(config.expansionPort, 0);
  assert.is(config.httpPort, 9090);
  assert.is(config.host, "::");
  assert.is(config.logLevel, "info");
  assert.equal({ ...config.environment }, { kind: "external", address: "pool.local:50001" });
  const docker = parseServeConfig(["--environment=docker"], { KBT_DOCKER_IMAGE: "ghcr.io/x/kafka-beam-ts:1" });
  assert.equal({ ...docker.environment }, { kind: "docker", image: "ghcr.io/x/kafka-beam-ts:1" });
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [["--worker-pool-port", "x"], {}, /^--worker-pool-port="x": expected a port number/],
    [[], { KBT_WORKER_POOL_PORT: "65536" }, /^KBT_WORKER_POOL_PORT="65536": expected a port number/],
    [["--http-port", "50000"], {}, /^--http-port and --worker-pool-port are both 50000/],
  ];
  for (const [args, env, pattern] of cases) {
    assert.throws(
      () => parseServeConfig(args, env),
      (err: unknown) => err instanceof ConfigError && pattern.test(err.message),
    );
  }
  // --external-address is a serve flag, accepted (and checked) even when the environment is not external.
  assert.is(parseServeConfig(["--external-address", "a:1"], {}).environment.kind, "process");
});

s.test("demo and healthcheck config", () => {
  assert.equal(
    { ...parseDemoConfig([], {}) },
    {
      bootstrap: undefined,
      runner: "local",
      jobEndpoint: undefined,
      records: 100_000,
      partitions: 4,
      logLevel: "info",
    },
  );
  assert.equal(
    [
      parseDemoConfig(["--runner", "prism"], {}).runner,
      parseDemoConfig([], { KBT_DEMO_RUNNER: "flink", KBT_JOB_ENDPOINT: "jm:8099" }).jobEndpoint,
    ],
    ["prism", "jm:8099"],
  );
  assert.throws(() => parseDemoConfig(["--runner", "portable"], {}), /--runner portable needs --job-endpoint/);
  assert.throws(
    () => parseDemoConfig(["--job-endpoint", "h:1"], {}),
    /--job-endpoint="h:1": is for --runner prism, flink or portable/,
  );
  assert.throws(
    () => parseDemoConfig(["--runner", "spark"], {}),
    /--runner="spark": expected one of local, prism, flink, portable/,
  );
  assert.is(parseDemoConfig(["--bootstrap", "a:9092,[::1]:9093"], {}).bootstrap, "a:9092,[::1]:9093");
  assert.throws(() => parseDemoConfig(["--bootstrap", "a:9092,b"], {}), /--bootstrap="a:9092,b": expected HOST:PORT/);
  assert.is(
    parseHealthcheckConfig([], { KBT_HOST: "0.0.0.0", KBT_HTTP_PORT: "8081" }).url,
    "http://127.0.0.1:8081/healthz",
  );
  assert.is(parseHealthcheckConfig(["--host", "::"], {}).url, "http://[::1]:8080/healthz");
});

s.test("partition reads become backlog and watermark-lag gauges (no lag before a first watermark)", () => {
  const registry = new MetricsRegistry();
  const now = Date.now();
  serviceMetrics(
    registry,
    {
      workersActive: () => 0,
      bundlesActive: () => 0,
      ready: () => true,
      partitionReads: () => [
        { topic: "events", partition: 0, watermarkMs: now - 30_000, backlogRecords: 1200 },
        { topic: "events", partition: 1, watermarkMs: -9223372036854776, backlogRecords: 0 },
      ],
    },
    "9.9.9",
  );
  const text = registry.render();
  assert.ok(text.includes('kbt_kafka_backlog_records{topic="events",partition="0"} 1200'), text);
  assert.ok(text.includes('kbt_kafka_backlog_records{topic="events",partition="1"} 0'));
  const lag = Number(/kbt_kafka_watermark_lag_seconds\{topic="events",partition="0"\} ([\d.]+)/.exec(text)?.[1]);
  assert.ok(lag >= 30 && lag < 40, `lag ${lag}`);
  assert.not.ok(text.includes('kbt_kafka_watermark_lag_seconds{topic="events",partition="1"}'));
});

s.run();
