// Our requests on a kafkajs connection (src/kafka/client/protocol-request.ts): framed by us and written without
// copies, through kafkajs's own request queue (the real one here; the socket is a recorder), and kafkajs's own
// path when the connection must authenticate first.
import * as assert from "uvu/assert";
import { createRequire } from "node:module";
import { suite } from "../harness.js";
import {
  type InternalBroker,
  type InternalConnection,
  type ProtocolRequest,
  quietRequestQueue,
} from "../../src/kafka/client/kafkajs-internals.js";
import { sendOwnRequest } from "../../src/kafka/client/protocol-request.js";

const s = suite("own requests on kafkajs connections");

interface KafkajsQueue {
  throttledUntil: number;
  destroy(): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
}

const RequestQueue = createRequire(import.meta.url)("kafkajs/src/network/requestQueue/index.js") as new (
  options: Record<string, unknown>,
) => KafkajsQueue & InternalConnection["requestQueue"];

function quiet() {}

// As the client leaves kafkajs's queue (without it, the queue re-arms a 1 ms timer after every response, forever).
quietRequestQueue();

/** A connection as kafkajs 2.2's, with a socket that records what it is given. */
function connection(options: { sasl?: boolean; authenticated?: boolean } = {}) {
  const writes: Buffer[] = [];
  const calls: string[] = [];
  const sentByKafkajs: ProtocolRequest[] = [];
  let correlationId = 41;
  const requestQueue = new RequestQueue({
    maxInFlightRequests: null,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: "test-client",
    broker: "127.0.0.1:9",
    logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
  });
  const conn: InternalConnection = {
    clientId: "test-client",
    sasl: options.sasl ? { mechanism: "plain" } : null,
    socket: {
      cork: () => calls.push("cork"),
      uncork: () => calls.push("uncork"),
      write: (data) => {
        calls.push("write");
        writes.push(data);
        return true;
      },
    },
    requestQueue,
    nextCorrelationId: () => correlationId++,
    failIfNotConnected: () => undefined,
    isAuthenticated: () => options.authenticated ?? false,
    send: async (request) => {
      sentByKafkajs.push(request);
      return "kafkajs's answer";
    },
  };
  const broker = {
    nodeId: 1,
    versions: { 0: { minVersion: 3, maxVersion: 11 } },
    connectionPool: {
      send: async () => assert.unreachable("the pool's send is not used when it hands out connections"),
      getConnectionByRequest: async () => conn,
    },
  } as unknown as InternalBroker;
  return { broker, requestQueue, writes, calls, sentByKafkajs };
}

const decode = (payload: Buffer) => ({ throttleTimeMs: payload.readInt32BE(0), rest: payload.subarray(4) });

