// One Expand call, independent of gRPC: request in, response (or ExpansionError) out.
import type { expansionApi } from "../model/proto/index.js";
import { ExpansionBuilder } from "./components.js";
import { environmentProto, type EnvironmentConfig } from "./environment.js";
import { BoundedCache } from "./bounded-cache.js";
import { invalidArgument } from "./errors.js";
import { decodeConfigurationRow, readConfigValues } from "./payload.js";
import type { ExpansionContext, ExpansionResult, TransformRegistry } from "./registry.js";
import { kafkaSchemaTransformDefinitions, prepareSchemaTransform, SCHEMA_TRANSFORM_PAYLOAD_URN, type SchemaTransformDefinition } from "./schema-transforms.js";

export interface ExpandOptions {
  readonly registry: TransformRegistry;
  readonly environment: EnvironmentConfig;
  /** SchemaTransforms served (discovery and `beam:expansion:payload:schematransform:v1`); default: the Kafka ones. */
  readonly schemaTransforms?: readonly SchemaTransformDefinition[];
}

/** The SchemaTransforms an expansion service with these options serves. */
export function servedSchemaTransforms(options: Pick<ExpandOptions, "schemaTransforms">): readonly SchemaTransformDefinition[] {
  return options.schemaTransforms ?? kafkaSchemaTransformDefinitions();
}

export interface ExpandOutcome {
  readonly urn: string;
  readonly response: expansionApi.IExpansionResponse;
}

/** A request's URN and payload, checked and ready to build under any namespace. */
interface PreparedExpansion {
  readonly name: string;
  build(ctx: ExpansionContext): ExpansionResult;
}

// Pipelines expand the same transform with the same payload again and again (every submission of a job, every test
// run): decoding and validating it once per service is enough. Bounded, and large payloads are not kept.
const MAX_CACHED_PAYLOAD_BYTES = 64 * 1024;
const preparedCaches = new WeakMap<ExpandOptions, BoundedCache<string, PreparedExpansion>>();

function prepare(urn: string, payload: Uint8Array, options: ExpandOptions): PreparedExpansion {
  if (urn === SCHEMA_TRANSFORM_PAYLOAD_URN) {
    const schemaTransform = prepareSchemaTransform(payload, servedSchemaTransforms(options));
    return { name: schemaTransform.identifier, build: (ctx) => schemaTransform.expand(ctx) };
  }
  const definition = options.registry.lookup(urn);
  const values = readConfigValues(decodeConfigurationRow(payload), definition.fields);
  const prepared = definition.prepare ? definition.prepare(values) : values;
  return { name: definition.name, build: (ctx) => definition.expand(prepared, ctx) };
}

function preparedFor(urn: string, payload: Uint8Array, options: ExpandOptions): PreparedExpansion {
  if (payload.length > MAX_CACHED_PAYLOAD_BYTES) return prepare(urn, payload, options);
  let cache = preparedCaches.get(options);
  if (!cache) preparedCaches.set(options, (cache = new BoundedCache(256)));
  const key = `${urn}\n${Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("latin1")}`;
  let prepared = cache.get(key);
  if (!prepared) cache.set(key, (prepared = prepare(urn, payload, options)));
  return prepared;
}

export function expand(request: expansionApi.IExpansionRequest, options: ExpandOptions): ExpandOutcome {
  const transform = request.transform;
  const urn = transform?.spec?.urn ?? "";
  if (!transform || !urn) throw invalidArgument("transform.spec.urn", "the request names no transform URN");
  const { name, build } = preparedFor(urn, transform.spec?.payload ?? new Uint8Array(0), options);

  const namespace = request.namespace ?? "";
  const builder = new ExpansionBuilder(namespace, `${namespace}kafka-beam-ts`, environmentProto(options.environment));
  const uniqueName = transform.uniqueName || name;
  const inputs = { ...(transform.inputs ?? {}) };
  const requestComponents = request.components ?? {};
  for (const [tag, id] of Object.entries(inputs)) {
    if (!requestComponents.pcollections?.[id]) throw invalidArgument(`transform.inputs[${tag}]`, `PCollection ${id} is not in the request's components`);
  }
  const result = build({ builder, inputs, uniqueName, requestComponents });

  // Our components plus the caller's (minus its transforms: the caller asserts new transform ids are in the namespace).
  const { transforms: _callerTransforms, ...callerRest } = requestComponents;
  const response: expansionApi.IExpansionResponse = {
    components: builder.components(callerRest),
    transform: {
      uniqueName,
      spec: null,
      inputs,
      outputs: { ...result.outputs },
      subtransforms: [...result.subtransforms],
    },
    requirements: [...builder.requirements],
  };
  return { urn, response };
}
