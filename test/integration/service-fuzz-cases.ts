// The cases of the expansion service fuzz (service-fuzz.test.ts). Case i is a function of (seed, i) alone, so any
// one case replays on its own (KBT_FUZZ_CASE). Families, by what they break:
//   valid            a seed as an SDK sends it (random namespace): must expand
//   request-bytes    the encoded ExpansionRequest, bytes mutated: gRPC's and protobuf's decoding
//   payload-bytes    the payload bytes mutated: ExternalConfigurationPayload / SchemaTransformPayload decoding
//   row-bytes        only the Row's bytes mutated under an intact schema: the row coder
//   schema           the payload's schema changed (types, names, spellings, nullability, nesting) and a row to fit
//   values           the schema kept, 1–3 values replaced by hostile ones (configs, numbers, names, YAML, paths)
//   request          the request's structure: URNs, names, namespaces, inputs, the caller's components
//   schematransform  identifiers, missing config schemas, managed's YAML and config_url
//   random           random bytes as an ExpansionRequest
//   discover         random bytes as a DiscoverSchemaTransformRequest
import { encodeToBytes, rowCoder } from "../../src/model/coders/index.js";
import { AtomicType, type FieldType, type Row, type Schema } from "../../src/model/schema.js";
import {
  externalTransforms,
  lengthDelimitedHeader,
  runnerApi,
  type expansionApi,
} from "../../src/model/proto/index.js";
import { rng as seededRng, type Rng } from "../unit/sdf-prng.js";
import {
  encodePayload,
  encodeRequest,
  seedRequest,
  URNS,
  type PayloadWrapper,
  type RequestSeed,
} from "../infra/expansion-requests.js";
import {
  deeplyNested,
  hostileConfigUrl,
  hostileInt32,
  hostileInt64,
  hostileJsonSchema,
  hostileKafkaConfig,
  hostileString,
  hostileYaml,
  mutateBytes,
  randomBytes,
  randomFieldType,
  respell,
  rowOf,
  valueOf,
  type ConfigFiles,
} from "./service-fuzz-values.js";

export type Family =
  | "valid"
  | "request-bytes"
  | "payload-bytes"
  | "row-bytes"
  | "schema"
  | "values"
  | "request"
  | "schematransform"
  | "random"
  | "discover";

/** Relative frequencies: most cases carry a decodable request with something wrong deep inside. */
const WEIGHTS: readonly [Family, number][] = [
  ["valid", 4],
  ["request-bytes", 14],
  ["payload-bytes", 10],
  ["row-bytes", 10],
  ["schema", 16],
  ["values", 20],
  ["request", 12],
  ["schematransform", 8],
  ["random", 4],
  ["discover", 2],
];

export interface FuzzCase {
  readonly index: number;
  readonly family: Family;
  readonly seedName: string;
  readonly method: "Expand" | "DiscoverSchemaTransform";
  readonly bytes: Uint8Array;
  /** Family "valid": the seed whose expansion the response must be. */
  readonly expect?: RequestSeed;
}

export interface FuzzContext {
  readonly seeds: readonly RequestSeed[];
  readonly bootstrap: string;
  readonly files: ConfigFiles;
}

/** The rng of case `index` under `seed`: independent of every other case. */
function caseRng(seed: number, index: number): Rng {
  return seededRng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
}

