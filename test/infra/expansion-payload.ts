// An ExternalConfigurationPayload as Beam's Python SDK builds it: the schema of the given fields and one row of values.
import { encodeToBytes, rowCoder } from "../../src/model/coders/index.js";
import { encodeSchema, schema, type RowDescription } from "../../src/model/schema.js";
import { externalTransforms, runnerApi } from "../../src/model/proto/index.js";

export function externalPayload(fields: RowDescription, values: Record<string, unknown>): Uint8Array {
  const sch = schema(fields);
  return externalTransforms.ExternalConfigurationPayload.encode({
    schema: runnerApi.Schema.decode(encodeSchema(sch)),
    payload: encodeToBytes(rowCoder(sch), values),
  }).finish();
}
