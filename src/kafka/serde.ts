// Key/value (de)serializers: our names, the Java class names Beam users pass, and the codecs behind them.
// A read or write spec names a format ("bytes", "string", ...); the functions here turn Kafka bytes into values.
import { KafkaConfigError } from "./errors.js";

export type SerdeFormat = "bytes" | "string" | "json" | "long" | "int";

const JAVA_DESERIALIZERS: Readonly<Record<string, SerdeFormat>> = {
  "org.apache.kafka.common.serialization.ByteArrayDeserializer": "bytes",
  "org.apache.kafka.common.serialization.BytesDeserializer": "bytes",
  "org.apache.kafka.common.serialization.ByteBufferDeserializer": "bytes",
  "org.apache.kafka.common.serialization.StringDeserializer": "string",
  "org.apache.kafka.common.serialization.LongDeserializer": "long",
  "org.apache.kafka.common.serialization.IntegerDeserializer": "int",
};

const JAVA_SERIALIZERS: Readonly<Record<string, SerdeFormat>> = {
  "org.apache.kafka.common.serialization.ByteArraySerializer": "bytes",
  "org.apache.kafka.common.serialization.BytesSerializer": "bytes",
  "org.apache.kafka.common.serialization.ByteBufferSerializer": "bytes",
  "org.apache.kafka.common.serialization.StringSerializer": "string",
  "org.apache.kafka.common.serialization.LongSerializer": "long",
  "org.apache.kafka.common.serialization.IntegerSerializer": "int",
};

const FORMATS: readonly SerdeFormat[] = ["bytes", "string", "json", "long", "int"];

/**
 * Resolves a format given as one of ours ("string") or as a Java class name. `field` names the option or payload
 * field in the error (e.g. "key_deserializer").
 */
export function resolveSerdeFormat(field: string, name: string, direction: "deserializer" | "serializer"): SerdeFormat {
  if ((FORMATS as readonly string[]).includes(name)) return name as SerdeFormat;
  const table = direction === "deserializer" ? JAVA_DESERIALIZERS : JAVA_SERIALIZERS;
  const format = Object.hasOwn(table, name) ? table[name] : undefined; // not "constructor", "toString", ...
  if (format) return format;
  throw new KafkaConfigError(
    field,
    `unsupported ${direction} ${JSON.stringify(name)}; supported: ` +
      `${FORMATS.join(", ")} or one of ${Object.keys(table).join(", ")}`,
  );
}

export class DeserializationError extends Error {
  override readonly name = "DeserializationError";
  readonly code = "KAFKA_DESERIALIZATION";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Bytes → value for a format; null stays null (tombstones). Throws DeserializationError. */
export function deserialize(format: SerdeFormat, bytes: Buffer | null): unknown {
  if (bytes === null) return null;
  switch (format) {
    case "bytes":
      return bytes;
    case "string":
      return bytes.toString("utf8");
    case "json":
      try {
        return JSON.parse(bytes.toString("utf8"));
      } catch (err) {
        throw new DeserializationError(`invalid JSON (${bytes.length} bytes)`, { cause: err });
      }
    case "long":
      if (bytes.length !== 8) throw new DeserializationError(`a long needs 8 bytes, got ${bytes.length}`);
      return bytes.readBigInt64BE(0);
    case "int":
      if (bytes.length !== 4) throw new DeserializationError(`an int needs 4 bytes, got ${bytes.length}`);
      return bytes.readInt32BE(0);
  }
}

/** Value → bytes for a format (Kafka's Java serializers' encodings: big-endian long/int, UTF-8 strings). */
export function serialize(format: SerdeFormat, value: unknown): Buffer | null {
  if (value === null || value === undefined) return null;
  switch (format) {
    case "bytes":
      if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      throw new TypeError(`bytes serializer: expected a Uint8Array, got ${typeof value}`);
    case "string":
      return Buffer.from(String(value), "utf8");
    case "json":
      return Buffer.from(JSON.stringify(value), "utf8");
    case "long": {
      const out = Buffer.allocUnsafe(8);
      out.writeBigInt64BE(BigInt(value as bigint | number | string));
      return out;
    }
    case "int": {
      const out = Buffer.allocUnsafe(4);
      out.writeInt32BE(Number(value));
      return out;
    }
  }
}