s.test("framed by us: size, header v1 and the body's parts in one corked write, the parts not copied", async () => {
  const c = connection();
  const parts = [Buffer.from([1, 2, 3]), Buffer.from("batch bytes")];
  const answer = sendOwnRequest(c.broker, {
    apiKey: 0,
    apiVersion: 8,
    apiName: "Produce",
    body: parts,
    decode,
    timeoutMs: 1000,
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(c.calls, ["cork", "write", "write", "write", "uncork"]);
  assert.ok(c.writes[1] === parts[0] && c.writes[2] === parts[1], "the body's parts themselves");
  const header = c.writes[0]!;
  const clientId = Buffer.from("test-client");
  const expected = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length);
  expected.writeInt32BE(expected.length - 4 + 3 + 11, 0); // everything after the size field
  expected.writeInt16BE(0, 4); // api key
  expected.writeInt16BE(8, 6); // api version
  expected.writeInt32BE(41, 8); // correlation id
  expected.writeInt16BE(clientId.length, 12);
  clientId.copy(expected, 14);
  assert.equal([...header], [...expected]);

  // The queue matches the answer by correlation id; a throttle in it holds the connection's later requests back.
  c.requestQueue.fulfillRequest({ correlationId: 41, payload: Buffer.from([0, 0, 0x27, 0x10, 9]), size: 5 });
  const decoded = await answer;
  assert.equal(decoded?.throttleTimeMs, 10_000);
  assert.equal([...decoded!.rest], [9]);
  assert.ok(c.requestQueue.throttledUntil > Date.now() + 5_000, "kafkajs's queue holds back for the throttle");
  c.requestQueue.destroy(); // (its timer for requests held back)
});

s.test(
  "a flexible version: header v2 (empty tagged fields after the client id); the answer's header tags skipped",
  async () => {
    const c = connection();
    const body = Buffer.from([5, 6]);
    const answer = sendOwnRequest(c.broker, {
      apiKey: 26,
      apiVersion: 5,
      apiName: "EndTxn",
      body,
      decode,
      timeoutMs: 1000,
      flexible: true,
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(c.calls, ["cork", "write", "write", "write", "uncork"]);
    assert.equal([...c.writes[1]!], [0], "the header's tagged fields: none");
    assert.ok(c.writes[2] === body, "then the body, not copied");
    assert.is(c.writes[0]!.readInt32BE(0), c.writes[0]!.length - 4 + 1 + 2, "the size counts the tags byte");
    // Response header v1: the correlation id (taken by kafkajs's queue), then tagged fields: one, tag 7, 2 bytes.
    c.requestQueue.fulfillRequest({
      correlationId: 41,
      payload: Buffer.from([1, 7, 2, 0xaa, 0xbb, 0, 0, 0, 0, 9]),
      size: 10,
    });
    const decoded = await answer;
    assert.equal(decoded?.throttleTimeMs, 0);
    assert.equal([...decoded!.rest], [9]);
    // ApiVersions keeps response header v0 in every version (KIP-511): nothing is skipped.
    const versions = sendOwnRequest(c.broker, {
      apiKey: 18,
      apiVersion: 3,
      apiName: "ApiVersions",
      body: Buffer.from([1]),
      decode,
      timeoutMs: 1000,
      flexible: true,
    });
    await new Promise((r) => setImmediate(r));
    c.requestQueue.fulfillRequest({ correlationId: 42, payload: Buffer.from([0, 0, 0, 0, 8]), size: 5 });
    assert.equal([...(await versions)!.rest], [8], "the body as it came");
  },
);

s.test("no answer expected (acks=0): resolves once written", async () => {
  const c = connection();
  const answer = await sendOwnRequest(c.broker, {
    apiKey: 0,
    apiVersion: 8,
    apiName: "Produce",
    body: Buffer.from([7]),
    decode,
    timeoutMs: 1000,
    expectResponse: false,
  });
  assert.is(answer, undefined);
  assert.equal(c.writes.length, 2);
  assert.equal([...c.writes[1]!], [7]);
});

s.test(
  "a SASL connection not (or no longer) authenticated takes kafkajs's path, which authenticates first",
  async () => {
    const c = connection({ sasl: true, authenticated: false });
    const answer = await sendOwnRequest(c.broker, {
      apiKey: 1,
      apiVersion: 11,
      apiName: "Fetch",
      body: [Buffer.from([1]), Buffer.from([2, 3])],
      decode,
      timeoutMs: 1000,
    });
    assert.is(answer as unknown, "kafkajs's answer");
    assert.equal(c.writes, []);
    assert.equal(c.sentByKafkajs.length, 1);
    const encoded = await c.sentByKafkajs[0]!.request.encode();
    assert.equal([...encoded.buffer], [1, 2, 3]);

    const authenticated = connection({ sasl: true, authenticated: true });
    const framed = sendOwnRequest(authenticated.broker, {
      apiKey: 1,
      apiVersion: 11,
      apiName: "Fetch",
      body: Buffer.from([1]),
      decode,
      timeoutMs: 1000,
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(authenticated.sentByKafkajs, []);
    authenticated.requestQueue.fulfillRequest({ correlationId: 41, payload: Buffer.alloc(4), size: 4 });
    assert.equal((await framed)?.throttleTimeMs, 0);
  },
);

s.run();