export function fuzzCase(seed: number, index: number, ctx: FuzzContext): FuzzCase {
  const rng = caseRng(seed, index);
  let pick = rng.next() * WEIGHTS.reduce((sum, [, w]) => sum + w, 0);
  const family = WEIGHTS.find(([, w]) => (pick -= w) < 0)?.[0] ?? "values";
  const base = rng.pick(ctx.seeds);
  const expand = (request: expansionApi.IExpansionRequest | Uint8Array) => ({
    index,
    family,
    seedName: base.name,
    method: "Expand" as const,
    bytes: request instanceof Uint8Array ? request : encodeRequest(request),
  });
  switch (family) {
    case "valid":
      return { ...expand(seedRequest(base, `external_${rng.int(0, 1_000_000)}`)), expect: base };
    case "request-bytes":
      return expand(mutateBytes(rng, encodeRequest(seedRequest(base))));
    case "payload-bytes":
      return expand(base.request(mutateBytes(rng, payloadOf(base))));
    case "row-bytes":
      return expand(base.request(wrap(base.wrapper, base.rowSchema, mutateBytes(rng, rowBytes(base)))));
    case "schema":
      return expand(base.request(schemaMutation(rng, base, ctx)));
    case "values":
      return expand(base.request(valuesMutation(rng, base, ctx)));
    case "request":
      return expand(requestMutation(rng, base));
    case "schematransform": // picks a SchemaTransform seed of its own
      return { ...expand(schemaTransformMutation(rng, ctx)), seedName: "a SchemaTransform seed" };
    case "random":
      return expand(randomBytes(rng, rng.next() < 0.9 ? rng.int(0, 256) : rng.int(0, 8192)));
    case "discover":
      return {
        index,
        family,
        seedName: "(none)",
        method: "DiscoverSchemaTransform",
        bytes: randomBytes(rng, rng.int(0, 64)),
      };
  }
}

// ---- payloads ----

function payloadOf(seed: RequestSeed): Uint8Array {
  return encodePayload(seed.wrapper, seed.rowSchema, seed.row);
}

function rowBytes(seed: RequestSeed): Uint8Array {
  return encodeToBytes(rowCoder(seed.rowSchema), seed.row);
}

/**
 * A payload from a schema and row bytes. The schema goes into the proto as given (invalid enums and missing types
 * included), so the service, not this test, decides what it makes of it.
 */
function wrap(wrapper: PayloadWrapper, schema: Schema, row: Uint8Array, id?: string): Uint8Array {
  const schemaProto = schema as runnerApi.ISchema;
  return wrapper.kind === "external"
    ? externalTransforms.ExternalConfigurationPayload.encode({ schema: schemaProto, payload: row }).finish()
    : externalTransforms.SchemaTransformPayload.encode({
        identifier: id ?? wrapper.identifier,
        configurationSchema: schemaProto,
        configurationRow: row,
      }).finish();
}

/** Row bytes for `schema`: the row encoded if the row coder takes it, else the seed's row bytes mutated. */
function encodeRowOr(rng: Rng, schema: Schema, row: Row, seed: RequestSeed): Uint8Array {
  try {
    return encodeToBytes(rowCoder(schema), row);
  } catch {
    return mutateBytes(rng, rowBytes(seed));
  }
}

/** A hostile value for a field, by what the field means where its name says so, else by its type. */
function hostileValue(rng: Rng, name: string, type: FieldType, ctx: FuzzContext): unknown {
  const typed = () => valueOf(rng, type);
  if (rng.next() < 0.25) return typed();
  switch (name) {
    case "consumer_config":
    case "producer_config":
    case "consumer_config_updates":
    case "producer_config_updates":
      return hostileKafkaConfig(rng, new Map([["bootstrap.servers", ctx.bootstrap]]));
    case "topics":
    case "topic_partitions":
      return rng.pick([
        () => [],
        () => [""],
        () => ["events", "events"],
        () => Array.from({ length: rng.int(1, 1000) }, (_, i) => `t${i}`),
        () => Array.from({ length: rng.int(1, 4) }, () => hostileString(rng)),
      ])();
    case "config":
      return hostileYaml(rng, ctx.bootstrap);
    case "config_url":
      return hostileConfigUrl(rng, ctx.files);
    case "schema":
      return hostileJsonSchema(rng);
    case "error_handling":
      return rng.next() < 0.5 ? { output: hostileString(rng) } : null;
    case "max_num_records":
    case "start_read_time":
    case "max_read_time":
    case "consumer_polling_timeout":
    case "dynamic_read_poll_interval_seconds":
    case "exactly_once_shards":
    case "exactly_once_window_ms":
      return hostileInt64(rng);
    case "max_read_time_seconds":
    case "redistribute_num_keys":
      return type.atomicType === 4 ? hostileInt64(rng) : hostileInt32(rng);
    default:
      return type.atomicType === 7 ? hostileString(rng) : typed();
  }
}

