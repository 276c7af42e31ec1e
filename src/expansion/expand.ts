// One Expand call, independent of gRPC: request in, response (or ExpansionError) out.
import { expansionApi, lengthDelimitedHeader, readLengthDelimitedHeader, runnerApi } from "../model/proto/index.js";
import { ExpansionBuilder } from "./components.js";
import { environmentProto, type EnvironmentConfig } from "../model/environment.js";
import { BoundedCache } from "./bounded-cache.js";
import { invalidArgument } from "./errors.js";
import type { SecretsPolicy } from "./secrets.js";
import { decodeConfigurationRow, readConfigValues } from "./payload.js";
import type { ExpansionContext, ExpansionResult, TransformRegistry } from "./registry.js";
import {
  kafkaSchemaTransformDefinitions,
  prepareSchemaTransform,
  SCHEMA_TRANSFORM_PAYLOAD_URN,
  type SchemaTransformDefinition,
} from "./schematransform/index.js";
import { makeTemplate, renderTemplate, templatableNamespace, type ResponseTemplate } from "./response-template.js";

/**
 * What an expansion service serves and where the expanded transforms run. Decoded payloads are cached per options
 * object, so create one for the service's lifetime rather than one per request.
 */
export interface ExpandOptions {
  readonly registry: TransformRegistry;
  readonly environment: EnvironmentConfig;
  /** SchemaTransforms served (discovery and `beam:expansion:payload:schematransform:v1`); default: the Kafka ones. */
  readonly schemaTransforms?: readonly SchemaTransformDefinition[];
  /** Literal secrets in Kafka configs: sealed, refused or passed into payloads (default: passed, see secrets.ts). */
  readonly secrets?: SecretsPolicy;
}

/** The SchemaTransforms an expansion service with these options serves. */
export function servedSchemaTransforms(
  options: Pick<ExpandOptions, "schemaTransforms">,
): readonly SchemaTransformDefinition[] {
  return options.schemaTransforms ?? kafkaSchemaTransformDefinitions();
}

/** What `expand` returns: the requested transform's URN (for metrics and logs) and the ExpansionResponse. */
export interface ExpandOutcome {
  readonly urn: string;
  readonly response: expansionApi.IExpansionResponse;
}

/** A request's URN and payload, checked and ready to build under any namespace. */
interface PreparedExpansion {
  readonly name: string;
  build(ctx: ExpansionContext): ExpansionResult;
  /** Responses without inputs, by unique name and namespace length (null: the expansion cannot be templated). */
  readonly templates: Map<string, ResponseTemplateBody | null>;
}

/**
 * A response template cut after the header of its first field (`components`, field 1): the body starts with our
 * components' entries. A request's own components are encoded in front of them, inside the same field.
 */
interface ResponseTemplateBody extends ResponseTemplate {
  readonly componentsLength: number;
}

const COMPONENTS_FIELD = 1;

const MAX_TEMPLATES_PER_PAYLOAD = 32;

/**
 * Templates are kept per unique name: a name longer than this (SDKs send short ones) is expanded without one, so
 * that requests with long distinct names cannot fill memory with templates (namespaces are bounded the same way).
 */
const MAX_TEMPLATE_NAME_LENGTH = 256;

// Pipelines expand the same transform with the same payload again and again (every submission of a job, every test
// run): decoding and validating it once per service is enough. Bounded, and large payloads are not kept.
const MAX_CACHED_PAYLOAD_BYTES = 64 * 1024;
const preparedCaches = new WeakMap<ExpandOptions, BoundedCache<string, PreparedExpansion>>();

