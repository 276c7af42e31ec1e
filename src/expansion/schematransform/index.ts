// Public face of the SchemaTransform route: Beam YAML's and Python's `managed.Read/Write(managed.KAFKA, ...)` reach
// this service's Kafka read and write here. A caller first asks DiscoverSchemaTransform for each transform's config
// schema, then sends an ExpansionRequest whose spec is `beam:expansion:payload:schematransform:v1` with a
// SchemaTransformPayload (identifier, configuration schema, configuration row).
//   ids.ts           URNs and identifiers
//   config.ts        config fields, schema, and the check of a sent config
//   kafka-fields.ts  what the read and write configs share
//   read.ts, write.ts, managed.ts   the transforms
//   discovery.ts     the served set, discovery, the request's payload
export { SCHEMA_TRANSFORM_PAYLOAD_URN, SCHEMA_TRANSFORM_IDS } from "./ids.js";
export { readSchemaTransformConfig, schemaTransformConfigSchema } from "./config.js";
export type {
  ConfigField,
  ConfigFieldKind,
  ConfigFieldValue,
  ErrorHandlingConfig,
  SchemaTransformConfig,
  SchemaTransformDefinition,
} from "./config.js";
export { kafkaReadPlan } from "./read.js";
export { kafkaWritePlan } from "./write.js";
export { kafkaSchemaTransformDefinitions, discoverSchemaTransforms, prepareSchemaTransform } from "./discovery.js";
export type { PreparedSchemaTransform } from "./discovery.js";
