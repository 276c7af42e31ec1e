// PaneInfo as Beam's PaneInfoCoder writes it, 1 to 3 parts:
//   byte: low nibble = isFirst (1) | isLast (2) | timing ordinal << 2 (EARLY 0, ON_TIME 1, LATE 2, UNKNOWN 3);
//         high nibble = encoding: 0 FIRST (no index follows), 1 ONE_INDEX, 2 TWO_INDICES
//   then varint index, then varint on-time index (TWO_INDICES only).
// FIRST is chosen when both indices are 0 or the timing is UNKNOWN; ONE_INDEX when the indices are equal or the
// pane is EARLY (whose on-time index is implied: -1). Decoding FIRST gives Java's interned panes: index 0 for a
// first pane, -1 otherwise; on-time index -1 when EARLY, else 0.
import { CoderError, type ByteReader, type ByteWriter } from "./bytes-io.js";
import type { PaneInfo, PaneTiming } from "../windowing.js";

const TIMINGS: readonly PaneTiming[] = ["EARLY", "ON_TIME", "LATE", "UNKNOWN"];
const TIMING_ORDINAL: Readonly<Record<PaneTiming, number>> = { EARLY: 0, ON_TIME: 1, LATE: 2, UNKNOWN: 3 };

const FIRST = 0;
const ONE_INDEX = 1;
const TWO_INDICES = 2;

/** The 16 panes a FIRST-encoded byte stands for, frozen and shared. */
const BASE_PANES: readonly PaneInfo[] = Array.from({ length: 16 }, (_, bits) => {
  const timing = TIMINGS[bits >> 2]!;
  const isFirst = (bits & 1) !== 0;
  return Object.freeze({
    isFirst,
    isLast: (bits & 2) !== 0,
    timing,
    index: isFirst ? 0n : -1n,
    onTimeIndex: timing === "EARLY" ? -1n : 0n,
  });
});

function paneBits(pane: PaneInfo): number {
  const ordinal = TIMING_ORDINAL[pane.timing];
  if (ordinal === undefined) throw new CoderError("CODER_VALUE", `pane: unknown timing ${String(pane.timing)}`);
  return (pane.isFirst ? 1 : 0) | (pane.isLast ? 2 : 0) | (ordinal << 2);
}

export function writePane(out: ByteWriter, pane: PaneInfo): void {
  const bits = paneBits(pane);
  if ((pane.index === 0n && pane.onTimeIndex === 0n) || pane.timing === "UNKNOWN") {
    out.writeByte(bits | (FIRST << 4));
  } else if (pane.index === pane.onTimeIndex || pane.timing === "EARLY") {
    out.writeByte(bits | (ONE_INDEX << 4));
    out.writeVarInt64(pane.index);
  } else {
    out.writeByte(bits | (TWO_INDICES << 4));
    out.writeVarInt64(pane.index);
    out.writeVarInt64(pane.onTimeIndex);
  }
}

export function readPane(input: ByteReader): PaneInfo {
  const b = input.readByte();
  const base = BASE_PANES[b & 0x0f]!;
  switch (b >> 4) {
    case FIRST:
      return base;
    case ONE_INDEX: {
      const index = input.readVarInt64();
      return {
        isFirst: base.isFirst,
        isLast: base.isLast,
        timing: base.timing,
        index,
        onTimeIndex: base.timing === "EARLY" ? -1n : index,
      };
    }
    case TWO_INDICES: {
      const index = input.readVarInt64();
      const onTimeIndex = input.readVarInt64();
      return { isFirst: base.isFirst, isLast: base.isLast, timing: base.timing, index, onTimeIndex };
    }
    default:
      throw new CoderError("CODER_INVALID", `pane: unknown encoding ${b >> 4} in byte 0x${b.toString(16)}`);
  }
}
