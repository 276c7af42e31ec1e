// Errors an expansion reports back to the calling SDK. `field` names the payload field at fault.
// service.ts maps them to gRPC status codes once; nothing else in the layer knows about gRPC.

/**
 * The gRPC status an ExpansionError is reported with: INVALID_ARGUMENT for a bad request or payload, UNIMPLEMENTED
 * for an unknown transform URN or SchemaTransform, INTERNAL for a failure of ours.
 */
export type ExpansionErrorCode = "INVALID_ARGUMENT" | "UNIMPLEMENTED" | "INTERNAL";

/**
 * Why an Expand request was refused or failed. The service answers with `code` as the gRPC status and the message
 * as details; `field` names the request or payload field at fault. Never retriable: expansion is deterministic.
 */
export class ExpansionError extends Error {
  override readonly name = "ExpansionError";
  readonly retriable = false;
  constructor(
    readonly code: ExpansionErrorCode,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function invalidArgument(field: string, message: string, cause?: unknown): ExpansionError {
  return new ExpansionError(
    "INVALID_ARGUMENT",
    `${field}: ${message}`,
    field,
    cause === undefined ? undefined : { cause },
  );
}
