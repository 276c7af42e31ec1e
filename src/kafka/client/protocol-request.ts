// Our own requests (Fetch, Produce, InitProducerId) on a kafkajs broker's connection: the body is encoded by us,
// kafkajs adds the request header and frames it, and hands back the response body for our decoder.
import { KafkaUnsupportedError } from "../errors.js";
import type { InternalBroker, ProtocolRequest } from "./kafkajs-internals.js";

export interface OwnRequest<T> {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly apiName: string;
  readonly body: Buffer;
  readonly decode: (payload: Buffer) => T & { readonly throttleTimeMs: number };
  readonly timeoutMs: number;
  /** false for Produce with acks=0: the broker sends no response. */
  readonly expectResponse?: boolean;
}

/** Fails, naming both sides' versions, if the broker does not serve the version we speak. */
function checkApiVersion(broker: InternalBroker, apiKey: number, version: number, name: string): void {
  const versions = broker.versions?.[apiKey];
  if (versions && (versions.minVersion > version || versions.maxVersion < version)) {
    throw new KafkaUnsupportedError(
      `broker ${broker.nodeId ?? "?"} serves ${name} v${versions.minVersion}-v${versions.maxVersion}; this client speaks v${version}`,
    );
  }
}

/** Sends the request; resolves with the decoded response, or undefined when none is expected. */
export async function sendOwnRequest<T>(broker: InternalBroker, request: OwnRequest<T>): Promise<T | undefined> {
  checkApiVersion(broker, request.apiKey, request.apiVersion, request.apiName);
  const protocolRequest: ProtocolRequest = {
    request: {
      apiKey: request.apiKey,
      apiVersion: request.apiVersion,
      apiName: request.apiName,
      encode: async () => ({ buf: request.body, buffer: request.body }),
      ...(request.expectResponse === false ? { expectResponse: () => false } : {}),
    },
    response: {
      decode: async (payload: Buffer) => {
        const decoded = request.decode(payload);
        // KIP-219: the broker answered at once and expects the client to hold back for throttleTimeMs.
        return Object.assign(decoded, { clientSideThrottleTime: decoded.throttleTimeMs });
      },
      parse: async (decoded: unknown) => decoded,
    },
    requestTimeout: request.timeoutMs,
    logResponseError: false,
  };
  return (await broker.connectionPool.send(protocolRequest)) as T | undefined;
}
