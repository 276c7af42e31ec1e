// The write's pure parts: spec validation, serializers (ours and Java's class names), and the element → record
// mapping for KV, native records and Beam's kafka_write_with_headers rows.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { thrown } from "../assertions.js";
import {
  KafkaShardDoFn,
  KafkaTransactionalWriteDoFn,
  KafkaWriteDoFn,
  KafkaWriteError,
  kafkaWriteDoFnFactory,
  parseWriteSpec,
  recordMapper,
  shardTransactionalId,
  writeSpecFromOptions,
  type WriteSpec,
} from "../../src/kafka/write/index.js";
import { registeredCompressionCodecs } from "../../src/kafka/client/index.js";
import { KafkaConfigError } from "../../src/kafka/errors.js";

const s = suite("kafka write: records and spec");
const config = { "bootstrap.servers": "127.0.0.1:9092" };

function spec(extra: Partial<Parameters<typeof writeSpecFromOptions>[0]> = {}): WriteSpec {
  return writeSpecFromOptions({ producerConfig: config, topic: "out", ...extra });
}

function configError(fn: () => unknown, key: string): void {
  const err = thrown(fn, KafkaConfigError, `a KafkaConfigError for ${key}`);
  assert.is(err.key, key, err.message);
}

function recordError(fn: () => unknown, pattern: RegExp): void {
  const err = thrown(fn, KafkaWriteError, `a KafkaWriteError matching ${pattern}`);
  assert.is(err.code, "KAFKA_WRITE_RECORD");
  assert.match(err.message, pattern);
}

s.test("spec: defaults, Java serializer names, frozen", () => {
  const w = spec({
    keySerializer: "org.apache.kafka.common.serialization.StringSerializer",
    valueSerializer: "org.apache.kafka.common.serialization.LongSerializer",
  });
  assert.equal(w, {
    producerConfig: config,
    topic: "out",
    keyFormat: "string",
    valueFormat: "long",
    timestampPolicy: "producer",
    exactlyOnce: null,
  });
  assert.ok(Object.isFrozen(w) && Object.isFrozen(w.producerConfig));
  assert.is(spec({ valueSerializer: "org.apache.kafka.common.serialization.IntegerSerializer" }).valueFormat, "int");
  assert.is(
    spec({ valueSerializer: "org.apache.kafka.common.serialization.ByteArraySerializer" }).valueFormat,
    "bytes",
  );
  configError(() => spec({ valueSerializer: "io.confluent.kafka.serializers.KafkaAvroSerializer" }), "valueSerializer");
});

s.test("spec: producer config is checked with Kafka's keys (compression, acks with transactions, bad topic)", () => {
  assert.is(
    spec({ producerConfig: { ...config, "compression.type": "gzip", "linger.ms": "20", "batch.size": "65536" } }).topic,
    "out",
  );
  configError(() => spec({ producerConfig: { ...config, "compression.type": "brotli" } }), "compression.type");
  for (const codec of ["snappy", "lz4", "zstd"]) {
    const write = () => spec({ producerConfig: { ...config, "compression.type": codec } });
    if (codec !== "zstd" || registeredCompressionCodecs().includes("zstd")) assert.is(write().topic, "out");
    else configError(write, "compression.type"); // Node < 22.15: no zstd in zlib
  }
  configError(
    () => spec({ producerConfig: { ...config, acks: "1" }, exactlyOnce: { numShards: 2, sinkGroupId: "g" } }),
    "acks",
  );
  configError(() => spec({ producerConfig: { ...config, "transactional.id": "tx" } }), "transactional.id");
  configError(() => spec({ topic: "bad topic" }), "topic");
  configError(() => spec({ topic: "" }), "topic");
  configError(() => spec({ timestampPolicy: "LogAppendTime" as never }), "timestampPolicy");
});

