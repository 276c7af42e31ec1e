// The read's timestamp policies with a hand-driven clock: which instant each record gets, and the watermarks.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import type { KafkaRecord } from "../../src/kafka/client/index.js";
import { KafkaClientError } from "../../src/kafka/errors.js";
import { timestampPolicy } from "../../src/kafka/read/timestamps.js";

const s = suite("kafka read: timestamp policies");

function record(offset: number, timestamp: number, timestampType: KafkaRecord["timestampType"]): KafkaRecord {
  return {
    offset: BigInt(offset),
    timestamp: BigInt(timestamp),
    timestampType,
    key: null,
    value: null,
    headers: [],
    sizeBytes: 0,
  };
}

/** A clock that moves only when told. */
function manualClock(startMs: number): { now: () => number; set: (ms: number) => void } {
  let ms = startMs;
  return { now: () => ms, set: (to) => (ms = to) };
}

s.test("ProcessingTime: the clock as of the last tick, for every record until the next", () => {
  const clock = manualClock(1_000);
  const policy = timestampPolicy("ProcessingTime", 0, 0, clock.now);
  policy.tick();
  clock.set(1_005); // records handled without a pause keep the batch's reading
  assert.is(policy.timestampOf(record(0, 7, "CreateTime"), "t", 0), 1_000n);
  assert.is(policy.timestampOf(record(1, 7, "CreateTime"), "t", 0), 1_000n);
  policy.tick(); // a wait for downstream, or the next batch
  assert.is(policy.timestampOf(record(2, 7, "CreateTime"), "t", 0), 1_005n);
  clock.set(1_010);
  assert.is(policy.watermarkAfterRecords(1_005n), 1_010n, "the watermark follows the clock itself");
});

s.test("CreateTime: the record's own timestamp; a record without one gets the clock; the watermark trails", () => {
  const clock = manualClock(50_000);
  const policy = timestampPolicy("CreateTime", 2_000, 10_000, clock.now);
  policy.tick();
  assert.is(policy.timestampOf(record(0, 42_000, "CreateTime"), "t", 0), 42_000n);
  assert.is(policy.timestampOf(record(1, -1, "NoTimestamp"), "t", 0), 50_000n);
  assert.is(policy.watermarkAfterRecords(42_000n), 40_000n);
  assert.is(policy.watermarkAfterRecords(undefined), undefined);
  assert.is(policy.watermarkWhenIdle(45_000), undefined, "quiet for 5 s of a 10 s idle timeout");
  assert.is(policy.watermarkWhenIdle(40_000), 48_000n, "idle: wall time minus the delay");
});

s.test("LogAppendTime: a CreateTime record is refused, naming where it is and what to set", () => {
  const policy = timestampPolicy("LogAppendTime", 0, 0, () => 0);
  assert.is(policy.timestampOf(record(3, 9_000, "LogAppendTime"), "t", 1), 9_000n);
  try {
    policy.timestampOf(record(4, 9_000, "CreateTime"), "t", 1);
    assert.unreachable("a CreateTime record under LogAppendTime");
  } catch (err) {
    assert.instance(err, KafkaClientError);
    assert.match((err as Error).message, "t-1@4");
    assert.match((err as Error).message, "message.timestamp.type=LogAppendTime");
  }
});

s.test("Custom: the function's instant, checked to be one", () => {
  const policy = timestampPolicy(
    "Custom",
    0,
    0,
    () => 0,
    (r) => Number(r.offset) * 10 + 0.7,
  );
  assert.is(policy.timestampOf(record(5, 0, "CreateTime"), "t", 0), 50n);
  const bad = timestampPolicy(
    "Custom",
    0,
    0,
    () => 0,
    () => Number.NaN,
  );
  assert.throws(() => bad.timestampOf(record(6, 0, "CreateTime"), "t", 0), /t-0@6: not a ms instant/);
});

s.run();
