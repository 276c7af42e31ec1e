// google.protobuf Timestamp/Duration from our millisecond instants.
import { fromBigInt, type protobufWkt } from "../model/proto/index.js";

export function timestampProto(ms: bigint): protobufWkt.ITimestamp {
  const seconds = ms >= 0n ? ms / 1000n : -((-ms + 999n) / 1000n);
  return { seconds: fromBigInt(seconds), nanos: Number(ms - seconds * 1000n) * 1_000_000 };
}

export function durationProto(ms: number): protobufWkt.IDuration {
  const whole = Math.max(0, Math.floor(ms));
  return { seconds: fromBigInt(BigInt(Math.floor(whole / 1000))), nanos: (whole % 1000) * 1_000_000 };
}
