// Hostile inputs for the expansion service fuzz (service-fuzz.test.ts): byte mutations, boundary numbers, strings
// that mean something to a parser, Kafka configs with wrong values, YAML and JSON-schema texts, config_url paths,
// and random schemas with values that fit them. Every function draws from the given Rng only, so a case replays.
import type { Rng } from "../unit/sdf-prng.js";
import { AtomicType, type FieldType, type Row, type Schema } from "../../src/model/schema.js";

// ---- bytes ----

/** 1–4 edits of a copy of `bytes`: bit flips, boundary bytes, insertions, deletions, truncation, huge varints. */
export function mutateBytes(rng: Rng, bytes: Uint8Array): Buffer {
  let out = Buffer.from(bytes);
  const edits = rng.int(1, 4);
  for (let e = 0; e < edits; e++) {
    const at = out.length === 0 ? 0 : rng.int(0, out.length - 1);
    switch (rng.int(0, 6)) {
      case 0:
        if (out.length) out[at]! ^= 1 << rng.int(0, 7);
        break;
      case 1:
        if (out.length) out[at] = rng.pick([0x00, 0x01, 0x7f, 0x80, 0xff, rng.int(0, 255)]);
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, at), randomBytes(rng, rng.int(1, 16)), out.subarray(at)]);
        break;
      case 3:
        out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + rng.int(1, 32)))]);
        break;
      case 4:
        out = out.subarray(0, at);
        break;
      case 5: {
        // A length or tag that claims ~2^63: decoders must bound what they allocate by what is there.
        const huge = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        out = Buffer.concat([out.subarray(0, at), huge, out.subarray(at)]);
        break;
      }
      default: {
        const from = rng.int(0, Math.max(0, out.length - 1));
        const chunk = out.subarray(from, from + rng.int(1, 64));
        out = Buffer.concat([out.subarray(0, at), chunk, out.subarray(at)]);
      }
    }
  }
  return out;
}

export function randomBytes(rng: Rng, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = rng.int(0, 255);
  return out;
}

// ---- scalars ----

const STRINGS = [
  "",
  " ",
  "\u0000",
  "null",
  "None",
  "~",
  "-1",
  "0",
  "1e309",
  "NaN",
  "true",
  "../../../../etc/passwd",
  "%s%s%s%n",
  // a log4shell-style lookup, and a Kafka config-provider reference (resolved on the worker, never by expansion)
  "${jndi:ldap://127.0.0.1:9/x}",
  "${env:HOME}",
  "${file:/etc/passwd:x}",
  "{}",
  "[",
  "'",
  '"',
  "\\",
  "🚀💥",
  "\u202eevil",
  "\ud800",
  "a\nb: c",
  "__proto__",
  "constructor",
  "hasOwnProperty",
  "127.0.0.1:9092",
  "localhost:0",
  "host:99999",
  ":::",
  "[::1]:9092",
  "a,b,,c:1",
  "SASL_SSL",
  "PLAINTEXT",
  "earliest",
  "latest",
  "CreateTime",
  "LogAppendTime",
  "ProcessingTime",
  "RAW",
  "JSON",
  "AVRO",
  "PROTO",
  "bytes",
  "string",
  "json",
  "long",
  "int",
  "org.apache.kafka.common.serialization.StringDeserializer",
  "org.apache.kafka.common.serialization.LongSerializer",
  "com.example.NoSuchSerde",
  "events",
  "events:0",
  "events:-1",
  "events:1e3",
  ":0",
  "(a+)+$",
  "[",
  ".*",
];

export function hostileString(rng: Rng): string {
  const r = rng.next();
  if (r < 0.6) return rng.pick(STRINGS);
  if (r < 0.85) return printable(rng, rng.int(0, 64));
  if (r < 0.99) return rng.pick(STRINGS).repeat(rng.int(2, 256)) || "x".repeat(rng.int(1, 4096));
  return "x".repeat(rng.int(4096, 65_536));
}

