// Coder URNs of Beam's Runner API (beam_runner_api.proto, StandardCoders), and the logical type URNs the row
// coder treats specially.

export const CoderUrns = Object.freeze({
  BYTES: "beam:coder:bytes:v1",
  STRING_UTF8: "beam:coder:string_utf8:v1",
  KV: "beam:coder:kv:v1",
  BOOL: "beam:coder:bool:v1",
  VARINT: "beam:coder:varint:v1",
  DOUBLE: "beam:coder:double:v1",
  ITERABLE: "beam:coder:iterable:v1",
  TIMER: "beam:coder:timer:v1",
  INTERVAL_WINDOW: "beam:coder:interval_window:v1",
  LENGTH_PREFIX: "beam:coder:length_prefix:v1",
  GLOBAL_WINDOW: "beam:coder:global_window:v1",
  WINDOWED_VALUE: "beam:coder:windowed_value:v1",
  PARAM_WINDOWED_VALUE: "beam:coder:param_windowed_value:v1",
  STATE_BACKED_ITERABLE: "beam:coder:state_backed_iterable:v1",
  CUSTOM_WINDOW: "beam:coder:custom_window:v1",
  ROW: "beam:coder:row:v1",
  SHARDED_KEY: "beam:coder:sharded_key:v1",
  NULLABLE: "beam:coder:nullable:v1",
});

export type CoderUrn = (typeof CoderUrns)[keyof typeof CoderUrns];

export const LogicalTypeUrns = Object.freeze({
  /** Java's Instant / schema DATETIME: INT64 representation, encoded as 8 big-endian bytes shifted by 2^63. */
  MILLIS_INSTANT: "beam:logical_type:millis_instant:v1",
  /** Python's Timestamp: ROW<seconds INT64, micros INT64>. */
  MICROS_INSTANT: "beam:logical_type:micros_instant:v1",
  /** BigDecimal: BYTES representation, encoded as varint scale + length-prefixed two's-complement unscaled. */
  DECIMAL: "beam:logical_type:decimal:v1",
  TIMESTAMP: "beam:logical_type:timestamp:v1",
  DATE: "beam:logical_type:date:v1",
  FIXED_BYTES: "beam:logical_type:fixed_bytes:v1",
  VAR_BYTES: "beam:logical_type:var_bytes:v1",
  FIXED_CHAR: "beam:logical_type:fixed_char:v1",
  VAR_CHAR: "beam:logical_type:var_char:v1",
  PYTHON_CALLABLE: "beam:logical_type:python_callable:v1",
  /** Python objects pickled with the Python SDK's fallback coder: opaque to us. */
  PYTHON_ANY: "beam:logical:pythonsdk_any:v1",
});