s.test("spec: exactly-once settings, transactional id prefix and metadata topic", () => {
  const w = spec({ exactlyOnce: { numShards: 4, sinkGroupId: "sink-1" } });
  assert.equal(w.exactlyOnce, {
    numShards: 4,
    sinkGroupId: "sink-1",
    metadataTopic: "out",
    transactionalIdPrefix: "kbt-sink-sink-1",
    requiresStableInput: true,
  });
  assert.is(shardTransactionalId(w.exactlyOnce!, 3), "kbt-sink-sink-1-3");
  const prefixed = spec({
    producerConfig: { ...config, "transactional.id": "orders" },
    exactlyOnce: { numShards: 2, sinkGroupId: "g", metadataTopic: "meta" },
  });
  assert.equal(prefixed.exactlyOnce, {
    numShards: 2,
    sinkGroupId: "g",
    metadataTopic: "meta",
    transactionalIdPrefix: "orders",
    requiresStableInput: true,
  });
  assert.is(
    spec({ exactlyOnce: { numShards: 1, sinkGroupId: "g", requiresStableInput: false } }).exactlyOnce!
      .requiresStableInput,
    false,
  );
  configError(
    () => spec({ exactlyOnce: { numShards: 1, sinkGroupId: "g", requiresStableInput: "no" as never } }),
    "exactlyOnce.requiresStableInput",
  );
  configError(() => spec({ exactlyOnce: { numShards: 0, sinkGroupId: "g" } }), "exactlyOnce.numShards");
  configError(() => spec({ exactlyOnce: { numShards: 1.5, sinkGroupId: "g" } }), "exactlyOnce.numShards");
  configError(() => spec({ exactlyOnce: { numShards: 2, sinkGroupId: "" } }), "exactlyOnce.sinkGroupId");
  configError(
    () => writeSpecFromOptions({ producerConfig: config, exactlyOnce: { numShards: 2, sinkGroupId: "g" } }),
    "exactlyOnce.metadataTopic",
  );
});

s.test("spec: a payload's JSON spec parses back to the same spec; bad payloads name the field", () => {
  const w = spec({
    keySerializer: "string",
    timestampPolicy: "element",
    exactlyOnce: { numShards: 3, sinkGroupId: "g" },
  });
  assert.equal(parseWriteSpec(JSON.parse(JSON.stringify(w))), w);
  // A spec from before timestampPolicy existed.
  const old = { producerConfig: config, topic: "out", keyFormat: "bytes", valueFormat: "bytes", exactlyOnce: null };
  assert.equal(parseWriteSpec(old), spec());
  configError(
    () => parseWriteSpec({ ...old, producerConfig: { "bootstrap.servers": 9092 } }),
    "write.producerConfig['bootstrap.servers']",
  );
  configError(() => parseWriteSpec({ ...old, topic: 7 }), "write.topic");
  // Exactly-once specs from before requiresStableInput get its default; a bad one names the field.
  const eosOld = { ...old, exactlyOnce: { numShards: 3, sinkGroupId: "g" } };
  assert.is(parseWriteSpec(eosOld).exactlyOnce!.requiresStableInput, true);
  configError(
    () => parseWriteSpec({ ...old, exactlyOnce: { numShards: 3, sinkGroupId: "g", requiresStableInput: 1 } }),
    "write.requiresStableInput",
  );
  configError(() => parseWriteSpec("nope"), "write");
});

s.test("kv: serializers encode as Kafka's Java serializers do", () => {
  const map = (keySerializer: string, valueSerializer: string) =>
    recordMapper(spec({ keySerializer, valueSerializer }), "kv");
  assert.equal(map("bytes", "bytes")({ key: new Uint8Array([1, 2]), value: Buffer.from("v") }, 0n), {
    topic: "out",
    key: Buffer.from([1, 2]),
    value: Buffer.from("v"),
  });
  assert.equal(map("string", "json")({ key: "k€", value: { a: [1, "x"] } }, 0n), {
    topic: "out",
    key: Buffer.from("k€"),
    value: Buffer.from('{"a":[1,"x"]}'),
  });
  assert.equal(map("long", "int")({ key: -2n, value: 258 }, 0n), {
    topic: "out",
    key: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]),
    value: Buffer.from([0, 0, 1, 2]),
  });
  // Tombstones and null keys stay null.
  assert.equal(map("string", "string")({ key: null, value: null }, 0n), { topic: "out", key: null, value: null });
  recordError(() => map("bytes", "bytes")({ key: "not bytes", value: null }, 0n), /key serializer bytes/);
  recordError(() => map("bytes", "bytes")(42, 0n), /expected a KV/);
});

s.test("kv: timestamp policy, timestamp function and topic function", () => {
  const byElement = recordMapper(spec({ timestampPolicy: "element" }), "kv");
  assert.is(byElement({ key: null, value: null }, 1_700_000_000_123n).timestamp, 1_700_000_000_123n);
  recordError(() => byElement({ key: null, value: null }, -9223372036854775n), /not a Kafka timestamp/);
  const fn = recordMapper(spec({ timestampPolicy: "element" }), "kv", {
    timestampFn: (element) => ((element as { value: Uint8Array }).value.length === 0 ? null : 5),
    topicFn: (element) => ((element as { key: Uint8Array | null }).key ? "keyed" : "unkeyed"),
  });
  assert.equal(fn({ key: Buffer.from("k"), value: Buffer.from("v") }, 99n), {
    topic: "keyed",
    key: Buffer.from("k"),
    value: Buffer.from("v"),
    timestamp: 5n,
  });
  assert.equal(fn({ key: null, value: Buffer.alloc(0) }, 99n), {
    topic: "unkeyed",
    key: null,
    value: Buffer.alloc(0),
    timestamp: 99n,
  });
  configError(() => recordMapper(writeSpecFromOptions({ producerConfig: config }), "kv"), "topic");
});

