// Coder URNs of Beam's Runner API (beam_runner_api.proto, StandardCoders), and the logical type URNs the row
// coder treats specially.
import { urns } from "../proto/urns.js";

// The standard coder URNs come from the model layer's table (checked against Beam's descriptors), less
// beam:coder:schema:v1, which is not a wire coder of its own.
const { SCHEMA: _schemaCoder, ...standardCoders } = urns.StandardCoders.Enum;
export const CoderUrns = Object.freeze(standardCoders);

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
