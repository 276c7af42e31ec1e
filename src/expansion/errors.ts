// Errors an expansion reports back to the calling SDK. `field` names the payload field at fault.
// service.ts maps them to gRPC status codes once; nothing else in the layer knows about gRPC.

export type ExpansionErrorCode = "INVALID_ARGUMENT" | "UNIMPLEMENTED" | "INTERNAL";

export class ExpansionError extends Error {
  override readonly name = "ExpansionError";
  readonly retriable = false;
  constructor(readonly code: ExpansionErrorCode, message: string, readonly field?: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function invalidArgument(field: string, message: string, cause?: unknown): ExpansionError {
  return new ExpansionError("INVALID_ARGUMENT", `${field}: ${message}`, field, cause === undefined ? undefined : { cause });
}