function printable(rng: Rng, length: number): string {
  let text = "";
  for (let i = 0; i < length; i++)
    text += String.fromCharCode(rng.next() < 0.9 ? rng.int(32, 126) : rng.int(0, 0xffff));
  return text;
}

export function hostileInt64(rng: Rng): bigint {
  return rng.pick([
    0n,
    -1n,
    1n,
    2n,
    (1n << 31n) - 1n,
    -(1n << 31n),
    1n << 32n,
    (1n << 53n) + 1n,
    (1n << 63n) - 1n,
    -(1n << 63n),
    rng.bigint(-(1n << 63n), (1n << 63n) - 1n),
    rng.bigint(-1000n, 1000n),
  ]);
}

export function hostileInt32(rng: Rng): number {
  return rng.pick([
    0,
    -1,
    1,
    2_147_483_647,
    -2_147_483_648,
    rng.int(-2_147_483_648, 2_147_483_647),
    rng.int(-100, 100),
  ]);
}

function hostileDouble(rng: Rng): number {
  return rng.pick([0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e308, 5e-324, rng.next()]);
}

// ---- Kafka configs ----

const KAFKA_KEYS = [
  "bootstrap.servers",
  "group.id",
  "auto.offset.reset",
  "enable.auto.commit",
  "isolation.level",
  "max.poll.records",
  "fetch.max.bytes",
  "fetch.min.bytes",
  "fetch.max.wait.ms",
  "session.timeout.ms",
  "request.timeout.ms",
  "security.protocol",
  "sasl.mechanism",
  "sasl.jaas.config",
  "sasl.username",
  "sasl.password",
  "ssl.truststore.location",
  "ssl.truststore.certificates",
  "ssl.truststore.type",
  "ssl.keystore.location",
  "ssl.key.password",
  "ssl.endpoint.identification.algorithm",
  "client.id",
  "acks",
  "transactional.id",
  "enable.idempotence",
  "linger.ms",
  "batch.size",
  "compression.type",
  "max.request.size",
  "retries",
  "delivery.timeout.ms",
  "partitioner.class",
  "key.serializer",
  "value.deserializer",
  "__proto__",
  "constructor",
];

/** A Kafka config map: `base` with 1–4 keys set to wrong values (or Kafka's keys with wrong spellings). */
export function hostileKafkaConfig(rng: Rng, base: ReadonlyMap<string, string>): Map<string, string> {
  const config = new Map(rng.next() < 0.8 ? base : []);
  const edits = rng.int(1, 4);
  for (let i = 0; i < edits; i++) {
    const key = rng.next() < 0.85 ? rng.pick(KAFKA_KEYS) : hostileString(rng);
    const value = rng.next() < 0.7 ? hostileString(rng) : String(hostileInt64(rng));
    config.set(key, value);
  }
  return config;
}

// ---- texts for parsers: YAML (managed), JSON schemas (kafka_read format JSON), config_url paths ----

