// Timestamp policies: the event time of each record and the watermark of its partition.
//   ProcessingTime: now; the watermark follows wall time.
//   CreateTime / LogAppendTime: the record's timestamp; the watermark trails the newest one by maxOutOfOrderDelay.
//   Custom: a user function's timestamp; the watermark as for CreateTime.
// A partition that is caught up and quiet for idleTimeout advances its watermark to wall time minus the delay, so
// one idle partition does not hold every window back.
import type { KafkaRecord } from "../client/index.js";
import { KafkaClientError, KafkaConfigError } from "../errors.js";
import { MAX_TIMESTAMP, MIN_TIMESTAMP, type Instant } from "../../model/windowing.js";
import type { TimestampFn, TimestampPolicyName } from "./spec.js";

export interface TimestampPolicy {
  /**
   * Called when a batch of records starts and after each wait for downstream: ProcessingTime reads the clock here,
   * not per record (a clock read costs as much as the rest of a small record's way through the read).
   */
  tick(): void;
  timestampOf(record: KafkaRecord, topic: string, partition: number): Instant;
  /** The watermark to set after a batch: `newest` is the largest timestamp emitted so far (or undefined). */
  watermarkAfterRecords(newest: Instant | undefined): Instant | undefined;
  /** The watermark while caught up with no new records since `quietSinceMs`. */
  watermarkWhenIdle(quietSinceMs: number): Instant | undefined;
}

export function timestampPolicy(
  name: TimestampPolicyName | "Custom",
  maxDelayMs: number,
  idleTimeoutMs: number,
  clock: () => number = Date.now,
  custom?: TimestampFn,
): TimestampPolicy {
  const delay = BigInt(Math.floor(maxDelayMs));
  const trailing = {
    tick: () => undefined,
    watermarkAfterRecords: (newest: Instant | undefined) => (newest === undefined ? undefined : newest - delay),
    watermarkWhenIdle: (quietSinceMs: number) =>
      clock() - quietSinceMs >= idleTimeoutMs ? BigInt(clock()) - delay : undefined,
  };
  if (name === "Custom") {
    if (custom === undefined) {
      throw new KafkaConfigError(
        "timestampFn",
        "a read with a custom timestamp function runs in-process only (the function is not part of its payload)",
      );
    }
    return {
      timestampOf(record, topic, partition) {
        const ts = custom(record, topic, partition);
        const instant = typeof ts === "bigint" ? ts : Number.isFinite(ts) ? BigInt(Math.floor(ts)) : undefined;
        if (instant === undefined || instant < MIN_TIMESTAMP || instant > MAX_TIMESTAMP) {
          throw new KafkaClientError(
            `timestampFn returned ${String(ts)} for ${topic}-${partition}@${record.offset}: not a ms instant`,
          );
        }
        return instant;
      },
      ...trailing,
    };
  }
  if (name === "ProcessingTime") {
    // The clock as of the last tick: records handled without a pause (a batch of thousands takes a few ms) share
    // one reading; a wait for downstream ticks again, so a record is never stamped before a pause it waited out.
    let now = BigInt(clock());
    return {
      tick: () => {
        now = BigInt(clock());
      },
      timestampOf: () => now,
      watermarkAfterRecords: () => BigInt(clock()),
      watermarkWhenIdle: () => BigInt(clock()),
    };
  }
  return {
    timestampOf(record, topic, partition) {
      if (name === "LogAppendTime" && record.timestampType !== "LogAppendTime") {
        throw new KafkaClientError(
          `timestamp_policy LogAppendTime: ${topic}-${partition}@${record.offset} has a ` +
            `${record.timestampType} timestamp (set the topic's message.timestamp.type=LogAppendTime, or use CreateTime)`,
        );
      }
      return record.timestamp < 0n ? BigInt(clock()) : record.timestamp;
    },
    ...trailing,
  };
}
