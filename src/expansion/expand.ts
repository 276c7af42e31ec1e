// One Expand call, independent of gRPC: request in, response (or ExpansionError) out.
import type { expansionApi } from "../model/proto/index.js";
import { ExpansionBuilder } from "./components.js";
import { environmentProto, type EnvironmentConfig } from "./environment.js";
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

export function expand(request: expansionApi.IExpansionRequest, options: ExpandOptions): ExpandOutcome {
  const transform = request.transform;
  const urn = transform?.spec?.urn ?? "";
  if (!transform || !urn) throw invalidArgument("transform.spec.urn", "the request names no transform URN");
  const payload = transform.spec?.payload ?? new Uint8Array(0);
  let name: string;
  let run: (ctx: ExpansionContext) => ExpansionResult;
  if (urn === SCHEMA_TRANSFORM_PAYLOAD_URN) {
    const prepared = prepareSchemaTransform(payload, servedSchemaTransforms(options));
    name = prepared.identifier;
    run = prepared.expand;
  } else {
    const definition = options.registry.lookup(urn);
    const values = readConfigValues(decodeConfigurationRow(payload), definition.fields);
    name = definition.name;
    run = (ctx) => definition.expand(values, ctx);
  }

  const namespace = request.namespace ?? "";
  const builder = new ExpansionBuilder(namespace, `${namespace}kafka-beam-ts`, environmentProto(options.environment));
  const uniqueName = transform.uniqueName || name;
  const inputs = { ...(transform.inputs ?? {}) };
  const requestComponents = request.components ?? {};
  for (const [tag, id] of Object.entries(inputs)) {
    if (!requestComponents.pcollections?.[id]) throw invalidArgument(`transform.inputs[${tag}]`, `PCollection ${id} is not in the request's components`);
  }
  const result = run({ builder, inputs, uniqueName, requestComponents });

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