/** A YAML text for managed's `config`: Kafka read/write fields with hostile values, or YAML that attacks parsers. */
export function hostileYaml(rng: Rng, bootstrap: string): string {
  const fields = () =>
    [
      `bootstrap_servers: ${rng.next() < 0.7 ? bootstrap : JSON.stringify(hostileString(rng))}`,
      `topic: ${JSON.stringify(rng.next() < 0.7 ? "events" : hostileString(rng))}`,
      `format: ${rng.pick(["RAW", "JSON", "AVRO", "raw", "1", "[RAW]"])}`,
      ...(rng.next() < 0.3 ? [`max_read_time_seconds: ${hostileInt64(rng)}`] : []),
      ...(rng.next() < 0.3 ? [`consumer_config_updates: {${JSON.stringify(rng.pick(KAFKA_KEYS))}: 500}`] : []),
      ...(rng.next() < 0.2 ? [`schema: ${JSON.stringify(hostileJsonSchema(rng))}`] : []),
      ...(rng.next() < 0.2 ? [`${hostileString(rng).replace(/[\n:]/g, "_") || "x"}: 1`] : []),
    ].join("\n");
  const laughs = ["a: &a [x,x,x,x,x,x,x,x,x]"];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    laughs.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(",")}]`,
    );
  }
  return rng.pick([
    fields,
    fields,
    fields,
    () => laughs.join("\n"), // "billion laughs": 9^9 references
    () => `${"[".repeat(rng.int(100, 5000))}x`,
    () => `${"- ".repeat(rng.int(10, 2000))}x`,
    () => "!!python/object/apply:os.system ['true']",
    () => "bootstrap_servers: a\nbootstrap_servers: b\ntopic: t\nformat: RAW",
    () => "<<: *undefined_anchor\ntopic: t",
    () => "- a\n- b",
    () => "just a scalar",
    () => "\ufefftopic: t\nformat: RAW\nbootstrap_servers: h:1",
    () => `topic: t\nformat: RAW\nbootstrap_servers: h:1\nmax_read_time_seconds: ${"9".repeat(400)}`,
    () => printable(rng, rng.int(0, 200)),
    () => mutateBytes(rng, Buffer.from(fields())).toString("utf8"),
  ])();
}

/** A JSON-schema text for kafka_read's `schema` (format JSON). */
export function hostileJsonSchema(rng: Rng): string {
  const depth = rng.int(1, 300);
  return rng.pick([
    () => '{"type":"object","properties":{"name":{"type":"string"},"n":{"type":"integer"}}}',
    () => `${'{"type":"object","properties":{"a":'.repeat(depth)}{"type":"string"}${"}}".repeat(depth)}`,
    () => '{"type":"object","properties":{"a":{"$ref":"#"}}}',
    () => '{"type":"object","properties":{"a":{"type":["string","null","integer"]}}}',
    () => '{"type":"array","items":{"type":"string"}}',
    () => '{"type":"object","properties":{"__proto__":{"type":"string"}}}',
    () =>
      `{"type":"object","properties":{${Array.from({ length: rng.int(1, 500) }, (_, i) => `"f${i}":{"type":"number"}`).join(",")}}}`,
    () => "{",
    () => hostileString(rng),
  ])();
}

/** Local files the fuzz may name in config_url (made by the test): a valid config, garbage, one over the size cap. */
export interface ConfigFiles {
  readonly validYaml: string;
  readonly garbage: string;
  readonly oversized: string;
  readonly directory: string;
}

/**
 * A config_url. Only regular files, directories and missing paths: a device or FIFO path is a known hazard kept out
 * of the random cases (see the "known issue" tests in service-fuzz.test.ts).
 */
export function hostileConfigUrl(rng: Rng, files: ConfigFiles): string {
  return rng.pick([
    "",
    "/nonexistent/kbt-fuzz.yaml",
    "relative/kbt.yaml",
    files.directory,
    files.validYaml,
    `file://${files.validYaml}`,
    files.garbage,
    files.oversized,
    "http://127.0.0.1:9/config.yaml",
    "https://example.invalid/config.yaml",
    "gs://bucket/config.yaml",
    "file://remote-host/etc/x.yaml",
    "file:///%zz",
    "file:",
    "\u0000",
    hostileString(rng),
  ]);
}

// ---- schemas and values that fit them ----

const LOGICAL_URNS = [
  "beam:logical_type:micros_instant:v1",
  "beam:logical_type:millis_instant:v1",
  "beam:logical_type:decimal:v1",
  "beam:logical_type:fixed_bytes:v1",
  "beam:logical_type:var_bytes:v1",
  "beam:logical_type:python_callable:v1",
  "beam:logical_type:pythonsdk_any:v1",
  "beam:logical_type:no_such_type:v1",
];

