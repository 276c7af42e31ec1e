// Public face of Beam's standard coders. Byte-exact with Beam's Java and Python SDKs (checked against the
// standard_coders.yaml vectors of the pinned Beam release by test/unit/coders-standard.test.ts).
//
//   const coder = windowedValueCoder(kvCoder(bytesCoder, bytesCoder), globalWindowCoder);
//   const bytes = encodeToBytes(coder, inGlobalWindow({ key, value }), "nested");
//   const back = decodeFromBytes(coder, bytes, "nested");
//
// Hot loops keep one ByteWriter / ByteReader and call coder.encode / coder.decode directly.
export { ByteReader, ByteWriter, CoderError, varIntSize } from "./bytes-io.js";
export type { CoderErrorCode } from "./bytes-io.js";
export { decodeFromBytes, encodeToBytes } from "./coder.js";
export type { Coder, CoderContext, CoderValue } from "./coder.js";
export { CoderUrns, LogicalTypeUrns } from "./urns.js";
export type { CoderUrn } from "./urns.js";

export { bytesCoder } from "./bytes.js";
export { stringUtf8Coder } from "./string-utf8.js";
export { varIntCoder } from "./varint.js";
export { boolCoder } from "./bool.js";
export { doubleCoder } from "./double.js";
export { kvCoder } from "./kv.js";
export type { KV } from "./kv.js";
export { iterableCoder } from "./iterable.js";
export { lengthPrefixCoder } from "./length-prefix.js";
export { nullableCoder } from "./nullable.js";
export { globalWindowCoder, intervalWindowCoder, customWindowCoder } from "./windows.js";
export { instantCoder } from "./instant.js";
export { readPane, writePane } from "./pane.js";
export {
  windowedValueCoder,
  paramWindowedValueCoder,
  encodeWindowedValueParams,
  decodeWindowedValueParams,
} from "./windowed-value.js";
export type { WindowedValueParams } from "./windowed-value.js";
export { timerCoder } from "./timer.js";
export type { Timer } from "./timer.js";
export { shardedKeyCoder } from "./sharded-key.js";
export type { ShardedKey } from "./sharded-key.js";

export { rowCoder, fieldValueCoder, rowFactory } from "./row.js";
export { jsValueCoder, JS_VALUE_CODER_URN } from "./js-value.js";
export type { RowCoderOptions } from "./row.js";
export { mapCoder } from "./map.js";
export { int8Coder, int16Coder, varInt32Coder, float32Coder } from "./numbers.js";
export {
  decimalCoder,
  decimalFromString,
  decimalToString,
  twosComplementBytes,
  bigIntFromTwosComplement,
} from "./decimal.js";

export { coderFromComponents, CoderComponentSet, SUPPORTED_CODER_URNS } from "./registry.js";
export type { CoderProto, CoderComponent, CoderFromComponentsOptions } from "./registry.js";
