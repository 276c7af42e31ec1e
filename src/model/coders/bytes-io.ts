// The byte layer under every coder: a growable writer that keeps its buffer between records, a reader with a
// position over one Uint8Array, and the one error type decoding may throw.
// Integers follow Beam's wire forms: varints are base-128 little-endian groups of the two's-complement 64-bit value
// (so -1 takes 10 bytes; not zigzag), fixed-width integers and floats are big-endian.

export type CoderErrorCode =
  /** The input ended before the value did. */
  | "CODER_TRUNCATED"
  /** The input is not a valid encoding (bad varint, bad flag byte, trailing bytes, ...). */
  | "CODER_INVALID"
  /** A value handed to an encoder does not fit the coder (wrong type, out of range, null where not nullable). */
  | "CODER_VALUE"
  /** A coder spec names a URN we do not implement. */
  | "CODER_UNKNOWN_URN"
  /** A coder spec is malformed (missing components, bad payload, cycle). */
  | "CODER_SPEC"
  /** A row schema is malformed or uses a type the row coder cannot encode. */
  | "CODER_SCHEMA";

export class CoderError extends Error {
  override readonly name = "CoderError";
  readonly retriable = false;
  constructor(
    readonly code: CoderErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const TWO_POW_32 = 4294967296;
/** Strings up to this length are tried as ASCII in JS before calling the native UTF-8 encoder. */
const SHORT_STRING = 40;
const MAX_ZERO_WIDTH_ELEMENTS = 1 << 20;

/** A short description of a value for error messages (never the value itself: it may be a secret). */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === "number" || typeof value === "bigint") return `${typeof value} ${String(value)}`;
  return typeof value === "object" ? `an object (${value.constructor?.name ?? "no prototype"})` : typeof value;
}

export function truncated(what: string, needed: number, available: number): CoderError {
  return new CoderError("CODER_TRUNCATED", `${what}: needs ${needed} more byte(s), only ${available} left`);
}

/** The number of bytes the varint of `n` (a non-negative safe integer) takes. */
export function varIntSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

// Copies of decoded byte strings. V8 keeps a typed array of up to 64 bytes on its heap, but gives a larger one
// its own off-heap backing store, which costs ~0.7 µs per record (most of a windowed KV's decode). Medium copies
// are therefore views into a shared slab, as Node's Buffer pool does; a view kept alive pins its 32 KiB slab.
const SLAB_BYTES = 32 * 1024;
const SLAB_MAX_COPY = 2 * 1024;
const ON_HEAP_MAX = 64;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabBytes = new Uint8Array(slab);
let slabOffset = 0;

/** A copy of `n` bytes of `src` from `start`, as a plain Uint8Array the caller may keep. */
export function copyBytes(src: Uint8Array, start: number, n: number): Uint8Array {
  if (n <= ON_HEAP_MAX || n > SLAB_MAX_COPY) return src.slice(start, start + n);
  if (slabOffset + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabBytes = new Uint8Array(slab);
    slabOffset = 0;
  }
  slabBytes.set(src.subarray(start, start + n), slabOffset);
  const out = new Uint8Array(slab, slabOffset, n);
  slabOffset = (slabOffset + n + 7) & ~7;
  return out;
}

/**
 * A writer over one growable buffer. `reset()` keeps the buffer, so a writer owned by a hot loop allocates only
 * when a record is larger than any before it. `finish()` copies the bytes out; `view()` lends them.
 */