/** A random field type, up to `depth` levels of arrays, maps and rows; sometimes an invalid enum or no type at all. */
export function randomFieldType(rng: Rng, depth: number): FieldType {
  const nullable = rng.next() < 0.4;
  const r = rng.next();
  if (depth <= 0 || r < 0.55) return { nullable, atomicType: rng.int(0, 9) as AtomicType };
  if (r < 0.65) return { nullable, arrayType: { elementType: randomFieldType(rng, depth - 1) } };
  if (r < 0.7) return { nullable, iterableType: { elementType: randomFieldType(rng, depth - 1) } };
  if (r < 0.8)
    return {
      nullable,
      mapType: { keyType: randomFieldType(rng, depth - 1), valueType: randomFieldType(rng, depth - 1) },
    };
  if (r < 0.9) return { nullable, rowType: { schema: randomSchema(rng, depth - 1) } };
  if (r < 0.97)
    return {
      nullable,
      logicalType: {
        urn: rng.pick(LOGICAL_URNS),
        ...(rng.next() < 0.7 ? { representation: randomFieldType(rng, depth - 1) } : {}),
      },
    };
  return rng.next() < 0.5 ? { nullable, atomicType: rng.int(10, 1000) as AtomicType } : { nullable };
}

function randomSchema(rng: Rng, depth: number): Schema {
  const count = rng.int(0, 4);
  return { fields: Array.from({ length: count }, (_, i) => ({ name: `f${i}`, type: randomFieldType(rng, depth) })) };
}

/** A field type nested `levels` deep (rows in arrays in rows ...): recursion limits of every decoder on the way. */
export function deeplyNested(rng: Rng, levels: number): FieldType {
  let type: FieldType = { atomicType: AtomicType.STRING };
  for (let i = 0; i < levels; i++) {
    type =
      rng.next() < 0.5
        ? { arrayType: { elementType: type } }
        : { rowType: { schema: { fields: [{ name: "x", type }] } } };
  }
  return type;
}

/** A value of `type` (best effort: the row coder may still refuse it, and the caller then falls back to bytes). */
export function valueOf(rng: Rng, type: FieldType, depth = 0): unknown {
  if (type.nullable && rng.next() < 0.2) return null;
  if (type.arrayType || type.iterableType) {
    const element = (type.arrayType ?? type.iterableType)!.elementType;
    return Array.from({ length: rng.next() < 0.95 ? rng.int(0, 4) : rng.int(0, 300) }, () =>
      valueOf(rng, element, depth + 1),
    );
  }
  if (type.mapType) {
    const entries = Array.from({ length: rng.int(0, 4) }, () => [
      valueOf(rng, type.mapType!.keyType, depth + 1),
      valueOf(rng, type.mapType!.valueType, depth + 1),
    ]);
    return new Map(entries as [unknown, unknown][]);
  }
  if (type.rowType) return rowOf(rng, type.rowType.schema, depth + 1);
  if (type.logicalType) return type.logicalType.representation ? valueOf(rng, type.logicalType.representation) : null;
  switch (Number(type.atomicType ?? 0)) {
    case AtomicType.BYTE:
      return rng.int(-128, 127);
    case AtomicType.INT16:
      return rng.int(-32768, 32767);
    case AtomicType.INT32:
      return hostileInt32(rng);
    case AtomicType.INT64:
      return hostileInt64(rng);
    case AtomicType.FLOAT:
    case AtomicType.DOUBLE:
      return hostileDouble(rng);
    case AtomicType.STRING:
      return hostileString(rng);
    case AtomicType.BOOLEAN:
      return rng.next() < 0.5;
    case AtomicType.BYTES:
      return randomBytes(rng, rng.int(0, 64));
    default:
      return null;
  }
}

export function rowOf(rng: Rng, schema: Schema, depth = 0): Row {
  return Object.fromEntries(schema.fields.map((f) => [f.name, depth > 40 ? null : valueOf(rng, f.type, depth)]));
}

/** Other spellings of a field name: what the service must treat as the same field, or as an unknown one. */
export function respell(rng: Rng, name: string, others: readonly string[]): string {
  const camel = name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return rng.pick([
    camel,
    camel.charAt(0).toUpperCase() + camel.slice(1),
    name.toUpperCase(),
    `${name}_`,
    `_${name}`,
    rng.pick(others.length ? others : [name]),
    "",
    "__proto__",
    "constructor",
    rng.pick(["topic_pattern", "with_metadata", "exactly_once_shards", "sink_group_id", "error_handling", "schema"]),
    hostileString(rng).slice(0, 2048),
  ]);
}
