// gRPC plumbing for the worker: one generic client per Beam service and address, every call carrying the
// `worker_id` metadata runners use to route Fn API streams to the worker they started.
import * as grpc from "@grpc/grpc-js";

export { beamClient, dialTarget, unary } from "../model/proto/grpc-client.js";
export type { GenericClient } from "../model/proto/grpc-client.js";

export function workerMetadata(workerId: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("worker_id", workerId);
  return metadata;
}
