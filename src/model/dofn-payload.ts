// The payload of our DoFns inside ParDoPayload.do_fn: UTF-8 JSON `{ "fn": name, ...config }`.
// JSON keeps it readable in runner UIs and logs; configs are small and bigints travel as decimal strings.
import { KBT_DOFN_URN } from "./kbt-urns.js";

export interface DoFnPayload {
  readonly fn: string;
  readonly [key: string]: unknown;
}

export function doFnSpec(payload: DoFnPayload): { urn: string; payload: Uint8Array } {
  return { urn: KBT_DOFN_URN, payload: Buffer.from(JSON.stringify(payload), "utf8") };
}

export class DoFnPayloadError extends Error {
  override readonly name = "DoFnPayloadError";
  readonly code = "DOFN_PAYLOAD_INVALID";
}

export function decodeDoFnPayload(bytes: Uint8Array): DoFnPayload {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch (err) {
    throw new DoFnPayloadError(`not a ${KBT_DOFN_URN} payload: ${(err as Error).message}`);
  }
  if (!value || typeof value !== "object" || typeof (value as DoFnPayload).fn !== "string") {
    throw new DoFnPayloadError(`a ${KBT_DOFN_URN} payload needs a string "fn"`);
  }
  return value as DoFnPayload;
}
