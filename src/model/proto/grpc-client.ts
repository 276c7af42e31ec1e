// gRPC clients of Beam's services: one generic client per service and address (the worker's Fn API streams, the
// portable runner's Job API), calls as promises.
import * as grpc from "@grpc/grpc-js";
import { grpcServiceDefinition, type BeamServiceName } from "./grpc.js";

/** A grpc-js client whose methods are the service's, by name. */
export type GenericClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

const constructors = new Map<string, grpc.ServiceClientConstructor>();

/** "localhost:1234", "dns:///host:1234", "unix:..." as runners send them, in the form grpc-js dials. */
export function dialTarget(url: string): string {
  return url.replace(/^(grpc|http):\/\//, "");
}

/** A plaintext client of a Beam service at `url`, without message size limits (bundles and pipelines can be large). */
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

/** A unary call as a promise. */
export function unary<Req, Res>(
  client: GenericClient,
  method: string,
  request: Req,
  metadata: grpc.Metadata = new grpc.Metadata(),
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
