// The caller's input coder of a Kafka write, checked at expansion: the write turns each element into Kafka bytes
// with its serializers, so the elements must arrive as values those serializers take. A coder of the caller's own
// (Python's pickled or "fast primitives" coders reach the worker as opaque length-prefixed bytes) would otherwise
// put the SDK's private encoding on the topic: refused here, naming the coder and the fix, before anything runs.
import type { runnerApi } from "../model/proto/index.js";
import { CoderUrns, SUPPORTED_CODER_URNS } from "../model/coders/index.js";
import { AtomicType, decodeSchema, fieldTypeKind, type FieldType, type Schema } from "../model/schema.js";
import type { SerdeFormat } from "../kafka/serde.js";
import type { WriteSpec } from "../kafka/write/spec.js";
import { invalidArgument } from "./errors.js";

type Coders = Readonly<Record<string, runnerApi.ICoder>>;

/** Coders whose values each serializer format takes (inside optional nullable / length_prefix wrappers). */
const CODERS_FOR_FORMAT: Readonly<
  Record<Exclude<SerdeFormat, "json">, { readonly urns: readonly string[]; readonly python: string }>
> = {
  bytes: { urns: [CoderUrns.BYTES], python: "bytes" },
  string: { urns: [CoderUrns.STRING_UTF8], python: "str" },
  long: { urns: [CoderUrns.VARINT], python: "int" },
  int: { urns: [CoderUrns.VARINT], python: "int" },
};

/**
 * Beam's kafka_write_with_headers row: field → the atomic types it may have (headers checked apart). Python infers
 * INT64 for any int, so a partition may come as INT64.
 */
const ROW_FIELDS: Readonly<Record<string, readonly number[] | "headers">> = {
  key: [AtomicType.BYTES],
  value: [AtomicType.BYTES],
  headers: "headers",
  topic: [AtomicType.STRING],
  partition: [AtomicType.INT32, AtomicType.INT64],
  timestamp: [AtomicType.INT64],
};

/** Throws INVALID_ARGUMENT (field `transform.inputs[<tag>]`) unless the write can read its input's elements. */
export function checkWriteInput(
  spec: WriteSpec,
  input: "kv" | "row",
  tag: string,
  pcollection: runnerApi.IPCollection,
  coders: Coders,
): void {
  const field = `transform.inputs[${tag}]`;
  const coderId = pcollection.coderId ?? "";
  if (!coders[coderId])
    throw invalidArgument(field, `the input's coder ${JSON.stringify(coderId)} is not in the request's components`);
  if (input === "row") {
    checkRowInput(field, coderId, coders);
    return;
  }
  const kv = coders[coderId]!;
  const [keyId, valueId] = kv.componentCoderIds ?? [];
  if (kv.spec?.urn !== CoderUrns.KV || keyId === undefined || valueId === undefined) {
    throw invalidArgument(
      field,
      `the write takes KV pairs, but its input's coder is ${describeCoder(coderId, coders)}. ` + `${pythonHint(spec)}`,
    );
  }
  checkComponent(field, "key", spec.keyFormat, keyId, coderId, spec, coders);
  checkComponent(field, "value", spec.valueFormat, valueId, coderId, spec, coders);
}

function checkComponent(
  field: string,
  part: "key" | "value",
  format: SerdeFormat,
  id: string,
  kvId: string,
  spec: WriteSpec,
  coders: Coders,
): void {
  const inner = unwrap(id, coders);
  const urn = coders[inner]?.spec?.urn ?? "";
  const ok = format === "json" ? isDecodable(inner, coders) : CODERS_FOR_FORMAT[format].urns.includes(urn);
  if (ok) return;
  const needs =
    format === "json"
      ? "a coder this worker can decode (Beam's standard coders)"
      : `${CODERS_FOR_FORMAT[format].urns.join(" or ")}`;
  throw invalidArgument(
    field,
    `the input's ${part} coder is ${urn || "(none)"} (input coder ${describeCoder(kvId, coders)}); ` +
      `the ${part} serializer (${format}) needs ${needs}, or the worker would write that coder's own encoding to Kafka. ${pythonHint(spec)}`,
  );
}