function valuesMutation(rng: Rng, seed: RequestSeed, ctx: FuzzContext): Uint8Array {
  const row: Row = { ...seed.row };
  const fields = seed.rowSchema.fields;
  for (let i = rng.int(1, 3); i > 0; i--) {
    const field = rng.pick(fields);
    row[field.name] = hostileValue(rng, field.name, field.type, ctx);
  }
  return wrap(seed.wrapper, seed.rowSchema, encodeRowOr(rng, seed.rowSchema, row, seed));
}

function schemaMutation(rng: Rng, seed: RequestSeed, ctx: FuzzContext): Uint8Array {
  const fields = seed.rowSchema.fields.map((f) => ({ name: f.name, type: f.type }));
  const names = fields.map((f) => f.name);
  const row: Row = { ...seed.row };
  for (let edits = rng.int(1, 3); edits > 0; edits--) {
    const at = rng.int(0, Math.max(0, fields.length - 1));
    const field = fields[at];
    switch (rng.int(0, 7)) {
      case 0: // another type; a value to fit it
        if (field) {
          field.type = randomFieldType(rng, 3);
          row[field.name] = valueOf(rng, field.type);
        }
        break;
      case 1: {
        // the same field under another spelling (camelCase, PascalCase: the same field; others: unknown)
        if (!field) break;
        const value = row[field.name];
        field.name = respell(rng, field.name, names);
        row[field.name] = value;
        break;
      }
      case 2:
        fields.splice(at, 1);
        break;
      case 3: {
        const type = randomFieldType(rng, 2);
        const name = respell(rng, rng.pick(names), names);
        fields.splice(at, 0, { name, type });
        row[name] = hostileValue(rng, name, type, ctx);
        break;
      }
      case 4:
        if (field) field.type = { ...field.type, nullable: !field.type.nullable };
        break;
      case 5:
        fields.reverse();
        break;
      case 6:
        if (rng.next() < 0.3) return deepSchemaPayload(seed.wrapper, rng.int(50, 5000));
        if (field) {
          field.type = deeplyNested(rng, rng.int(5, 20));
          row[field.name] = null;
        }
        break;
      default: // encoding positions that may collide or point past the end
        for (const [i, f] of fields.entries())
          Object.assign(f, { encodingPosition: rng.next() < 0.8 ? i : rng.int(-2, fields.length + 2) });
    }
  }
  const schema: Schema = {
    id: rng.next() < 0.9 ? `fuzz-${rng.int(0, 1 << 30)}` : "",
    fields,
    ...(fields.some((f) => "encodingPosition" in f) ? { encodingPositionsSet: true } : {}),
  };
  return wrap(seed.wrapper, schema, encodeRowOr(rng, schema, row, seed));
}

/** Length-delimited field `n` holding `content`. */
function delimited(n: number, content: Uint8Array): Buffer {
  return Buffer.concat([lengthDelimitedHeader(n, content.length), content]);
}

/**
 * A payload whose schema has one field of arrays nested `levels` deep, encoded by hand: protobufjs will not encode
 * past its recursion limit (100), and the service must refuse such a schema without overflowing its stack.
 */
function deepSchemaPayload(wrapper: PayloadWrapper, levels: number): Uint8Array {
  let type: Uint8Array = runnerApi.FieldType.encode({ atomicType: AtomicType.STRING }).finish();
  for (let i = 0; i < levels; i++)
    type = delimited(3 /* FieldType.array_type */, delimited(1 /* element_type */, type));
  const schema = delimited(
    1 /* Schema.fields */,
    Buffer.concat([delimited(1, Buffer.from("deep")), delimited(3, type)]),
  );
  return wrapper.kind === "external"
    ? delimited(1 /* ExternalConfigurationPayload.schema */, schema)
    : Buffer.concat([delimited(1, Buffer.from(wrapper.identifier)), delimited(2 /* configuration_schema */, schema)]);
}

// ---- the request around the payload ----

