// The gRPC ExpansionService. Errors become status codes (INVALID_ARGUMENT naming the field, UNIMPLEMENTED listing
// URNs); nothing a request carries can crash the server. Config values never reach logs.
import * as grpc from "@grpc/grpc-js";
import { EncodedMessage, type expansionApi, grpcServiceDefinition } from "../model/proto/index.js";
import { expandEncoded, servedSchemaTransforms, type ExpandOptions } from "./expand.js";
import { discoverSchemaTransforms } from "./schematransform/index.js";
import { ExpansionError } from "./errors.js";

/** Hooks for metrics and logs, called synchronously on every Expand request: keep them cheap and do not throw. */
export interface ExpansionEvents {
  /** Called after every Expand with the URN and "ok" or the error code: for metrics and logs. */
  onExpand?(urn: string, outcome: "ok" | ExpansionError["code"], millis: number, error?: ExpansionError): void;
}

const STATUS: Readonly<Record<ExpansionError["code"], grpc.status>> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  UNIMPLEMENTED: grpc.status.UNIMPLEMENTED,
  INTERNAL: grpc.status.INTERNAL,
};

/**
 * The handlers of Beam's ExpansionService (Expand, DiscoverSchemaTransform). Expand answers with pre-encoded bytes,
 * which only this package's service definition serializes: register them with addExpansionService. Exceptions
 * other than ExpansionError become INTERNAL; discovery failures go in the response's `error` field, as in Beam.
 */
export function expansionServiceImplementation(
  options: ExpandOptions,
  events: ExpansionEvents = {},
): grpc.UntypedServiceImplementation {
  return {
    Expand(
      call: grpc.ServerUnaryCall<expansionApi.ExpansionRequest, expansionApi.IExpansionResponse>,
      callback: grpc.sendUnaryData<expansionApi.IExpansionResponse | EncodedMessage>,
    ) {
      const started = performance.now();
      const urn = call.request.transform?.spec?.urn ?? "";
      try {
        const { bytes } = expandEncoded(call.request, options);
        events.onExpand?.(urn, "ok", performance.now() - started);
        callback(null, new EncodedMessage(bytes));
      } catch (err) {
        const error =
          err instanceof ExpansionError
            ? err
            : new ExpansionError(
                "INTERNAL",
                `expansion failed: ${err instanceof Error ? err.message : String(err)}`,
                undefined,
                { cause: err },
              );
        events.onExpand?.(urn, error.code, performance.now() - started, error);
        callback({ code: STATUS[error.code], details: error.message });
      }
    },
    DiscoverSchemaTransform(
      _call: grpc.ServerUnaryCall<unknown, unknown>,
      callback: grpc.sendUnaryData<expansionApi.IDiscoverSchemaTransformResponse>,
    ) {
      try {
        callback(null, { schemaTransformConfigs: discoverSchemaTransforms(servedSchemaTransforms(options)) });
      } catch (err) {
        // Beam's services report discovery failures in the response's error field.
        callback(null, { error: `discovery failed: ${err instanceof Error ? err.message : String(err)}` });
      }
    },
  };
}

/**
 * Registers Beam's ExpansionService (org.apache.beam.model.expansion.v1) on `server`, serving `options`. Binding
 * and starting the server are the caller's.
 */
export function addExpansionService(server: grpc.Server, options: ExpandOptions, events?: ExpansionEvents): void {
  server.addService(
    grpcServiceDefinition("org.apache.beam.model.expansion.v1.ExpansionService"),
    expansionServiceImplementation(options, events),
  );
}
