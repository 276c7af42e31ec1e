// gRPC service definitions straight from the reflection root: one function serves server.addService and
// grpc.makeGenericClientConstructor, for every service under proto/.
import type * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs/light.js";
import { protoRoot } from "./runtime.js";

/** Fully qualified names of the services under proto/ (what grpcServiceDefinition accepts). */
export const beamServiceNames = [
  "org.apache.beam.model.expansion.v1.ExpansionService",
  "org.apache.beam.model.fn_execution.v1.BeamFnControl",
  "org.apache.beam.model.fn_execution.v1.BeamFnData",
  "org.apache.beam.model.fn_execution.v1.BeamFnState",
  "org.apache.beam.model.fn_execution.v1.BeamFnLogging",
  "org.apache.beam.model.fn_execution.v1.BeamFnExternalWorkerPool",
  "org.apache.beam.model.fn_execution.v1.BeamFnWorkerStatus",
  "org.apache.beam.model.fn_execution.v1.ProvisionService",
  "org.apache.beam.model.job_management.v1.JobService",
  "org.apache.beam.model.job_management.v1.ArtifactRetrievalService",
  "org.apache.beam.model.job_management.v1.ArtifactStagingService",
] as const;

export type BeamServiceName = (typeof beamServiceNames)[number];

const cache = new Map<string, grpc.ServiceDefinition>();

/** A message already in wire format: serializers send its bytes as they are (a handler that encoded it itself). */
export class EncodedMessage {
  constructor(readonly bytes: Uint8Array) {}
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function serializerOf(type: protobuf.Type): (message: object) => Buffer {
  return (message) => toBuffer(message instanceof EncodedMessage ? message.bytes : type.encode(message).finish());
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/**
 * The @grpc/grpc-js definition of a service: paths `/<package>.<Service>/<Method>`, protobuf (de)serializers
 * (requests and responses may be message instances, plain objects ready for `encode` — enums as numbers, int64 as
 * Long/number/decimal string, bytes as Uint8Array — or an EncodedMessage), streaming flags as in the .proto. Method
 * keys are the proto names (`Expand`); `originalName` adds the lowerCamel alias (`expand`) on generic clients.
 */
export function grpcServiceDefinition(fullServiceName: BeamServiceName): grpc.ServiceDefinition {
  const cached = cache.get(fullServiceName);
  if (cached) return cached;
  const service = protoRoot.lookup(fullServiceName);
  if (!(service instanceof protobuf.Service))
    throw new Error(`grpcServiceDefinition: no service ${fullServiceName} in proto/`);
  const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const request = method.resolvedRequestType!;
    const response = method.resolvedResponseType!;
    definition[method.name] = {
      path: `/${fullServiceName}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: serializerOf(request),
      requestDeserialize: (bytes: Buffer) => request.decode(bytes),
      responseSerialize: serializerOf(response),
      responseDeserialize: (bytes: Buffer) => response.decode(bytes),
      originalName: lowerFirst(method.name),
    };
  }
  cache.set(fullServiceName, definition);
  return definition;
}
