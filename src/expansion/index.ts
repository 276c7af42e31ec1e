// Public face of the expansion layer.
export { addExpansionService, expansionServiceImplementation } from "./service.js";
export type { ExpansionEvents } from "./service.js";
export { expand, expandEncoded } from "./expand.js";
export type { ExpandOptions, ExpandOutcome } from "./expand.js";
export { TransformRegistry } from "./registry.js";
export type { TransformDefinition, ExpansionContext, ExpansionResult } from "./registry.js";
export { kafkaTransformDefinitions } from "./kafka-transforms.js";
export { environmentProto } from "../model/environment.js";
export type {
  EnvironmentConfig,
  ProcessEnvironment,
  ExternalEnvironment,
  DockerEnvironment,
} from "../model/environment.js";
export { ExpansionError } from "./errors.js";
export type { ExpansionErrorCode } from "./errors.js";
export { canonicalFieldName } from "./payload.js";
export type { FieldSpec, FieldKind } from "./payload.js";
export {
  kafkaSchemaTransformDefinitions,
  discoverSchemaTransforms,
  SCHEMA_TRANSFORM_PAYLOAD_URN,
  SCHEMA_TRANSFORM_IDS,
} from "./schematransform/index.js";
export type { SchemaTransformDefinition } from "./schematransform/index.js";
