// gRPC plumbing for the worker: one generic client per Beam service and address, every call carrying the
// `worker_id` metadata runners use to route Fn API streams to the worker they started.
import * as grpc from "@grpc/grpc-js";
import { grpcServiceDefinition, type BeamServiceName } from "../model/proto/index.js";

export type GenericClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

const constructors = new Map<string, grpc.ServiceClientConstructor>();

/** "localhost:1234", "dns:///host:1234", "unix:..." as runners send them, in the form grpc-js dials. */
export function dialTarget(url: string): string {
  return url.replace(/^(grpc|http):\/\//, "");
}

export function beamClient(service: BeamServiceName, url: string): GenericClient {
  let ctor = constructors.get(service);
  if (!ctor) {
    ctor = grpc.makeGenericClientConstructor(grpcServiceDefinition(service), service);
    constructors.set(service, ctor);
  }
  return new ctor(dialTarget(url), grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": -1,
    "grpc.max_send_message_length": -1,
  }) as unknown as GenericClient;
}

export function workerMetadata(workerId: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("worker_id", workerId);
  return metadata;
}

/** A unary call as a promise. */
export function unary<Req, Res>(
  client: GenericClient,
  method: string,
  request: Req,
  metadata: grpc.Metadata,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    (client[method] as (r: Req, m: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: Res) => void) => void).call(
      client,
      request,
      metadata,
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}
