// Our own requests (Fetch, Produce, InitProducerId) on a kafkajs broker's connection. We frame them ourselves and
// hand the parts to the socket in one write: kafkajs's own framing copies a request twice into zero-filled
// power-of-two buffers (a 1 MiB Produce allocates two 2 MiB buffers), a fifth of a 1 KB write's CPU. The connection's
// request queue still orders, times out and answers them, as it does kafkajs's requests. A connection that needs
// (re)authenticating first, or that does not look like kafkajs 2.2's, takes kafkajs's own path.
import { KafkaUnsupportedError } from "../errors.js";
import type { InternalBroker, InternalConnection, ProtocolRequest } from "./kafkajs-internals.js";
import { kafkaCodeError } from "./kafkajs-errors.js";
import { FieldReader } from "./protocol-codec.js";
import { API_VERSIONS_API_KEY } from "./transaction-protocol.js";

export interface OwnRequest<T> {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly apiName: string;
  /** The body after the request header, whole or in parts (sent back to back, never copied). */
  readonly body: Buffer | readonly Buffer[];
  readonly decode: (payload: Buffer) => T & { readonly throttleTimeMs: number };
  readonly timeoutMs: number;
  /** false for Produce with acks=0: the broker sends no response. */
  readonly expectResponse?: boolean;
  /**
   * A flexible version (KIP-482): request header v2 and response header v1, each the older header plus tagged fields
   * (sent empty, skipped). `decode` gets the body either way.
   */
  readonly flexible?: boolean;
}

/** The tagged fields of a flexible request header: none. */
const NO_HEADER_TAGS = Buffer.from([0]);

/**
 * A flexible request as one whose body starts with the header's (empty) tagged fields, so either framing (ours, or
 * kafkajs's header v1) sends header v2; its decoder skips the response header's tagged fields first, except
 * ApiVersions', whose response header stays v0 so that any client can read it (KIP-511).
 */
function withFlexibleHeaders<T>(request: OwnRequest<T>): OwnRequest<T> {
  if (!request.flexible) return request;
  const parts = Buffer.isBuffer(request.body) ? [request.body] : (request.body as readonly Buffer[]);
  const decode = request.decode;
  return {
    ...request,
    body: [NO_HEADER_TAGS, ...parts],
    decode:
      request.apiKey === API_VERSIONS_API_KEY
        ? decode
        : (payload) => {
            const r = new FieldReader(payload, request.apiName);
            r.taggedFields();
            return decode(payload.subarray(r.pos));
          },
  };
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
export async function sendOwnRequest<T>(broker: InternalBroker, own: OwnRequest<T>): Promise<T | undefined> {
  checkApiVersion(broker, own.apiKey, own.apiVersion, own.apiName);
  const request = withFlexibleHeaders(own);
  const pool = broker.connectionPool;
  const protocolRequest = kafkajsRequest(request);
  if (typeof pool.getConnectionByRequest !== "function") return (await pool.send(protocolRequest)) as T | undefined;
  const connection = await pool.getConnectionByRequest(protocolRequest);
  if (!framesOwnRequests(connection)) return (await connection.send(protocolRequest)) as T | undefined;
  return sendFramed(connection, request);
}

/**
 * Sends a request whose response carries one top-level error code and resolves with the response; a non-zero code
 * rejects with kafkaCodeError(`what`).
 */
export async function sendCheckedRequest<T extends { readonly errorCode: number }>(
  broker: InternalBroker,
  own: OwnRequest<T>,
  what: string,
): Promise<T> {
  const response = await sendOwnRequest(broker, own);
  if (response === undefined) throw new Error(`${own.apiName}: the broker's answer has no payload`);
  if (response.errorCode !== 0) throw kafkaCodeError(what, response.errorCode);
  return response;
}

/** Whether the connection is kafkajs 2.2's and needs no (re)authentication before this request. */
function framesOwnRequests(connection: InternalConnection): boolean {
  return (
    typeof connection.nextCorrelationId === "function" &&
    typeof connection.failIfNotConnected === "function" &&
    typeof connection.requestQueue?.push === "function" &&
    typeof connection.requestQueue.maybeThrottle === "function" &&
    typeof connection.socket?.write === "function" &&
    (!connection.sasl || connection.isAuthenticated())
  );
}

/** Request header v1 (api key, version, correlation id, client id) behind the frame's size. */
function frameHeader(request: OwnRequest<unknown>, correlationId: number, clientId: string | null, bodyBytes: number) {
  const clientIdBytes = clientId === null ? 0 : Buffer.byteLength(clientId);
  const header = Buffer.allocUnsafe(4 + 2 + 2 + 4 + 2 + clientIdBytes);
  let pos = header.writeInt32BE(header.length - 4 + bodyBytes, 0);
  pos = header.writeInt16BE(request.apiKey, pos);
  pos = header.writeInt16BE(request.apiVersion, pos);
  pos = header.writeInt32BE(correlationId, pos);
  pos = header.writeInt16BE(clientId === null ? -1 : clientIdBytes, pos);
  if (clientId !== null) header.write(clientId, pos, "utf8");
  return header;
}

async function sendFramed<T>(connection: InternalConnection, request: OwnRequest<T>): Promise<T | undefined> {
  connection.failIfNotConnected();
  const parts = Buffer.isBuffer(request.body) ? [request.body] : (request.body as readonly Buffer[]);
  let bodyBytes = 0;
  for (const part of parts) bodyBytes += part.length;
  const expectResponse = request.expectResponse !== false;
  const correlationId = connection.nextCorrelationId();
  const header = frameHeader(request, correlationId, connection.clientId ?? null, bodyBytes);
  const { payload } = await new Promise<{ payload?: Buffer }>((resolve, reject) => {
    connection.requestQueue.push({
      entry: {
        apiKey: request.apiKey,
        apiName: request.apiName,
        apiVersion: request.apiVersion,
        correlationId,
        resolve,
        reject,
      },
      expectResponse,
      requestTimeout: request.timeoutMs,
      sendRequest: () => {
        // One writev: the header and every part, none copied.
        const socket = connection.socket;
        socket.cork();
        socket.write(header);
        for (const part of parts) socket.write(part);
        socket.uncork();
      },
    });
  });
  if (!expectResponse) return undefined;
  if (payload === undefined) throw new Error(`${request.apiName}: the broker's answer has no payload`);
  const decoded = request.decode(payload);
  // KIP-219: the broker answered at once and expects the client to hold back for throttleTimeMs.
  connection.requestQueue.maybeThrottle(decoded.throttleTimeMs);
  return decoded;
}

/** The request as kafkajs's own connection.send takes it (the body joined into one buffer). */
function kafkajsRequest<T>(request: OwnRequest<T>): ProtocolRequest {
  return {
    request: {
      apiKey: request.apiKey,
      apiVersion: request.apiVersion,
      apiName: request.apiName,
      encode: async () => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.concat(request.body as readonly Buffer[]);
        return { buf: body, buffer: body };
      },
      ...(request.expectResponse === false ? { expectResponse: () => false } : {}),
    },
    response: {
      decode: async (payload: Buffer) => {
        const decoded = request.decode(payload);
        return Object.assign(decoded, { clientSideThrottleTime: decoded.throttleTimeMs });
      },
      parse: async (decoded: unknown) => decoded,
    },
    requestTimeout: request.timeoutMs,
    logResponseError: false,
  };
}
