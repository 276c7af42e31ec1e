// Protobuf wire format at the byte level, for messages spliced together from encoded parts (pre-encoded responses).
import protobuf from "protobufjs/light.js";

const LENGTH_DELIMITED = 2;

/** The tag and length of a length-delimited field (its content follows). */
export function lengthDelimitedHeader(fieldNumber: number, contentLength: number): Uint8Array {
  return protobuf.Writer.create()
    .uint32((fieldNumber << 3) | LENGTH_DELIMITED)
    .uint32(contentLength)
    .finish();
}

/**
 * Reads the header of the length-delimited field at the start of `bytes`: its field number, content length and
 * where the content starts. Undefined when the first field is not length-delimited or its content is cut short.
 */
export function readLengthDelimitedHeader(
  bytes: Uint8Array,
): { fieldNumber: number; length: number; contentStart: number } | undefined {
  try {
    const reader = protobuf.Reader.create(bytes);
    const tag = reader.uint32();
    if ((tag & 7) !== LENGTH_DELIMITED) return undefined;
    const length = reader.uint32();
    if (reader.pos + length > bytes.length) return undefined;
    return { fieldNumber: tag >>> 3, length, contentStart: reader.pos };
  } catch {
    return undefined;
  }
}
