// Kafka's protocol primitives for the requests we encode ourselves (https://kafka.apache.org/protocol#protocol_types):
// the classic ones (int16-length strings, int32-count arrays) and the "flexible" ones of newer versions (KIP-482:
// unsigned-varint lengths plus one, and tagged fields after every struct, which we send empty and skip on reading).
import { varIntSize } from "../../model/coders/bytes-io.js";
import { KafkaUnsupportedError } from "../errors.js";

/** Bytes of an unsigned varint (Kafka's are protobuf's, as Beam's coders write them). */
export const uvarintSize = varIntSize;

/** Bytes of a COMPACT_STRING (or COMPACT_NULLABLE_STRING, null = 1 byte). */
export function compactStringSize(value: string | null): number {
  if (value === null) return 1;
  const length = Buffer.byteLength(value);
  return uvarintSize(length + 1) + length;
}

/** Bytes of a classic nullable STRING (int16 length). */
export function nullableStringSize(value: string | null): number {
  return 2 + (value === null ? 0 : Buffer.byteLength(value));
}

/** Writes fields into a buffer sized up front (requests compute their exact size first). */
export class FieldWriter {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  int8(value: number): this {
    this.pos = this.buf.writeInt8(value, this.pos);
    return this;
  }

  int16(value: number): this {
    this.pos = this.buf.writeInt16BE(value, this.pos);
    return this;
  }

  int32(value: number): this {
    this.pos = this.buf.writeInt32BE(value, this.pos);
    return this;
  }

  int64(value: bigint): this {
    this.pos = this.buf.writeBigInt64BE(value, this.pos);
    return this;
  }

  bool(value: boolean): this {
    return this.int8(value ? 1 : 0);
  }

  uvarint(value: number): this {
    while (value >= 0x80) {
      this.buf[this.pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buf[this.pos++] = value;
    return this;
  }

  nullableString(value: string | null): this {
    if (value === null) return this.int16(-1);
    this.int16(Buffer.byteLength(value));
    this.pos += this.buf.write(value, this.pos, "utf8");
    return this;
  }

  compactString(value: string | null): this {
    if (value === null) return this.uvarint(0);
    this.uvarint(Buffer.byteLength(value) + 1);
    this.pos += this.buf.write(value, this.pos, "utf8");
    return this;
  }

  /** The length prefix of a COMPACT_ARRAY (count + 1). */
  compactArray(count: number): this {
    return this.uvarint(count + 1);
  }

  /** No tagged fields. */
  noTags(): this {
    return this.uvarint(0);
  }

  /** The buffer, checked to be exactly as long as computed (a size mistake would corrupt the request). */
  done(): Buffer {
    if (this.pos !== this.buf.length)
      throw new Error(`protocol encoding: wrote ${this.pos} bytes of ${this.buf.length} computed`);
    return this.buf;
  }
}

/** A bounds-checked reader of a response body. */
export class FieldReader {
  pos = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new KafkaUnsupportedError(`truncated ${this.what} response`);
  }

  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  uvarint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      this.need(1);
      const byte = this.buf[this.pos++]!;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new KafkaUnsupportedError(`${this.what} response: a varint longer than 5 bytes`);
  }

  nullableString(): string | null {
    const length = this.int16();
    return length < 0 ? null : this.text(length);
  }

  compactString(): string | null {
    const lengthPlusOne = this.uvarint();
    return lengthPlusOne === 0 ? null : this.text(lengthPlusOne - 1);
  }

  /** A COMPACT_ARRAY's element count (a null array counts 0). */
  compactArray(): number {
    return Math.max(0, this.uvarint() - 1);
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** Skips a struct's tagged fields, calling `read` for those the caller wants (it must consume `size` bytes). */
  taggedFields(read?: (tag: number, size: number) => boolean): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint();
      const size = this.uvarint();
      const start = this.pos;
      if (read?.(tag, size)) {
        if (this.pos !== start + size) throw new KafkaUnsupportedError(`${this.what} response: tag ${tag} misread`);
      } else {
        this.skip(size);
      }
    }
  }

  private text(length: number): string {
    this.need(length);
    const v = this.buf.toString("utf8", this.pos, this.pos + length);
    this.pos += length;
    return v;
  }
}
