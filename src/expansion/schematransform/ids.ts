// The URNs and identifiers of the SchemaTransform route (Beam YAML, Python's managed.Read/Write).
import { urns } from "../../model/proto/index.js";

/** The request URN of a SchemaTransform expansion (ExpansionMethods.SCHEMA_TRANSFORM). */
export const SCHEMA_TRANSFORM_PAYLOAD_URN = urns.ExpansionMethods.Enum.SCHEMA_TRANSFORM;

/** The SchemaTransform identifiers served (Beam Java's managed Kafka ids, and Python's managed transform). */
export const SCHEMA_TRANSFORM_IDS = Object.freeze({
  KAFKA_READ: urns.ManagedTransforms.Urns.KAFKA_READ,
  KAFKA_WRITE: urns.ManagedTransforms.Urns.KAFKA_WRITE,
  /** Python's MANAGED_SCHEMA_TRANSFORM_IDENTIFIER (apache_beam/transforms/external.py). */
  MANAGED: "beam:transform:managed:v1",
});
