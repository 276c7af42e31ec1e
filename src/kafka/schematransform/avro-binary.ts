// Avro's binary encoding (the specification's "Binary Encoding": no container file, no schema in the bytes, as Beam
// Java's AvroUtils reads and writes Kafka values) between bytes and Row values of the mapped Beam schema
// (avro-schema.ts): int → number, long → bigint, float/double → number, bytes → Uint8Array, string and enum symbol →
// string, map → Map, record → object, timestamp-millis → bigint ms, decimal → {unscaled, scale}.
import { bigIntFromTwosComplement, twosComplementBytes } from "../../model/coders/index.js";
import type { Decimal } from "../../model/schema.js";
import { AvroFormatError, type AvroRecord, type AvroType } from "./avro-schema.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const LONG_MIN = -(1n << 63n);
const LONG_MAX = (1n << 63n) - 1n;

class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  private need(n: number, path: string): void {
    if (this.remaining < n) throw new AvroFormatError(path, `the value ends early (${n} more bytes needed)`);
  }

  /** A zig-zag varint of up to 64 bits. */
  long(path: string): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      this.need(1, path);
      const b = this.bytes[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) throw new AvroFormatError(path, "a varint longer than 10 bytes");
    }
    return BigInt.asIntN(64, (result >> 1n) ^ -(result & 1n));
  }

  int(path: string): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      this.need(1, path);
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw new AvroFormatError(path, "an int varint longer than 5 bytes");
    }
    const value = result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    if (value < INT_MIN || value > INT_MAX) throw new AvroFormatError(path, `int ${value} is out of range`);
    return value;
  }

  /** A count or length: a long that must fit a JS number. */
  size(path: string): number {
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

/** Decodes one Avro-encoded value of `record` into a row; throws AvroFormatError naming the path. */
export function avroBytesToRow(bytes: Uint8Array, record: AvroRecord): Record<string, unknown> {
  const reader = new Reader(bytes);
  const row = readRecord(reader, record, "$");
  if (reader.remaining > 0)
    throw new AvroFormatError("$", `${reader.remaining} bytes left after the record (another schema wrote it?)`);
  return row;
}

function readRecord(reader: Reader, record: AvroRecord, path: string): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const field of record.fields) row[field.name] = readValue(reader, field.type, `${path}.${field.name}`);
  return row;
}

/** Array and map items come in blocks: a count (negative: followed by the block's byte size), 0 ends. */
function readBlocks(reader: Reader, path: string, item: (index: number) => void): void {
  let index = 0;
  for (;;) {
    let count = reader.size(path);
    if (count === 0) return;
    if (count < 0) {
      count = -count;
      reader.size(path); // the block's byte size, for skipping: we read every item
    }
    for (let i = 0; i < count; i++) item(index++);
  }
}

