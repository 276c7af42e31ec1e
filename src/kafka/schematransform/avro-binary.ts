// Avro's binary encoding (the specification's "Binary Encoding": no container file, no schema in the bytes, as Beam
// Java's AvroUtils reads and writes Kafka values) between bytes and Row values of the mapped Beam schema
// (avro-schema.ts): int → number, long → bigint, float/double → number, bytes → Uint8Array, string and enum symbol →
// string, map → Map, record → object, timestamp-millis → bigint ms, date → bigint days, decimal → {unscaled, scale}.
//
// Each record type is compiled once into a tree of closures (cached per type object): the per-value work is the
// bytes, not walking the schema, and error paths ("$.address.city") are fixed when compiled, not built per value.
import { bigIntFromTwosComplement, rowFactory, twosComplementBytes } from "../../model/coders/index.js";
import type { Decimal } from "../../model/schema.js";
import { AvroFormatError, type AvroRecord, type AvroType } from "./avro-schema.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const LONG_MIN = -(1n << 63n);
const LONG_MAX = (1n << 63n) - 1n;
/** Longs whose zig-zag form fits 7 varint bytes (49 bits) are read and written as numbers. */
const FAST_LONG = 2 ** 47;

class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  need(n: number, path: string): void {
    if (this.bytes.length - this.pos < n)
      throw new AvroFormatError(path, `the value ends early (${n} more bytes needed)`);
  }

  /** A zig-zag varint of up to 64 bits: as a number while it has at most 7 bytes, else through bigint. */
  long(path: string): bigint {
    const bytes = this.bytes;
    const start = this.pos;
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= bytes.length) this.need(1, path);
      const b = bytes[this.pos++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) return BigInt(n % 2 === 0 ? n / 2 : -(n + 1) / 2);
      scale *= 128;
    }
    this.pos = start;
    return this.bigLong(path);
  }

  private bigLong(path: string): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      this.need(1, path);
      const b = this.bytes[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7n;
      if (shift > 63n) throw new AvroFormatError(path, "a varint longer than 10 bytes");
    }
    return BigInt.asIntN(64, (result >> 1n) ^ -(result & 1n));
  }

  int(path: string): number {
    const bytes = this.bytes;
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= bytes.length) this.need(1, path);
      const b = bytes[this.pos++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) {
        const value = n % 2 === 0 ? n / 2 : -(n + 1) / 2;
        if (value < INT_MIN || value > INT_MAX) throw new AvroFormatError(path, `int ${value} is out of range`);
        return value;
      }
      scale *= 128;
    }
    throw new AvroFormatError(path, "an int varint longer than 5 bytes");
  }

  /** A count or length (a long): a JS number. */
  size(path: string): number {
    const bytes = this.bytes;
    const b = this.pos < bytes.length ? bytes[this.pos]! : 0x80;
    if (b < 0x80) {
      this.pos++;
      return b % 2 === 0 ? b / 2 : -(b + 1) / 2;
    }
    const n = this.long(path);
    if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER))
      throw new AvroFormatError(path, `a length of ${n}`);
    return Number(n);
  }

  raw(n: number, path: string): Uint8Array {
    if (n < 0) throw new AvroFormatError(path, `a negative length (${n})`);
    this.need(n, path);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(path: string): string {
    const length = this.size(path);
    if (length < 0) throw new AvroFormatError(path, `a negative length (${length})`);
    this.need(length, path);
    const bytes = this.bytes;
    const start = this.pos;
    const end = start + length;
    // Short ASCII (most keys, names, symbols) without the decoder's call; anything else through it, checked.
    if (length <= 32) {
      let text = "";
      let i = start;
      for (; i < end; i++) {
        const c = bytes[i]!;
        if (c >= 0x80) break;
        text += String.fromCharCode(c);
      }
      if (i === end) {
        this.pos = end;
        return text;
      }
    }
    this.pos = end;
    try {
      return utf8.decode(bytes.subarray(start, end));
    } catch {
      throw new AvroFormatError(path, "a string that is not UTF-8");
    }
  }

  float(path: string): number {
    this.need(4, path);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(path: string): number {
    this.need(8, path);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
}

type Decode = (reader: Reader) => unknown;

/** Array and map items come in blocks: a count (negative: followed by the block's byte size), 0 ends. */
function readBlocks(reader: Reader, path: string, item: () => void): void {
  for (;;) {
    let count = reader.size(path);
    if (count === 0) return;
    if (count < 0) {
      count = -count;
      reader.size(path); // the block's byte size, for skipping: we read every item
    }
    for (let i = 0; i < count; i++) item();
  }
}

function decoder(type: AvroType, path: string): Decode {
  switch (type.kind) {
    case "boolean":
      return (r) => {
        r.need(1, path);
        const b = r.bytes[r.pos++]!;
        if (b > 1) throw new AvroFormatError(path, `a boolean byte of ${b}`);
        return b === 1;
      };
    case "int":
      return (r) => r.int(path);
    case "date":
      return (r) => BigInt(r.int(path));
    case "long":
    case "timestamp-millis":
      return (r) => r.long(path);
    case "float":
      return (r) => r.float(path);
    case "double":
      return (r) => r.double(path);
    case "bytes":
      return (r) => Buffer.from(r.raw(r.size(path), path));
    case "string":
      return (r) => r.string(path);
    case "decimal": {
      const { scale, size } = type;
      return (r) =>
        ({
          unscaled: bigIntFromTwosComplement(r.raw(size ?? r.size(path), path)),
          scale,
        }) satisfies Decimal;
    }
    case "fixed": {
      const size = type.size;
      return (r) => Buffer.from(r.raw(size, path));
    }
    case "enum": {
      const symbols = type.symbols;
      return (r) => {
        const index = r.int(path);
        const symbol = symbols[index];
        if (symbol === undefined) throw new AvroFormatError(path, `enum index ${index} of ${symbols.length} symbols`);
        return symbol;
      };
    }
    case "array": {
      const item = decoder(type.items, `${path}[]`);
      return (r) => {
        const out: unknown[] = [];
        readBlocks(r, path, () => out.push(item(r)));
        return out;
      };
    }
    case "map": {
      const value = decoder(type.values, `${path}{}`);
      const keyPath = `${path}{key}`;
      return (r) => {
        const out = new Map<string, unknown>();
        readBlocks(r, path, () => {
          const key = r.string(keyPath);
          out.set(key, value(r));
        });
        return out;
      };
    }
    case "nullable": {
      const inner = decoder(type.type, path);
      const nullBranch = type.nullIndex;
      return (r) => {
        const branch = r.size(path);
        if (branch !== 0 && branch !== 1) throw new AvroFormatError(path, `union branch ${branch} of 2`);
        return branch === nullBranch ? null : inner(r);
      };
    }
    case "record":
      return recordDecoder(type, path);
  }
}

function recordDecoder(record: AvroRecord, path: string): Decode {
  const build = rowFactory(record.fields.map((f) => f.name));
  const fields = record.fields.map((f) => decoder(f.type, `${path}.${f.name}`));
  // One values array per compiled record: a record never contains itself (recursive types are refused).
  const values: unknown[] = new Array(fields.length);
  return (r) => {
    for (let i = 0; i < fields.length; i++) values[i] = fields[i]!(r);
    return build(values);
  };
}

const decoders = new WeakMap<AvroRecord, Decode>();

/** Decodes one Avro-encoded value of `record` into a row; throws AvroFormatError naming the path. */
export function avroBytesToRow(bytes: Uint8Array, record: AvroRecord): Record<string, unknown> {
  let decode = decoders.get(record);
  if (decode === undefined) decoders.set(record, (decode = recordDecoder(record, "$")));
  const reader = new Reader(bytes);
  const row = decode(reader) as Record<string, unknown>;
  if (reader.remaining > 0)
    throw new AvroFormatError("$", `${reader.remaining} bytes left after the record (another schema wrote it?)`);
  return row;
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding.

class Writer {
  buffer = Buffer.allocUnsafe(256);
  private view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
  length = 0;

  room(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + n));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  /** A zig-zag varint of a safe integer (|n| < 2^47 here, or a length). */
  varint(n: number): void {
    let z = n >= 0 ? n * 2 : -n * 2 - 1;
    this.room(10);
    const buffer = this.buffer;
    while (z >= 0x80) {
      buffer[this.length++] = (z % 0x80) | 0x80;
      z = Math.floor(z / 0x80);
    }
    buffer[this.length++] = z;
  }

  long(value: bigint): void {
    if (value > -FAST_LONG && value < FAST_LONG) {
      this.varint(Number(value));
      return;
    }
    let z = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
    this.room(10);
    while (z >= 0x80n) {
      this.buffer[this.length++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.buffer[this.length++] = Number(z);
  }

  raw(bytes: Uint8Array): void {
    this.varint(bytes.length);
    this.room(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Bytes without a length (a fixed). */
  fixed(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  string(text: string): void {
    // Short ASCII straight in; anything else measured, then written by Buffer.
    if (text.length <= 32) {
      this.room(1 + text.length);
      const buffer = this.buffer;
      const start = this.length;
      let i = 0;
      for (; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) break;
        buffer[start + 1 + i] = c;
      }
      if (i === text.length) {
        buffer[start] = text.length * 2;
        this.length = start + 1 + text.length;
        return;
      }
    }
    const length = Buffer.byteLength(text, "utf8");
    this.varint(length);
    this.room(length);
    this.buffer.write(text, this.length, length, "utf8");
    this.length += length;
  }

  byte(b: number): void {
    this.room(1);
    this.buffer[this.length++] = b;
  }

  float(value: number): void {
    this.room(4);
    this.view.setFloat32(this.length, value, true);
    this.length += 4;
  }

  double(value: number): void {
    this.room(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
  }

  /** A copy of what was written (small ones from Node's buffer pool). */
  bytes(): Uint8Array {
    const out = Buffer.allocUnsafe(this.length);
    this.buffer.copy(out, 0, 0, this.length);
    return out;
  }

  /** Ready for the next value; a buffer grown past 1 MiB by one large value is let go. */
  reset(): void {
    this.length = 0;
    if (this.buffer.length > 1 << 20) {
      this.buffer = Buffer.allocUnsafe(256);
      this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
    }
  }
}

type Encode = (writer: Writer, value: unknown) => void;

function integer(value: unknown, path: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  throw new AvroFormatError(path, `expected an integer, got ${describe(value)}`);
}

function encoder(type: AvroType, path: string): Encode {
  if (type.kind === "nullable") {
    const inner = encoder(type.type, path);
    const nullBranch = type.nullIndex;
    return (w, value) => {
      if (value === null || value === undefined) {
        w.varint(nullBranch);
      } else {
        w.varint(1 - nullBranch);
        inner(w, value);
      }
    };
  }
  const encode = presentEncoder(type, path);
  return (w, value) => {
    if (value === null || value === undefined) throw new AvroFormatError(path, "is null, and its type is not nullable");
    encode(w, value);
  };
}

function presentEncoder(type: Exclude<AvroType, { kind: "nullable" }>, path: string): Encode {
  switch (type.kind) {
    case "boolean":
      return (w, value) => {
        if (typeof value !== "boolean") throw new AvroFormatError(path, `expected a boolean, got ${describe(value)}`);
        w.byte(value ? 1 : 0);
      };
    case "int":
    case "date":
      return (w, value) => {
        const n = typeof value === "number" && Number.isInteger(value) ? value : Number(integer(value, path));
        if (n < INT_MIN || n > INT_MAX) throw new AvroFormatError(path, `${n} does not fit an Avro int`);
        w.varint(n);
      };
    case "long":
    case "timestamp-millis":
      return (w, value) => {
        const n = integer(value, path);
        if (n < LONG_MIN || n > LONG_MAX) throw new AvroFormatError(path, `${n} does not fit an Avro long`);
        w.long(n);
      };
    case "float":
    case "double": {
      const single = type.kind === "float";
      return (w, value) => {
        if (typeof value !== "number") throw new AvroFormatError(path, `expected a number, got ${describe(value)}`);
        if (single) w.float(value);
        else w.double(value);
      };
    }
    case "bytes":
      return (w, value) => {
        if (!(value instanceof Uint8Array)) throw new AvroFormatError(path, `expected bytes, got ${describe(value)}`);
        w.raw(value);
      };
    case "string":
      return (w, value) => {
        if (typeof value !== "string") throw new AvroFormatError(path, `expected a string, got ${describe(value)}`);
        w.string(value);
      };
    case "enum": {
      const symbols = type.symbols;
      return (w, value) => {
        const index = typeof value === "string" ? symbols.indexOf(value) : -1;
        if (index < 0) throw new AvroFormatError(path, `${describe(value)} is not one of ${symbols.join(", ")}`);
        w.varint(index);
      };
    }
    case "decimal": {
      const { scale, size } = type;
      return (w, value) => {
        const d = value as Partial<Decimal>;
        if (typeof d.unscaled !== "bigint" || d.scale !== scale)
          throw new AvroFormatError(path, `expected a decimal of scale ${scale}, got ${describe(value)}`);
        const bytes = twosComplementBytes(d.unscaled);
        if (size === undefined) {
          w.raw(bytes);
          return;
        }
        if (bytes.length > size) throw new AvroFormatError(path, `${d.unscaled} needs more than ${size} bytes`);
        // Sign-extended to the fixed size.
        w.fixed(Buffer.concat([Buffer.alloc(size - bytes.length, d.unscaled < 0n ? 0xff : 0), bytes]));
      };
    }
    case "fixed": {
      const size = type.size;
      return (w, value) => {
        if (!(value instanceof Uint8Array) || value.length !== size)
          throw new AvroFormatError(path, `expected ${size} bytes, got ${describe(value)}`);
        w.fixed(value);
      };
    }
    case "array": {
      const item = encoder(type.items, `${path}[]`);
      return (w, value) => {
        if (!Array.isArray(value)) throw new AvroFormatError(path, `expected an array, got ${describe(value)}`);
        if (value.length > 0) w.varint(value.length);
        for (const element of value) item(w, element);
        w.byte(0);
      };
    }
    case "map": {
      const item = encoder(type.values, `${path}{}`);
      return (w, value) => {
        if (!(value instanceof Map)) throw new AvroFormatError(path, `expected a map, got ${describe(value)}`);
        if (value.size > 0) w.varint(value.size);
        for (const [key, element] of value) {
          if (typeof key !== "string") throw new AvroFormatError(path, `map key ${describe(key)} is not a string`);
          w.string(key);
          item(w, element);
        }
        w.byte(0);
      };
    }
    case "record":
      return recordEncoder(type, path);
  }
}

function recordEncoder(record: AvroRecord, path: string): Encode {
  const names = record.fields.map((f) => f.name);
  const fields = record.fields.map((f) => encoder(f.type, `${path}.${f.name}`));
  return (w, row) => {
    if (row === null || typeof row !== "object")
      throw new AvroFormatError(path, `expected a row, got ${describe(row)}`);
    for (let i = 0; i < fields.length; i++) fields[i]!(w, (row as Record<string, unknown>)[names[i]!]);
  };
}

const encoders = new WeakMap<AvroRecord, Encode>();
/** Encoding is synchronous and calls nothing outside: one scratch writer serves every row, its bytes copied out. */
const scratch = new Writer();

/** Encodes a row as `record` (Avro binary); throws AvroFormatError naming the field a value does not fit. */
export function rowToAvroBytes(row: Record<string, unknown>, record: AvroRecord): Uint8Array {
  let encode = encoders.get(record);
  if (encode === undefined) encoders.set(record, (encode = recordEncoder(record, "$")));
  scratch.reset();
  encode(scratch, row);
  return scratch.bytes();
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "bytes";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === "number" || typeof value === "bigint") return `the ${typeof value} ${value}`;
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
