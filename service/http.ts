// The service's HTTP face (fastify): /healthz (the process is alive), /readyz (both gRPC servers accept calls),
// /metrics (Prometheus text), /transforms (every URN with its payload fields, every SchemaTransform with its config
// fields). Errors map to HTTP status codes here.
import Fastify, { type FastifyInstance } from "fastify";
import type { FieldSpec, TransformRegistry } from "../src/expansion/index.js";
// Not on the expansion layer's face yet: the SchemaTransform definitions (Beam YAML, managed).
import { SCHEMA_TRANSFORM_PAYLOAD_URN, type SchemaTransformDefinition } from "../src/expansion/index.js";
import type { Logger } from "./log.js";
import { PROMETHEUS_CONTENT_TYPE, type MetricsRegistry, type ServiceMetrics } from "./metrics.js";

export interface ReadinessCheck {
  readonly ready: boolean;
  /** Per gRPC server: "ok" or why not. */
  readonly checks: Readonly<Record<string, string>>;
}

export interface HttpDependencies {
  readonly logger: Logger;
  readonly metricsRegistry: MetricsRegistry;
  readonly metrics: ServiceMetrics;
  readonly transforms: TransformRegistry;
  readonly schemaTransforms: readonly SchemaTransformDefinition[];
  readonly environment: string;
  readonly version: string;
  readonly readiness: () => Promise<ReadinessCheck>;
}

/** What /transforms says about one payload field (bigint defaults made JSON numbers). */
export interface FieldDescription {
  readonly name: string;
  readonly type: FieldSpec["kind"];
  readonly required: boolean;
  readonly description?: string;
  /** The field is accepted only as null or this value. */
  readonly onlyValue?: unknown;
  /** Why a non-null value is refused. */
  readonly refused?: string;
}

export interface TransformDescription {
  readonly urn: string;
  readonly name: string;
  readonly fields: readonly FieldDescription[];
}

function jsonValue(value: unknown): unknown {
  return typeof value === "bigint" ? Number(value) : value;
}

export function describeTransforms(registry: TransformRegistry): TransformDescription[] {
  return registry.urns.map((urn) => {
    const definition = registry.lookup(urn);
    return {
      urn,
      name: definition.name,
      fields: definition.fields.map((f) => ({
        name: f.name,
        type: f.kind,
        required: f.required === true,
        ...(f.description !== undefined ? { description: f.description } : {}),
        ...(f.onlyValue !== undefined ? { onlyValue: jsonValue(f.onlyValue) } : {}),
        ...(f.refuseNonNull !== undefined ? { refused: f.refuseNonNull } : {}),
      })),
    };
  });
}

/** A SchemaTransform as /transforms lists it: discovered by identifier, expanded via the schematransform payload URN. */
export interface SchemaTransformDescription {
  readonly identifier: string;
  readonly description: string;
  readonly fields: readonly {
    readonly name: string;
    readonly type: string;
    readonly required: boolean;
    readonly description: string;
  }[];
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

export function describeSchemaTransforms(
  definitions: readonly SchemaTransformDefinition[],
): SchemaTransformDescription[] {
  return definitions.map((d) => ({
    identifier: d.identifier,
    description: d.description,
    fields: d.fields.map((f) => ({
      name: f.name,
      type: f.kind,
      required: f.required === true,
      description: f.description,
    })),
    inputs: d.inputs,
    outputs: d.outputs,
  }));
}

export function buildHttpServer(deps: HttpDependencies): FastifyInstance {
  const app = Fastify({ logger: false, return503OnClosing: true });
  const listing = {
    version: deps.version,
    environment: deps.environment,
    transforms: describeTransforms(deps.transforms),
    schemaTransformPayloadUrn: SCHEMA_TRANSFORM_PAYLOAD_URN,
    schemaTransforms: describeSchemaTransforms(deps.schemaTransforms),
  };

  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    deps.metrics.httpRequests.inc({ route, status: String(reply.statusCode) });
    deps.logger.debug("http request", {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    });
  });

  app.setErrorHandler(async (error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    if (status >= 500) {
      deps.metrics.errors.inc({ kind: "http" });
      deps.logger.error("http handler failed", { url: request.url, error });
    }
    return reply.code(status).send({ error: status >= 500 ? "internal error" : error.message });
  });

  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({
      error: `no route ${request.method} ${request.url}`,
      routes: ["/healthz", "/readyz", "/metrics", "/transforms"],
    }),
  );

  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_request, reply) => {
    const readiness = await deps.readiness();
    return reply
      .code(readiness.ready ? 200 : 503)
      .send({ status: readiness.ready ? "ready" : "not ready", checks: readiness.checks });
  });

  app.get("/metrics", async (_request, reply) =>
    reply.type(PROMETHEUS_CONTENT_TYPE).send(deps.metricsRegistry.render()),
  );

  app.get("/transforms", async () => listing);

  return app;
}
