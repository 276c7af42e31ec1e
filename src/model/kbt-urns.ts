// This project's own URNs and the capabilities its Fn API worker declares. Beam's URNs live in ./proto (urns).
import { urns } from "./proto/index.js";
import { SUPPORTED_CODER_URNS } from "./coders/index.js";

/** Transforms the expansion service registers under our own names (payload: our superset schemas). */
export const KBT_TRANSFORM_URNS = Object.freeze({
  KAFKA_READ: "beam:transform:kafka_read:v1",
  KAFKA_WRITE: "beam:transform:kafka_write:v1",
});

/** Beam's own Kafka URNs (Python/Go/Java wrappers send these; same payload schemas as Beam's Java service). */
export const BEAM_KAFKA_URNS = Object.freeze({
  READ_WITH_METADATA: "beam:transform:org.apache.beam:kafka_read_with_metadata:v1",
  READ_WITHOUT_METADATA: "beam:transform:org.apache.beam:kafka_read_without_metadata:v1",
  WRITE: "beam:transform:org.apache.beam:kafka_write:v1",
  WRITE_WITH_HEADERS: "beam:transform:org.apache.beam:kafka_write_with_headers:v1",
  LEGACY_READ: "beam:external:java:kafka:read:v1",
  LEGACY_READ_WITHOUT_METADATA: "beam:external:java:kafka:read:withoutmetadata:v1",
  LEGACY_WRITE: "beam:external:java:kafka:write:v1",
});

/**
 * A DoFn of this SDK: ParDoPayload.do_fn = { urn: KBT_DOFN_URN, payload: JSON { fn, ...config } }. The worker
 * looks `fn` up in its DoFn registry.
 */
export const KBT_DOFN_URN = "kafka-beam-ts:dofn:v1";

/** Protocols and coders our worker supports, listed in the environments the expansion service returns. */
export const WORKER_CAPABILITIES: readonly string[] = Object.freeze([
  urns.StandardProtocols.Enum.PROGRESS_REPORTING,
  urns.StandardProtocols.Enum.MULTI_CORE_BUNDLE_PROCESSING,
  ...SUPPORTED_CODER_URNS,
]);