export class ByteWriter {
  private buf: Buffer;
  private data: DataView;
  private pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity));
    this.data = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  get length(): number {
    return this.pos;
  }

  /** Forgets the written bytes, keeps the buffer. */
  reset(): this {
    this.pos = 0;
    return this;
  }

  /** A copy of the written bytes, as a plain Uint8Array (medium sizes share a slab: see copyBytes). */
  finish(): Uint8Array {
    return copyBytes(new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos), 0, this.pos);
  }

  /** The written bytes without a copy: valid until the next write or reset. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** The buffer written so far is in (from 0 to `length`): valid until a write grows it. */
  get buffer(): Uint8Array {
    return this.buf;
  }

  /** The written bytes without a copy; the writer goes on in a new buffer of `capacity` bytes. */
  take(capacity = this.buf.length): Uint8Array {
    const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos);
    this.buf = Buffer.allocUnsafe(Math.max(16, capacity));
    this.data = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.pos = 0;
    return out;
  }

  /** Overwrites 4 written bytes at `at` (a length or count reserved earlier), big-endian. */
  setUint32BE(at: number, value: number): void {
    if (at < 0 || at + 4 > this.pos) throw new RangeError(`setUint32BE at ${at}: only ${this.pos} bytes written`);
    this.data.setUint32(at, value);
  }

  private ensure(extra: number): void {
    const needed = this.pos + extra;
    if (needed <= this.buf.length) return;
    let capacity = this.buf.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
    this.data = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  writeByte(b: number): void {
    if (this.pos >= this.buf.length) this.ensure(1);
    this.buf[this.pos++] = b;
  }

  writeBytes(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Varint of a non-negative safe integer (lengths, counts). */
  writeVarInt(n: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    while (n >= 0x80) {
      buf[pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    buf[pos++] = n;
    this.pos = pos;
  }

  /** Varint of a signed 64-bit integer, as Beam's VarLongCoder: the two's-complement bits, 1 to 10 bytes. */
  writeVarInt64(value: bigint): void {
    if (value >= 0n && value < 0x80000000n) {
      this.writeVarInt(Number(value));
      return;
    }
    const bits = BigInt.asUintN(64, value);
    this.writeVarIntHiLo(Number(bits >> 32n), Number(bits & 0xffffffffn));
  }

  /** Varint of a 64-bit value split in two unsigned 32-bit halves. */
  private writeVarIntHiLo(hi: number, lo: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    // 28 low bits first, in four groups of 7, then the rest from a 36-bit number that still fits a double.
    for (let i = 0; i < 4; i++) {
      const more = hi !== 0 || lo >= 0x80;
      buf[pos++] = (lo & 0x7f) | (more ? 0x80 : 0);
      lo >>>= 7;
      if (!more) {
        this.pos = pos;
        return;
      }
    }
    let rest = hi * 16 + lo; // bits 28..63
    while (rest >= 0x80) {
      buf[pos++] = (rest % 128) | 0x80;
      rest = Math.floor(rest / 128);
    }
    buf[pos++] = rest;
    this.pos = pos;
  }

  /** Varint of a signed 32-bit integer, as Beam's VarIntCoder: the unsigned 32-bit pattern (negative = 5 bytes). */
  writeVarInt32(value: number): void {
    this.writeVarInt(value >>> 0);
  }

  writeInt16BE(value: number): void {
    this.ensure(2);
    this.data.setInt16(this.pos, value);
    this.pos += 2;
  }

  writeInt32BE(value: number): void {
    this.ensure(4);
    this.data.setInt32(this.pos, value);
    this.pos += 4;
  }

  writeUint32BE(value: number): void {
    this.ensure(4);
    this.data.setUint32(this.pos, value);
    this.pos += 4;
  }

  /** Big-endian 64 bits of a value in [-2^63, 2^64): the low 64 bits of its two's complement. */
  writeInt64BE(value: bigint): void {
    this.ensure(8);
    this.data.setBigUint64(this.pos, BigInt.asUintN(64, value));
    this.pos += 8;
  }

  /**
   * Big-endian 64 bits of `value + 2^63` for `value` in the int64 range: Beam's InstantCoder form. Goes through
   * numbers when the value is a safe integer (every real timestamp), which saves two bigint operations.
   */
  writeShiftedInt64BE(value: bigint): void {
    this.ensure(8);
    const n = Number(value);
    if (n >= -9007199254740991 && n <= 9007199254740991) {
      const hi = Math.floor(n / TWO_POW_32);
      this.data.setUint32(this.pos, (hi + 0x80000000) >>> 0);
      this.data.setUint32(this.pos + 4, n - hi * TWO_POW_32);
    } else {
      this.data.setBigUint64(this.pos, BigInt.asUintN(64, value + (1n << 63n)));
    }
    this.pos += 8;
  }

  writeFloat32BE(value: number): void {
    this.ensure(4);
    this.data.setFloat32(this.pos, value);
    this.pos += 4;
  }

  writeFloat64BE(value: number): void {
    this.ensure(8);
    this.data.setFloat64(this.pos, value);
    this.pos += 8;
  }

  /** UTF-8 bytes of `s` with no length. */
  writeUtf8(s: string): void {
    this.ensure(s.length * 3);
    if (s.length <= SHORT_STRING && this.tryWriteAscii(s, this.pos)) {
      this.pos += s.length;
      return;
    }
    this.pos += this.buf.write(s, this.pos, "utf8");
  }

  /** Varint byte length, then the UTF-8 bytes of `s`, without measuring the string twice. */
  writeUtf8LengthPrefixed(s: string): void {
    const maxBytes = s.length * 3;
    if (maxBytes < 0x80) {
      this.ensure(1 + maxBytes);
      const lengthAt = this.pos;
      const written = this.tryWriteAscii(s, lengthAt + 1) ? s.length : this.buf.write(s, lengthAt + 1, "utf8");
      this.buf[lengthAt] = written;
      this.pos = lengthAt + 1 + written;
      return;
    }
    const byteLength = Buffer.byteLength(s, "utf8");
    this.writeVarInt(byteLength);
    this.ensure(byteLength);
    this.pos += this.buf.write(s, this.pos, "utf8");
  }

  /**
   * Writes a short all-ASCII string at `at` in a JS loop (a native Buffer.write call costs more than the copy for
   * topic names, header keys and the like). Returns false, having written garbage, when a character is not ASCII.
   */
  private tryWriteAscii(s: string, at: number): boolean {
    const buf = this.buf;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[at + i] = c;
    }
    return true;
  }

  /**
   * Starts a length-prefixed value: what is written until `endLengthPrefix(mark)` gets its byte length as a varint
   * in front. The body is written in place after a one-byte guess for the length and moved only when the length
   * needs more bytes: no scratch buffer, no closure.
   */
  beginLengthPrefix(): number {
    this.ensure(1);
    const mark = this.pos;
    this.pos = mark + 1;
    return mark;
  }

  endLengthPrefix(mark: number): void {
    const length = this.pos - mark - 1;
    if (length < 0x80) {
      this.buf[mark] = length;
      return;
    }
    const size = varIntSize(length);
    this.ensure(size - 1);
    this.buf.copy(this.buf, mark + size, mark + 1, this.pos);
    this.pos = mark;
    this.writeVarInt(length);
    this.pos = mark + size + length;
  }

  /** Writes what `body` writes, preceded by its byte length as a varint. */
  writeLengthPrefixed(body: () => void): void {
    const mark = this.beginLengthPrefix();
    body();
    this.endLengthPrefix(mark);
  }
}

/**
 * A reader over one Uint8Array. Every read checks the remaining length and throws CoderError("CODER_TRUNCATED")
 * instead of reading past the end; malformed encodings throw CoderError("CODER_INVALID").
 */
export class ByteReader {
  private input: Uint8Array | undefined;
  private buf!: Buffer;
  /** The same bytes as a plain Uint8Array: its slice() copies into a plain Uint8Array in one step. */
  private u8!: Uint8Array;
  private data!: DataView;
  private pos = 0;
  private end = 0;

  constructor(bytes: Uint8Array = new Uint8Array(0)) {
    this.reset(bytes);
  }

  /** Points the reader at new bytes (no copy), from their start. */
  reset(bytes: Uint8Array, start = 0, end = bytes.length): this {
    if (bytes !== this.input) {
      this.input = bytes;
      this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.u8 = Buffer.isBuffer(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes;
      this.data = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    }
    this.pos = start;
    this.end = end;
    return this;
  }

  get position(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) throw truncated(what, n, this.end - this.pos);
  }

  /** The byte at an absolute position already read past (e.g. a bitmap skipped over). */
  byteAt(position: number): number {
    return this.u8[position]!;
  }

  readByte(): number {
    if (this.pos >= this.end) throw truncated("byte", 1, 0);
    return this.buf[this.pos++]!;
  }

  /** A copy of the next n bytes (the caller may keep it while the input buffer is reused). */
  readBytes(n: number): Uint8Array {
    this.need(n, "bytes");
    const out = copyBytes(this.u8, this.pos, n);
    this.pos += n;
    return out;
  }

  /** The next n bytes without a copy (a Buffer view): valid only while the input buffer is. */
  readBytesView(n: number): Buffer {
    this.need(n, "bytes");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The rest of the input, copied. */
  readRemaining(): Uint8Array {
    return this.readBytes(this.end - this.pos);
  }

  skip(n: number): void {
    this.need(n, "bytes");
    this.pos += n;
  }

  readUtf8(n: number): string {
    this.need(n, "UTF-8 string");
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /**
   * A varint that must be a length or count. Without `max` it must fit in the bytes left (else CODER_TRUNCATED);
   * with `max` it must not exceed it (else CODER_INVALID).
   */
  readLength(what: string, max?: number): number {
    const start = this.pos;
    const buf = this.buf;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw truncated(`varint (${what})`, 1, 0);
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (max === undefined) {
          if (result > this.end - this.pos) throw truncated(what, result, this.end - this.pos);
        } else if (result > max) {
          throw new CoderError("CODER_INVALID", `${what}: ${result} exceeds the limit ${max}`);
        }
        return result;
      }
      scale *= 128;
    }
    // Eight groups already pass 2^53: a negative length (a 10-byte varint) or an absurd one.
    this.pos = start;
    const value = this.readVarInt64();
    throw new CoderError("CODER_INVALID", `${what}: ${value} is not a valid length`);
  }

  /** A varint decoded as Beam's VarLongCoder does: the two's-complement 64-bit value. */
  readVarInt64(): bigint {
    const buf = this.buf;
    if (this.pos >= this.end) throw truncated("varint", 1, 0);
    let b = buf[this.pos++]!;
    if (b < 0x80) return BigInt(b);
    let lo = b & 0x7f;
    for (let shift = 7; shift < 28; shift += 7) {
      if (this.pos >= this.end) throw truncated("varint", 1, 0);
      b = buf[this.pos++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) return BigInt(lo);
    }
    // Bits 28..63 in a second number (at most 36 bits, exact in a double).
    let hi = 0;
    let scale = 1;
    for (let group = 4; group < 10; group++) {
      if (this.pos >= this.end) throw truncated("varint", 1, 0);
      b = buf[this.pos++]!;
      if (group === 9 && b > 1) {
        throw new CoderError("CODER_INVALID", `varint: overflows 64 bits (10th byte 0x${b.toString(16)})`);
      }
      hi += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (hi === 0) return BigInt(lo);
        return BigInt.asIntN(64, (BigInt(hi) << 28n) | BigInt(lo));
      }
      scale *= 128;
    }
    throw new CoderError("CODER_INVALID", "varint: longer than 10 bytes");
  }

  /** A varint read as Beam's VarIntCoder reads an int: the low 32 bits, signed. */
  readVarInt32(): number {
    const buf = this.buf;
    const start = this.pos;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) throw truncated("varint", 1, 0);
      const b = buf[this.pos++]!;
      if (shift === 28) {
        result |= (b & 0x0f) << 28;
        if (b < 0x80) return result | 0;
        break;
      }
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return result | 0;
    }
    // Longer than 5 bytes: a 64-bit varint (Python's VarInt32 reads int64 and truncates).
    this.pos = start;
    return Number(BigInt.asIntN(32, this.readVarInt64()));
  }

  readInt16BE(): number {
    this.need(2, "int16");
    const v = this.data.getInt16(this.pos);
    this.pos += 2;
    return v;
  }

  readInt8(): number {
    if (this.pos >= this.end) throw truncated("byte", 1, 0);
    return (this.buf[this.pos++]! << 24) >> 24;
  }

  readInt32BE(): number {
    this.need(4, "int32");
    const v = this.data.getInt32(this.pos);
    this.pos += 4;
    return v;
  }

  readInt64BE(): bigint {
    this.need(8, "int64");
    const v = this.data.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  /**
   * Big-endian 64 bits minus 2^63, as a bigint: Beam's InstantCoder form for timestamps. Decoded through two
   * 32-bit halves because BigInt(number) is cheaper than a 64-bit read plus a bigint subtraction.
   */
  readShiftedInt64BE(): bigint {
    this.need(8, "timestamp");
    const hi = (this.data.getUint32(this.pos) ^ 0x80000000) | 0;
    const lo = this.data.getUint32(this.pos + 4);
    this.pos += 8;
    if (hi >= -0x200000 && hi < 0x200000) return BigInt(hi * TWO_POW_32 + lo);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  readFloat32BE(): number {
    this.need(4, "float");
    const v = this.data.getFloat32(this.pos);
    this.pos += 4;
    return v;
  }

  readFloat64BE(): number {
    this.need(8, "double");
    const v = this.data.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  /**
   * Narrows the input to the next `length` bytes (which must be there) and returns the previous end, for
   * `popLimit`. Lets an outer-context decoder run inside a length prefix without copying the bytes.
   */
  pushLimit(length: number, what: string): number {
    this.need(length, what);
    const previousEnd = this.end;
    this.end = this.pos + length;
    return previousEnd;
  }

  /** Restores the end saved by `pushLimit`, after checking that the narrowed bytes were all consumed. */
  popLimit(previousEnd: number, what: string): void {
    if (this.pos !== this.end) {
      const left = this.end - this.pos;
      this.end = previousEnd;
      throw new CoderError("CODER_INVALID", `${what}: ${left} byte(s) of the length-prefixed value left undecoded`);
    }
    this.end = previousEnd;
  }

  /** Restores the end saved by `pushLimit` when the inner decode failed (the reader may be reused). */
  popLimitAfterError(previousEnd: number): void {
    this.end = previousEnd;
  }

  /**
   * Checks that `count` elements of at least `minBytes` each can still be in the input, so that a corrupt count
   * fails fast instead of looping (or allocating) for billions of elements.
   */
  checkCount(what: string, count: number, minBytes: number): void {
    if (minBytes > 0) {
      if (count * minBytes > this.end - this.pos) {
        throw truncated(`${what} (${count} elements)`, count * minBytes, this.end - this.pos);
      }
    } else if (count > MAX_ZERO_WIDTH_ELEMENTS) {
      throw new CoderError(
        "CODER_INVALID",
        `${what}: ${count} elements of an encoding that may be empty is implausible`,
      );
    }
  }
}
