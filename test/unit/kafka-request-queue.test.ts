// kafkajs's request queue, as this package leaves it (kafkajs-internals.ts quietRequestQueue): no timer armed after
// a response when no request is held back (kafkajs's own would have a negative delay: a TimeoutNegativeWarning on
// Node >= 23), and still one when a throttled request waits.
import * as assert from "uvu/assert";
import { createRequire } from "node:module";
import { suite } from "../harness.js";
import { quietRequestQueue } from "../../src/kafka/client/kafkajs-internals.js";

const s = suite("kafkajs request queue, quieted");

interface Queue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  scheduleCheckPendingRequests(): void;
  checkPendingRequests(): void;
}

const RequestQueue = createRequire(import.meta.url)("kafkajs/src/network/requestQueue/index.js") as new (
  options: Record<string, unknown>,
) => Queue;

function queue(): Queue {
  const quiet = () => undefined;
  return new RequestQueue({
    maxInFlightRequests: null,
    requestTimeout: 1000,
    enforceRequestTimeout: true,
    clientId: "test",
    broker: "127.0.0.1:9",
    logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
  });
}

s.test("nothing held back: no timer, no warning", async () => {
  assert.ok(quietRequestQueue(), "kafkajs's queue has the method we replace");
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on("warning", onWarning);
  try {
    const q = queue();
    q.checkPendingRequests(); // what kafkajs calls after each response
    assert.is(q.throttleCheckTimeoutId, null);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(warnings, []);
  } finally {
    process.off("warning", onWarning);
  }
});

s.test("a request held back by throttling still gets its check at the throttle's end", () => {
  const q = queue();
  q.throttledUntil = Date.now() + 50;
  q.pending.push({ correlationId: 1 });
  q.scheduleCheckPendingRequests();
  assert.ok(q.throttleCheckTimeoutId !== null, "a timer for the held-back request");
  clearTimeout(q.throttleCheckTimeoutId!);
});

s.run();
