// Public face of the wire layer: Beam's model protos (proto/) as typed protobufjs message classes.
//
//   const p: runnerApi.Pipeline = runnerApi.Pipeline.decode(bytes);
//   const bytes = expansionApi.ExpansionRequest.encode({ namespace: "ns", transform: {...} }).finish();
//
// Field names are camelCase (unique_name → uniqueName). int64 fields decode to Long (toBigInt/fromBigInt), bytes
// to Buffer (a Uint8Array). A oneof is a set of optional fields plus a virtual name property saying which is set:
// `req.request === "processBundle"` and `req.processBundle`. Groups are the proto packages; the aliases name
// the .proto file a message lives in (schemaApi.Schema is runnerApi.Schema).
import { org, google } from "./generated/beam.js";

/** org.apache.beam.model.pipeline.v1: beam_runner_api, schema, external_transforms, metrics, endpoints, standard_window_fns. */
export import runnerApi = org.apache.beam.model.pipeline.v1;
/** Alias of runnerApi for schema.proto messages (Schema, Field, FieldType, Row, ...). */
export import schemaApi = org.apache.beam.model.pipeline.v1;
/** Alias of runnerApi for external_transforms.proto (ExternalConfigurationPayload, SchemaTransformPayload, ...). */
export import externalTransforms = org.apache.beam.model.pipeline.v1;
/** Alias of runnerApi for metrics.proto (MonitoringInfo, MonitoringInfoSpecs, ...). */
export import metricsApi = org.apache.beam.model.pipeline.v1;
/** Alias of runnerApi for endpoints.proto (ApiServiceDescriptor, AuthenticationSpec). */
export import endpointsApi = org.apache.beam.model.pipeline.v1;
/** org.apache.beam.model.fn_execution.v1: beam_fn_api and beam_provision_api. */
export import fnApi = org.apache.beam.model.fn_execution.v1;
/** Alias of fnApi for beam_provision_api.proto (ProvisionInfo, GetProvisionInfoRequest/Response). */
export import provisionApi = org.apache.beam.model.fn_execution.v1;
/** org.apache.beam.model.expansion.v1: beam_expansion_api. */
export import expansionApi = org.apache.beam.model.expansion.v1;
/** org.apache.beam.model.job_management.v1: beam_job_api and beam_artifact_api. */
export import jobApi = org.apache.beam.model.job_management.v1;
/** Alias of jobApi for beam_artifact_api.proto (ResolveArtifactsRequest, GetArtifactResponse, ...). */
export import artifactApi = org.apache.beam.model.job_management.v1;
/** google.protobuf well-known types used by Beam: Struct/Value/ListValue, Timestamp, Duration. */
export import protobufWkt = google.protobuf;

export { toBigInt, fromBigInt } from "./int64.js";
export type { Long } from "./int64.js";
export { grpcServiceDefinition, beamServiceNames, EncodedMessage } from "./grpc.js";
export { beamClient, dialTarget, unary } from "./grpc-client.js";
export type { GenericClient } from "./grpc-client.js";
export { lengthDelimitedHeader, readLengthDelimitedHeader } from "./wire.js";
export type { BeamServiceName } from "./grpc.js";
export { urns, beamConstants, monitoringInfoSpecs, monitoringInfoLabels } from "./urns.js";
export type { MonitoringInfoSpecFacts } from "./urns.js";
export { protoRoot } from "./runtime.js";
