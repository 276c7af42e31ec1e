// Calls to a running ExpansionService with the request sent as raw bytes and the response handed back as raw bytes:
// a fuzzed request need not decode on our side, and a response that does not decode shows up as such (the generic
// client would report it as a client-side INTERNAL error, indistinguishable from the server's).
import * as grpc from "@grpc/grpc-js";

const SERVICE = "/org.apache.beam.model.expansion.v1.ExpansionService";

export type ExpansionMethod = "Expand" | "DiscoverSchemaTransform";

/** A call's outcome: the response bytes, or the gRPC status the call ended with (ours: DEADLINE_EXCEEDED). */
export type RawOutcome =
  | { readonly ok: true; readonly bytes: Buffer; readonly millis: number }
  | { readonly ok: false; readonly code: grpc.status; readonly details: string; readonly millis: number };

export interface RawExpansionClient {
  call(method: ExpansionMethod, request: Uint8Array, deadlineMs: number): Promise<RawOutcome>;
  close(): void;
}

const identity = (bytes: Buffer): Buffer => bytes;

/**
 * A plaintext client without message size limits (our service echoes the caller's components back, so a large
 * request makes a large response). `ownConnection` gives it a connection of its own, as a separate SDK process
 * would have, instead of the one grpc-js shares between clients of the same address.
 */
export function rawExpansionClient(address: string, options: { ownConnection?: boolean } = {}): RawExpansionClient {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": -1,
    "grpc.max_send_message_length": -1,
    ...(options.ownConnection ? { "grpc.use_local_subchannel_pool": 1 } : {}),
  });
  return {
    call: (method, request, deadlineMs) =>
      new Promise((resolve) => {
        const started = performance.now();
        client.makeUnaryRequest(
          `${SERVICE}/${method}`,
          identity,
          identity,
          Buffer.from(request.buffer, request.byteOffset, request.byteLength),
          { deadline: Date.now() + deadlineMs },
          (err: grpc.ServiceError | null, bytes?: Buffer) => {
            const millis = performance.now() - started;
            if (err) resolve({ ok: false, code: err.code, details: err.details, millis });
            else resolve({ ok: true, bytes: bytes ?? Buffer.alloc(0), millis });
          },
        );
      }),
    close: () => client.close(),
  };
}

/** The name of a gRPC status code (`INVALID_ARGUMENT`), for tallies and messages. */
export function statusName(code: grpc.status): string {
  return grpc.status[code] ?? `status ${code}`;
}