const NEAR_MISS_URNS = [
  "",
  "beam:transform:org.apache.beam:kafka_read_without_metadata:v2",
  "beam:transform:org.apache.beam:kafka_read_without_metadata:v1 ",
  "BEAM:TRANSFORM:ORG.APACHE.BEAM:KAFKA_WRITE:V1",
  "beam:external:java:kafka:read:v1",
  "beam:transform:kafka_read",
  "beam:expansion:payload:schematransform:v2",
  "beam:transform:managed:v1",
  "beam:transform:impulse:v1",
  "beam:transform:pardo:v1",
];

function requestMutation(rng: Rng, seed: RequestSeed): expansionApi.IExpansionRequest {
  const request = seedRequest(seed);
  const transform = { ...request.transform! };
  const components: runnerApi.IComponents = { ...(request.components ?? {}) };
  for (let edits = rng.int(1, 3); edits > 0; edits--) {
    switch (rng.int(0, 9)) {
      case 0: // another URN for this payload: another transform's, a near miss, or nonsense
        transform.spec = {
          ...transform.spec,
          urn: rng.pick([...Object.values(URNS), ...NEAR_MISS_URNS, hostileString(rng)]),
        };
        break;
      case 1:
        if (rng.next() < 0.5) transform.spec = null;
        else transform.spec = { urn: transform.spec?.urn ?? "" };
        break;
      case 2:
        request.namespace = hostileString(rng);
        break;
      case 3:
        transform.uniqueName = rng.next() < 0.3 ? "External" : hostileString(rng);
        break;
      case 4: {
        // inputs: extra, missing, or naming PCollections the request does not carry
        const tag = rng.pick(["0", "input", "in", hostileString(rng)]);
        const inputs = { ...(transform.inputs ?? {}) };
        if (rng.next() < 0.3) transform.inputs = {};
        else {
          inputs[tag] = rng.pick([...Object.keys(components.pcollections ?? {}), "missing", hostileString(rng)]);
          transform.inputs = inputs;
        }
        break;
      }
      case 5:
        components.coders = { ...(components.coders ?? {}), ...hostileCoders(rng) };
        break;
      case 6: {
        // the input's coder, windowing or boundedness changed under it
        const pcollections = { ...(components.pcollections ?? {}) };
        const ids = Object.keys(pcollections);
        if (ids.length === 0) {
          pcollections.ref_PCollection_PCollection_1 = { uniqueName: "x", coderId: "missing" };
        } else {
          const id = rng.pick(ids);
          const coderIds = [...Object.keys(components.coders ?? {}), ...Object.keys(hostileCoders(rng))];
          pcollections[id] = {
            ...pcollections[id],
            ...rng.pick([
              { coderId: rng.pick([...coderIds, "missing", ""]) },
              { windowingStrategyId: rng.pick(["missing", ""]) },
              { isBounded: rng.pick([0, 1, 2, 99]) as runnerApi.IsBounded.Enum },
            ]),
          };
          components.coders = { ...(components.coders ?? {}), ...hostileCoders(rng) };
        }
        components.pcollections = pcollections;
        break;
      }
      case 7: {
        // windowing the exactly-once write reads: unknown or garbage window functions
        const id = "ref_Windowing_Windowing_1";
        components.windowingStrategies = {
          ...(components.windowingStrategies ?? {}),
          [id]: {
            windowFn: {
              urn: rng.pick(["beam:window_fn:fixed_windows:v1", "beam:window_fn:sessions:v1", hostileString(rng)]),
              payload: randomBytes(rng, rng.int(0, 16)),
            },
          },
        };
        break;
      }
      case 8: // fields we never read: must not matter
        Object.assign(request, {
          outputCoderRequests: { out: hostileString(rng) },
          requirements: [hostileString(rng)],
          pipelineOptions: { fields: { [hostileString(rng) || "k"]: { stringValue: hostileString(rng) } } },
        });
        break;
      default: // a big request: many caller components, echoed back in the response
        components.environments = Object.fromEntries(
          Array.from({ length: rng.int(1, 2000) }, (_, i) => [`env_${i}`, { urn: "beam:env:docker:v1" }]),
        );
    }
  }
  return { ...request, transform, components };
}

