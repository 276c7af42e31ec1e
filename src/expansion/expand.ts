// One Expand call, independent of gRPC: request in, response (or ExpansionError) out.
import type { expansionApi } from "../model/proto/index.js";
import { ExpansionBuilder } from "./components.js";
import { environmentProto, type EnvironmentConfig } from "./environment.js";
import { invalidArgument } from "./errors.js";
import { decodeConfigurationRow, readConfigValues } from "./payload.js";
import type { TransformRegistry } from "./registry.js";

export interface ExpandOptions {
  readonly registry: TransformRegistry;
  readonly environment: EnvironmentConfig;
}

export interface ExpandOutcome {
  readonly urn: string;
  readonly response: expansionApi.IExpansionResponse;
}

export function expand(request: expansionApi.IExpansionRequest, options: ExpandOptions): ExpandOutcome {
  const transform = request.transform;
  const urn = transform?.spec?.urn ?? "";
  if (!transform || !urn) throw invalidArgument("transform.spec.urn", "the request names no transform URN");
  const definition = options.registry.lookup(urn);
  const row = decodeConfigurationRow(transform.spec?.payload ?? new Uint8Array(0));
  const values = readConfigValues(row, definition.fields);

  const namespace = request.namespace ?? "";
  const builder = new ExpansionBuilder(namespace, `${namespace}kafka-beam-ts`, environmentProto(options.environment));
  const uniqueName = transform.uniqueName || definition.name;
  const inputs = { ...(transform.inputs ?? {}) };
  const requestComponents = request.components ?? {};
  for (const [tag, id] of Object.entries(inputs)) {
    if (!requestComponents.pcollections?.[id]) throw invalidArgument(`transform.inputs[${tag}]`, `PCollection ${id} is not in the request's components`);
  }
  const result = definition.expand(values, { builder, inputs, uniqueName, requestComponents });

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
