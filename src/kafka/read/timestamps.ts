// Timestamp policies: the event time of each record and the watermark of its partition.
//   ProcessingTime: now; the watermark follows wall time.
//   CreateTime / LogAppendTime: the record's timestamp; the watermark trails the newest one by maxOutOfOrderDelay.
// A partition that is caught up and quiet for idleTimeout advances its watermark to wall time minus the delay, so
// one idle partition does not hold every window back.
import type { KafkaRecord } from "../client/index.js";
import { KafkaClientError } from "../errors.js";
import type { Instant } from "../../model/windowing.js";
import type { TimestampPolicyName } from "./spec.js";

export interface TimestampPolicy {
  timestampOf(record: KafkaRecord, topic: string, partition: number): Instant;
  /** The watermark to set after a batch: `newest` is the largest timestamp emitted so far (or undefined). */
  watermarkAfterRecords(newest: Instant | undefined): Instant | undefined;
  /** The watermark while caught up with no new records since `quietSinceMs`. */
  watermarkWhenIdle(quietSinceMs: number): Instant | undefined;
}

export function timestampPolicy(name: TimestampPolicyName, maxDelayMs: number, idleTimeoutMs: number,
  clock: () => number = Date.now): TimestampPolicy {
  const delay = BigInt(Math.floor(maxDelayMs));
  if (name === "ProcessingTime") {
    return {
      timestampOf: () => BigInt(clock()),
      watermarkAfterRecords: () => BigInt(clock()),
      watermarkWhenIdle: () => BigInt(clock()),
    };
  }
  return {
    timestampOf(record, topic, partition) {
      if (name === "LogAppendTime" && record.timestampType !== "LogAppendTime") {
        throw new KafkaClientError(`timestamp_policy LogAppendTime: ${topic}-${partition}@${record.offset} has a ` +
          `${record.timestampType} timestamp (set the topic's message.timestamp.type=LogAppendTime, or use CreateTime)`);
      }
      return record.timestamp < 0n ? BigInt(clock()) : record.timestamp;
    },
    watermarkAfterRecords: (newest) => (newest === undefined ? undefined : newest - delay),
    watermarkWhenIdle: (quietSinceMs) => (clock() - quietSinceMs >= idleTimeoutMs ? BigInt(clock()) - delay : undefined),
  };
}