s.test(
  "row: Beam's kafka_write_with_headers row (INT64 partition/timestamp from Python, optional fields absent)",
  () => {
    const map = recordMapper(spec(), "row");
    const row = {
      key: new Uint8Array([107]),
      value: new Uint8Array([118]),
      headers: [
        { key: "h1", value: new Uint8Array([1]) },
        { key: "h1", value: new Uint8Array([2]) },
        { key: "h2", value: new Uint8Array(0) },
      ],
      topic: "other",
      partition: 3n,
      timestamp: 1_700_000_000_000n,
    };
    assert.equal(map(row, 0n), {
      topic: "other",
      key: Buffer.from("k"),
      value: Buffer.from("v"),
      partition: 3,
      headers: [
        { key: "h1", value: Buffer.from([1]) },
        { key: "h1", value: Buffer.from([2]) },
        { key: "h2", value: Buffer.alloc(0) },
      ],
      timestamp: 1_700_000_000_000n,
    });
    assert.equal(
      map({ key: null, value: new Uint8Array([1]), headers: null, topic: null, partition: null, timestamp: null }, 0n),
      {
        topic: "out",
        key: null,
        value: Buffer.from([1]),
      },
    );
    assert.equal(map({ key: new Uint8Array(0), value: new Uint8Array(0) }, 0n), {
      topic: "out",
      key: Buffer.alloc(0),
      value: Buffer.alloc(0),
    });
    recordError(() => map({ ...row, partition: -1 }, 0n), /partition/);
    recordError(() => map({ ...row, partition: 1.5 }, 0n), /partition/);
    recordError(() => map({ ...row, timestamp: -5n }, 0n), /not a Kafka timestamp/);
    assert.equal(map({ ...row, headers: [{ key: "h", value: null }] }, 0n).headers, [{ key: "h", value: null }]);
    recordError(() => map({ ...row, headers: [{ value: new Uint8Array(0) }] }, 0n), /headers\[0\]/);
    recordError(() => map({ ...row, topic: "" }, 0n), /topic/);
    recordError(
      () => recordMapper(writeSpecFromOptions({ producerConfig: config }), "row")({ key: null, value: null }, 0n),
      /no default topic/,
    );
  },
);

s.test("record: native WriteRecords with string headers and serializers", () => {
  const map = recordMapper(spec({ keySerializer: "string", valueSerializer: "json" }), "record");
  assert.equal(map({ key: "a", value: [1], headers: [{ key: "trace", value: "t-1" }], partition: 0 }, 0n), {
    topic: "out",
    key: Buffer.from("a"),
    value: Buffer.from("[1]"),
    partition: 0,
    headers: [{ key: "trace", value: "t-1" }],
  });
});

s.test("factory: payload steps build the right DoFns; an exactly-once spec cannot run as a plain write", () => {
  const plain = spec();
  const eos = spec({ exactlyOnce: { numShards: 2, sinkGroupId: "g" } });
  const json = (w: WriteSpec) => JSON.parse(JSON.stringify(w)) as unknown;
  assert.instance(kafkaWriteDoFnFactory({ fn: "kafka_write", write: json(plain), input: "kv" }), KafkaWriteDoFn);
  assert.instance(kafkaWriteDoFnFactory({ fn: "kafka_write", write: json(plain), input: "row" }), KafkaWriteDoFn);
  assert.instance(
    kafkaWriteDoFnFactory({ fn: "kafka_write", write: json(eos), input: "kv", step: "shard" }),
    KafkaShardDoFn,
  );
  assert.instance(
    kafkaWriteDoFnFactory({ fn: "kafka_write", write: json(eos), step: "transactional_write" }),
    KafkaTransactionalWriteDoFn,
  );
  configError(() => kafkaWriteDoFnFactory({ fn: "kafka_write", write: json(eos), input: "kv" }), "step");
  configError(() => kafkaWriteDoFnFactory({ fn: "kafka_write", write: json(plain), input: "csv" }), "input");
  configError(() => kafkaWriteDoFnFactory({ fn: "kafka_write", write: json(plain), step: "flush" }), "step");
});

s.run();