/** Strips nullable and length_prefix wrappers (both carry the value unchanged for a serializer). */
function unwrap(id: string, coders: Coders): string {
  for (let current = id, depth = 0; depth < 8; depth++) {
    const coder = coders[current];
    const urn = coder?.spec?.urn;
    const inner = coder?.componentCoderIds?.[0];
    if ((urn !== CoderUrns.NULLABLE && urn !== CoderUrns.LENGTH_PREFIX) || inner === undefined) return current;
    current = inner;
  }
  return id;
}

function isDecodable(id: string, coders: Coders, depth = 0): boolean {
  const coder = coders[id];
  if (!coder || depth > 32 || !SUPPORTED_CODER_URNS.includes(coder.spec?.urn ?? "")) return false;
  return (coder.componentCoderIds ?? []).every((c) => isDecodable(c, coders, depth + 1));
}

/** `beam:coder:kv:v1(beam:coder:bytes:v1, beam:coder:pickled_python:v1)`: the coder tree, for messages. */
function describeCoder(id: string, coders: Coders, depth = 0): string {
  const coder = coders[id];
  const urn = coder?.spec?.urn ?? `(missing coder ${id})`;
  const parts = depth < 4 ? (coder?.componentCoderIds ?? []).map((c) => describeCoder(c, coders, depth + 1)) : [];
  return parts.length ? `${urn}(${parts.join(", ")})` : urn;
}

function pythonHint(spec: WriteSpec): string {
  const type = (format: SerdeFormat) => (format === "json" ? "typing.Any" : CODERS_FOR_FORMAT[format].python);
  return (
    `In Python, declare the element type of the step before the write: ` +
    `.with_output_types(typing.Tuple[${type(spec.keyFormat)}, ${type(spec.valueFormat)}])`
  );
}

function checkRowInput(field: string, coderId: string, coders: Coders): void {
  const coder = coders[coderId]!;
  if (coder.spec?.urn !== CoderUrns.ROW) {
    throw invalidArgument(
      field,
      `the write with headers takes Rows (key, value, headers, topic, partition, timestamp), but its input's coder is ` +
        `${describeCoder(coderId, coders)}. In Python, pass beam.Row values, or .with_output_types(...) a NamedTuple with those fields`,
    );
  }
  let schema: Schema;
  try {
    schema = decodeSchema(coder.spec.payload ?? new Uint8Array());
  } catch (err) {
    throw invalidArgument(field, `the input's row coder carries no readable schema: ${(err as Error).message}`, err);
  }
  const names = schema.fields.map((f) => f.name);
  for (const required of ["key", "value"]) {
    if (!names.includes(required))
      throw invalidArgument(field, `the input rows have no ${required} field (fields: ${names.join(", ")})`);
  }
  for (const f of schema.fields) {
    const expected = ROW_FIELDS[f.name];
    if (expected === undefined) {
      throw invalidArgument(
        field,
        `the input rows have a field ${f.name} the write does not know (known: ${Object.keys(ROW_FIELDS).join(", ")})`,
      );
    }
    const ok = expected === "headers" ? isHeadersType(f.type) : expected.some((atomic) => isAtomic(f.type, atomic));
    if (!ok) throw invalidArgument(field, `row field ${f.name} has the wrong type: ${ROW_TYPE_NAMES[f.name]} expected`);
  }
}

const ROW_TYPE_NAMES: Readonly<Record<string, string>> = {
  key: "BYTES",
  value: "BYTES",
  headers: "ARRAY<ROW<key STRING, value BYTES>>",
  topic: "STRING",
  partition: "INT32 or INT64",
  timestamp: "INT64",
};

function isAtomic(type: FieldType, atomic: number): boolean {
  try {
    const kind = fieldTypeKind(type);
    return kind.kind === "atomic" && kind.atomic === atomic;
  } catch {
    return false;
  }
}

function isHeadersType(type: FieldType): boolean {
  try {
    const kind = fieldTypeKind(type);
    if (kind.kind !== "array" && kind.kind !== "iterable") return false;
    const element = fieldTypeKind(kind.element);
    if (element.kind !== "row") return false;
    const fields = new Map(element.schema.fields.map((f) => [f.name, f.type]));
    return (
      fields.size === 2 &&
      isAtomic(fields.get("key") ?? {}, AtomicType.STRING) &&
      isAtomic(fields.get("value") ?? {}, AtomicType.BYTES)
    );
  } catch {
    return false;
  }
}