function prepare(urn: string, payload: Uint8Array, options: ExpandOptions): PreparedExpansion {
  if (urn === SCHEMA_TRANSFORM_PAYLOAD_URN) {
    const schemaTransform = prepareSchemaTransform(payload, servedSchemaTransforms(options));
    return { name: schemaTransform.identifier, build: (ctx) => schemaTransform.expand(ctx), templates: new Map() };
  }
  const definition = options.registry.lookup(urn);
  const values = readConfigValues(decodeConfigurationRow(payload), definition.fields);
  const prepared = definition.prepare ? definition.prepare(values) : values;
  return { name: definition.name, build: (ctx) => definition.expand(prepared, ctx), templates: new Map() };
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

/** What every path through Expand checks first: a URN, its prepared payload, inputs that exist in the request. */
interface CheckedRequest {
  readonly urn: string;
  readonly prepared: PreparedExpansion;
  readonly namespace: string;
  readonly uniqueName: string;
  readonly inputs: Record<string, string>;
  readonly requestComponents: runnerApi.IComponents;
}

function checkRequest(request: expansionApi.IExpansionRequest, options: ExpandOptions): CheckedRequest {
  const transform = request.transform;
  const urn = transform?.spec?.urn ?? "";
  if (!transform || !urn) throw invalidArgument("transform.spec.urn", "the request names no transform URN");
  // protobufjs decodes an absent bytes field as a shared empty array, not a Uint8Array.
  const payload = transform.spec?.payload;
  const prepared = preparedFor(urn, payload instanceof Uint8Array ? payload : new Uint8Array(0), options);
  const inputs = { ...(transform.inputs ?? {}) };
  const requestComponents = request.components ?? {};
  for (const [tag, id] of Object.entries(inputs)) {
    if (!requestComponents.pcollections?.[id])
      throw invalidArgument(`transform.inputs[${tag}]`, `PCollection ${id} is not in the request's components`);
  }
  return {
    urn,
    prepared,
    namespace: request.namespace ?? "",
    uniqueName: transform.uniqueName || prepared.name,
    inputs,
    requestComponents,
  };
}

/** The name Beam Go gives every cross-language transform in its requests. */
const GO_PLACEHOLDER_NAME = "External";

/**
 * The name of the expanded transform. Beam Go names every cross-language transform "External" and keeps the name
 * the service returns, so a Go pipeline with a Kafka read and a write holds two transforms of that name, and a
 * runner that checks names refuses it (Flink's job service: "Transforms e3 and e1 both have unique_name
 * External"). Such a transform is named after its namespace instead, which Go makes unique per transform.
 */
function expandedTransformName(requested: string, namespace: string): string {
  return requested === GO_PLACEHOLDER_NAME && namespace !== "" ? `${GO_PLACEHOLDER_NAME}_${namespace}` : requested;
}

/** Our part of the response: the graph under `namespace`, plus the caller's components given (ours win on a clash). */
function responseFor(
  checked: Omit<CheckedRequest, "urn">,
  callerComponents: runnerApi.IComponents,
  options: ExpandOptions,
): expansionApi.IExpansionResponse {
  const { namespace, inputs } = checked;
  const uniqueName = expandedTransformName(checked.uniqueName, namespace);
  const builder = new ExpansionBuilder(namespace, `${namespace}kafka-beam-ts`, environmentProto(options.environment));
  const result = checked.prepared.build({
    builder,
    inputs,
    uniqueName,
    requestComponents: checked.requestComponents,
    ...(options.secrets ? { secrets: options.secrets } : {}),
  });
  return {
    components: builder.components(callerComponents),
    transform: {
      uniqueName,
      spec: null,
      inputs,
      outputs: { ...result.outputs },
      subtransforms: [...result.subtransforms],
    },
    requirements: [...builder.requirements],
  };
}

/** The caller's components go back with ours, except its transforms (the caller asserts new ones are ours). */
function callerComponentsOf(requestComponents: runnerApi.IComponents): runnerApi.IComponents {
  const { transforms: _callerTransforms, ...rest } = requestComponents;
  return rest;
}

/**
 * One Expand call without gRPC: the transform's graph built under the request's namespace, the caller's components
 * (except its transforms) passed back with ours. Throws ExpansionError (INVALID_ARGUMENT for a bad request or
 * payload, UNIMPLEMENTED for an unknown URN or SchemaTransform).
 */
export function expand(request: expansionApi.IExpansionRequest, options: ExpandOptions): ExpandOutcome {
  const checked = checkRequest(request, options);
  return { urn: checked.urn, response: responseFor(checked, callerComponentsOf(checked.requestComponents), options) };
}

/** Components a template build must not read: a transform without inputs has no business with the caller's. */
const NO_REQUEST_COMPONENTS = new Proxy(
  {},
  {
    get() {
      throw new Error("an expansion without inputs read the request's components");
    },
    ownKeys() {
      throw new Error("an expansion without inputs read the request's components");
    },
  },
) as runnerApi.IComponents;

/** The body of a template (see ResponseTemplateBody), or undefined when it does not start with the components. */
function templateBody(template: ResponseTemplate): ResponseTemplateBody | undefined {
  const header = readLengthDelimitedHeader(template.bytes);
  if (!header || header.fieldNumber !== COMPONENTS_FIELD) return undefined;
  const start = header.contentStart;
  if (template.positions.some((p) => p < start)) return undefined;
  return {
    bytes: template.bytes.subarray(start),
    namespaceLength: template.namespaceLength,
    positions: template.positions.map((p) => p - start),
    componentsLength: header.length,
  };
}

function templateFor(checked: CheckedRequest, options: ExpandOptions): ResponseTemplateBody | undefined {
  const templates = checked.prepared.templates;
  const key = `${checked.namespace.length}\n${checked.uniqueName}`;
  let body = templates.get(key);
  if (body === undefined) {
    const encodeFor = (namespace: string) =>
      expansionApi.ExpansionResponse.encode(
        responseFor({ ...checked, namespace, requestComponents: NO_REQUEST_COMPONENTS }, {}, options),
      ).finish();
    const template = makeTemplate(encodeFor, checked.namespace.length);
    body = (template && templateBody(template)) ?? null;
    if (templates.size >= MAX_TEMPLATES_PER_PAYLOAD) templates.clear();
    templates.set(key, body);
  }
  return body ?? undefined;
}

/**
 * Expand, encoded (the service's path). Transforms without inputs render a pre-encoded response (see
 * response-template.ts), the request's own components encoded in front of ours inside the same `components` field
 * (a later map entry wins, so ours do on a clash, as in `expand`). The bytes decode to what `expand` returns.
 */
export function expandEncoded(
  request: expansionApi.IExpansionRequest,
  options: ExpandOptions,
): { urn: string; bytes: Uint8Array } {
  const checked = checkRequest(request, options);
  const body =
    Object.keys(checked.inputs).length === 0 &&
    templatableNamespace(checked.namespace) &&
    checked.uniqueName.length <= MAX_TEMPLATE_NAME_LENGTH
      ? templateFor(checked, options)
      : undefined;
  const caller = callerComponentsOf(checked.requestComponents);
  if (!body) {
    return {
      urn: checked.urn,
      bytes: expansionApi.ExpansionResponse.encode(responseFor(checked, caller, options)).finish(),
    };
  }
  const callerBytes = runnerApi.Components.encode(caller).finish();
  const header = lengthDelimitedHeader(COMPONENTS_FIELD, callerBytes.length + body.componentsLength);
  const bytes = Buffer.allocUnsafe(header.length + callerBytes.length + body.bytes.length);
  bytes.set(header, 0);
  bytes.set(callerBytes, header.length);
  renderTemplate(body, checked.namespace, bytes, header.length + callerBytes.length);
  return { urn: checked.urn, bytes };
}