function readValue(reader: Reader, type: AvroType, path: string): unknown {
  switch (type.kind) {
    case "boolean": {
      const b = reader.raw(1, path)[0]!;
      if (b > 1) throw new AvroFormatError(path, `a boolean byte of ${b}`);
      return b === 1;
    }
    case "int":
      return reader.int(path);
    case "long":
    case "timestamp-millis":
      return reader.long(path);
    case "float":
      return reader.float(path);
    case "double":
      return reader.double(path);
    case "bytes":
      return Buffer.from(reader.raw(reader.size(path), path));
    case "string":
      try {
        return utf8.decode(reader.raw(reader.size(path), path));
      } catch (err) {
        if (err instanceof AvroFormatError) throw err;
        throw new AvroFormatError(path, "a string that is not UTF-8");
      }
    case "decimal": {
      const unscaled = bigIntFromTwosComplement(reader.raw(reader.size(path), path));
      return { unscaled, scale: type.scale } satisfies Decimal;
    }
    case "enum": {
      const index = reader.int(path);
      const symbol = type.symbols[index];
      if (symbol === undefined)
        throw new AvroFormatError(path, `enum index ${index} of ${type.symbols.length} symbols`);
      return symbol;
    }
    case "array": {
      const out: unknown[] = [];
      readBlocks(reader, path, (i) => out.push(readValue(reader, type.items, `${path}[${i}]`)));
      return out;
    }
    case "map": {
      const out = new Map<string, unknown>();
      readBlocks(reader, path, () => {
        const key = readValue(reader, { kind: "string" }, `${path}{}`) as string;
        out.set(key, readValue(reader, type.values, `${path}.${key}`));
      });
      return out;
    }
    case "nullable": {
      const branch = reader.long(path);
      if (branch !== 0n && branch !== 1n) throw new AvroFormatError(path, `union branch ${branch} of 2`);
      return Number(branch) === type.nullIndex ? null : readValue(reader, type.type, path);
    }
    case "record":
      return readRecord(reader, type, path);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding.

class Writer {
  private buffer = new Uint8Array(256);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    const next = new Uint8Array(Math.max(this.buffer.length * 2, this.length + n));
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  long(value: bigint): void {
    let z = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
    this.room(10);
    while (z >= 0x80n) {
      this.buffer[this.length++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.buffer[this.length++] = Number(z);
  }

  int(value: number): void {
    let z = value >= 0 ? value * 2 : -value * 2 - 1;
    this.room(5);
    while (z >= 0x80) {
      this.buffer[this.length++] = (z % 0x80) | 0x80;
      z = Math.floor(z / 0x80);
    }
    this.buffer[this.length++] = z;
  }

  raw(bytes: Uint8Array): void {
    this.int(bytes.length);
    this.room(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
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

  bytes(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** Encodes a row as `record` (Avro binary); throws AvroFormatError naming the field a value does not fit. */
export function rowToAvroBytes(row: Record<string, unknown>, record: AvroRecord): Uint8Array {
  const writer = new Writer();
  writeRecord(writer, row, record, "$");
  return writer.bytes();
}

function writeRecord(writer: Writer, row: unknown, record: AvroRecord, path: string): void {
  if (row === null || typeof row !== "object") throw new AvroFormatError(path, `expected a row, got ${describe(row)}`);
  for (const field of record.fields) {
    writeValue(writer, (row as Record<string, unknown>)[field.name], field.type, `${path}.${field.name}`);
  }
}

function integer(value: unknown, path: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  throw new AvroFormatError(path, `expected an integer, got ${describe(value)}`);
}

function writeValue(writer: Writer, value: unknown, type: AvroType, path: string): void {
  if (type.kind === "nullable") {
    const isNull = value === null || value === undefined;
    writer.long(BigInt(isNull ? type.nullIndex : 1 - type.nullIndex));
    if (!isNull) writeValue(writer, value, type.type, path);
    return;
  }
  if (value === null || value === undefined) throw new AvroFormatError(path, "is null, and its type is not nullable");
  switch (type.kind) {
    case "boolean":
      if (typeof value !== "boolean") throw new AvroFormatError(path, `expected a boolean, got ${describe(value)}`);
      writer.byte(value ? 1 : 0);
      return;
    case "int": {
      const n = Number(integer(value, path));
      if (n < INT_MIN || n > INT_MAX) throw new AvroFormatError(path, `${n} does not fit an Avro int`);
      writer.int(n);
      return;
    }
    case "long":
    case "timestamp-millis": {
      const n = integer(value, path);
      if (n < LONG_MIN || n > LONG_MAX) throw new AvroFormatError(path, `${n} does not fit an Avro long`);
      writer.long(n);
      return;
    }
    case "float":
    case "double":
      if (typeof value !== "number") throw new AvroFormatError(path, `expected a number, got ${describe(value)}`);
      if (type.kind === "float") writer.float(value);
      else writer.double(value);
      return;
    case "bytes":
      if (!(value instanceof Uint8Array)) throw new AvroFormatError(path, `expected bytes, got ${describe(value)}`);
      writer.raw(value);
      return;
    case "string":
      if (typeof value !== "string") throw new AvroFormatError(path, `expected a string, got ${describe(value)}`);
      writer.raw(utf8Encoder.encode(value));
      return;
    case "enum": {
      const index = typeof value === "string" ? type.symbols.indexOf(value) : -1;
      if (index < 0) throw new AvroFormatError(path, `${describe(value)} is not one of ${type.symbols.join(", ")}`);
      writer.int(index);
      return;
    }
    case "decimal": {
      const d = value as Partial<Decimal>;
      if (typeof d.unscaled !== "bigint" || d.scale !== type.scale)
        throw new AvroFormatError(path, `expected a decimal of scale ${type.scale}, got ${describe(value)}`);
      writer.raw(twosComplementBytes(d.unscaled));
      return;
    }
    case "array": {
      if (!Array.isArray(value)) throw new AvroFormatError(path, `expected an array, got ${describe(value)}`);
      if (value.length > 0) writer.long(BigInt(value.length));
      for (const [i, item] of value.entries()) writeValue(writer, item, type.items, `${path}[${i}]`);
      writer.byte(0);
      return;
    }
    case "map": {
      const entries = value instanceof Map ? [...value.entries()] : undefined;
      if (!entries) throw new AvroFormatError(path, `expected a map, got ${describe(value)}`);
      if (entries.length > 0) writer.long(BigInt(entries.length));
      for (const [key, item] of entries) {
        if (typeof key !== "string") throw new AvroFormatError(path, `map key ${describe(key)} is not a string`);
        writer.raw(utf8Encoder.encode(key));
        writeValue(writer, item, type.values, `${path}.${key}`);
      }
      writer.byte(0);
      return;
    }
    case "record":
      writeRecord(writer, value, type, path);
      return;
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "bytes";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === "number" || typeof value === "bigint") return `the ${typeof value} ${value}`;
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