/** Coders that refer to themselves, to coders that are missing, or carry unknown URNs and garbage payloads. */
function hostileCoders(rng: Rng): Record<string, runnerApi.ICoder> {
  return rng.pick([
    () => ({ fuzz_cycle: { spec: { urn: "beam:coder:kv:v1" }, componentCoderIds: ["fuzz_cycle", "fuzz_cycle"] } }),
    () => ({ fuzz_dangling: { spec: { urn: "beam:coder:kv:v1" }, componentCoderIds: ["nowhere"] } }),
    () => ({ fuzz_unknown: { spec: { urn: hostileString(rng), payload: randomBytes(rng, rng.int(0, 32)) } } }),
    () => ({ fuzz_row: { spec: { urn: "beam:coder:row:v1", payload: randomBytes(rng, rng.int(0, 64)) } } }),
    () => ({ fuzz_pickled: { spec: { urn: "beam:coder:pickled_python:v1" } } }),
    () => {
      // length_prefix(nullable(length_prefix(...))) many levels deep
      const coders: Record<string, runnerApi.ICoder> = {};
      const levels = rng.int(1, 200);
      for (let i = 0; i < levels; i++)
        coders[`fuzz_wrap_${i}`] = {
          spec: { urn: rng.pick(["beam:coder:length_prefix:v1", "beam:coder:nullable:v1"]) },
          componentCoderIds: [i + 1 < levels ? `fuzz_wrap_${i + 1}` : "ref_Coder_BytesCoder_1"],
        };
      return coders;
    },
  ])();
}

// ---- the SchemaTransform route ----

function schemaTransformMutation(rng: Rng, ctx: FuzzContext): expansionApi.IExpansionRequest {
  const stSeeds = ctx.seeds.filter((s) => s.wrapper.kind === "schematransform");
  const seed = rng.pick(stSeeds);
  const identifier = (seed.wrapper as { identifier: string }).identifier;
  let payload: Uint8Array;
  switch (rng.int(0, 4)) {
    case 0: // another identifier: a served one with this config, a near miss, or nonsense
      payload = wrap(
        seed.wrapper,
        seed.rowSchema,
        rowBytes(seed),
        rng.pick([URNS.ST_KAFKA_READ, URNS.ST_KAFKA_WRITE, URNS.MANAGED, `${identifier}x`, "", hostileString(rng)]),
      );
      break;
    case 1: // no configuration schema, or an empty one
      payload = externalTransforms.SchemaTransformPayload.encode({
        identifier,
        ...(rng.next() < 0.5 ? {} : { configurationSchema: { fields: [] } }),
        configurationRow: rowBytes(seed),
      }).finish();
      break;
    case 2: // managed: a YAML config
      return managedRequest(rng, ctx, {
        transform_identifier: rng.pick([URNS.ST_KAFKA_READ, URNS.ST_KAFKA_WRITE, URNS.MANAGED, hostileString(rng)]),
        config: hostileYaml(rng, ctx.bootstrap),
      });
    case 3: // managed: a config_url
      return managedRequest(rng, ctx, {
        transform_identifier: rng.pick([URNS.ST_KAFKA_READ, URNS.ST_KAFKA_WRITE]),
        config: rng.next() < 0.2 ? hostileYaml(rng, ctx.bootstrap) : null,
        config_url: hostileConfigUrl(rng, ctx.files),
      });
    default: {
      // the row of an inferred schema, as Python builds it from keyword arguments (not the discovered one)
      const schema: Schema = {
        fields: seed.rowSchema.fields.filter(() => rng.next() < 0.7).map((f) => ({ name: f.name, type: f.type })),
      };
      payload = wrap(seed.wrapper, schema, encodeRowOr(rng, schema, rowOf(rng, schema), seed));
    }
  }
  return seed.request(payload);
}

function managedRequest(rng: Rng, ctx: FuzzContext, values: Row): expansionApi.IExpansionRequest {
  const managed = ctx.seeds.find((s) => s.wrapper.kind === "schematransform" && s.wrapper.identifier === URNS.MANAGED)!;
  const full = { ...managed.row, ...values };
  return managed.request(wrap(managed.wrapper, managed.rowSchema, encodeRowOr(rng, managed.rowSchema, full, managed)));
}
