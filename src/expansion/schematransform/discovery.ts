// The served set: discovery (DiscoverSchemaTransform's answer) and a request's SchemaTransformPayload, decoded and
// checked before anything is built.
import { externalTransforms, runnerApi, type expansionApi } from "../../model/proto/index.js";
import { decodeFromBytes, rowCoder } from "../../model/coders/index.js";
import { decodeSchema, encodeSchema } from "../../model/schema.js";
import { ExpansionError, invalidArgument } from "../errors.js";
import type { ExpansionContext, ExpansionResult } from "../registry.js";
import {
  readSchemaTransformConfig,
  schemaTransformConfigSchema,
  type SchemaTransformConfig,
  type SchemaTransformDefinition,
} from "./config.js";
import { managedDefinition } from "./managed.js";
import { KAFKA_READ } from "./read.js";
import { KAFKA_WRITE } from "./write.js";

/** kafka_read, kafka_write and the managed transform over them. */
export function kafkaSchemaTransformDefinitions(): SchemaTransformDefinition[] {
  return [KAFKA_READ, KAFKA_WRITE, managedDefinition([KAFKA_READ, KAFKA_WRITE])];
}

/** DiscoverSchemaTransform's answer for these definitions. */
export function discoverSchemaTransforms(
  definitions: readonly SchemaTransformDefinition[],
): Record<string, expansionApi.ISchemaTransformConfig> {
  const configs: Record<string, expansionApi.ISchemaTransformConfig> = {};
  for (const d of definitions) {
    configs[d.identifier] = {
      configSchema: runnerApi.Schema.decode(encodeSchema(schemaTransformConfigSchema(d))),
      inputPcollectionNames: [...d.inputs],
      outputPcollectionNames: [...d.outputs],
      description: d.description,
    };
  }
  return configs;
}

export interface PreparedSchemaTransform {
  readonly identifier: string;
  readonly config: SchemaTransformConfig;
  expand(ctx: ExpansionContext): ExpansionResult;
}

/** Decodes a SchemaTransformPayload, finds its transform and checks its config (before anything is built). */
export function prepareSchemaTransform(
  payload: Uint8Array,
  definitions: readonly SchemaTransformDefinition[],
): PreparedSchemaTransform {
  let message: externalTransforms.SchemaTransformPayload;
  try {
    message = externalTransforms.SchemaTransformPayload.decode(payload);
  } catch (err) {
    throw invalidArgument("payload", `not a SchemaTransformPayload: ${(err as Error).message}`, err);
  }
  const identifier = message.identifier ?? "";
  const definition = definitions.find((d) => d.identifier === identifier);
  if (!definition) {
    throw new ExpansionError(
      "UNIMPLEMENTED",
      `no SchemaTransform ${JSON.stringify(identifier)}; known: ${definitions.map((d) => d.identifier).join(", ")}`,
      "identifier",
    );
  }
  if (!message.configurationSchema) throw invalidArgument("configuration_schema", "missing");
  let row: Record<string, unknown>;
  try {
    const schema = decodeSchema(runnerApi.Schema.encode(message.configurationSchema).finish());
    row = decodeFromBytes(rowCoder(schema), message.configurationRow ?? new Uint8Array(0)) as Record<string, unknown>;
  } catch (err) {
    throw invalidArgument(
      "configuration_row",
      `does not decode with configuration_schema: ${(err as Error).message}`,
      err,
    );
  }
  const config = readSchemaTransformConfig(definition, Object.entries(row));
  return { identifier, config, expand: (ctx) => definition.expand(config, ctx) };
}
