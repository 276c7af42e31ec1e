// Snappy as Kafka batches carry it: snappy-java's stream framing (what Kafka's Java clients write: a 16-byte header,
// then chunks, each a u32 BE length and a raw Snappy block), or one raw Snappy block (some other clients). The raw
// format is https://github.com/google/snappy/blob/main/format_description.txt; written from it.

import { CompressionFormatError, readU32LE } from "./bytes.js";

/** snappy-java's SnappyOutputStream header: magic, version 1, compatible version 1. */
const XERIAL_HEADER = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
const XERIAL_MAGIC_BYTES = 8;
/** snappy-java's default chunk (32 KiB of input per raw block), as Kafka's producer writes. */
const CHUNK_SIZE = 32 * 1024;

const LITERAL = 0;
const COPY_1 = 1;
const COPY_2 = 2;
const MIN_MATCH = 4;
const HASH_BITS = 14;

function formatError(message: string): CompressionFormatError {
  return new CompressionFormatError("snappy", message);
}

/** `data` in snappy-java's framing, as Kafka's Java producer writes it. */
export function snappyCompress(data: Uint8Array): Buffer {
  const chunks = Math.ceil(data.length / CHUNK_SIZE);
  const out = Buffer.allocUnsafe(XERIAL_HEADER.length + chunks * (4 + maxRawLength(CHUNK_SIZE)));
  XERIAL_HEADER.copy(out, 0);
  let pos = XERIAL_HEADER.length;
  const table = new Int32Array(1 << HASH_BITS);
  for (let start = 0; start < data.length; start += CHUNK_SIZE) {
    const size = compressRaw(data, start, Math.min(data.length, start + CHUNK_SIZE), out, pos + 4, table);
    out.writeUInt32BE(size, pos);
    pos += 4 + size;
  }
  return out.subarray(0, pos);
}

/** The bytes of a snappy-java stream, or of one raw Snappy block. */
export function snappyDecompress(data: Uint8Array): Buffer {
  if (!isXerial(data)) return decompressRaw(data, 0, data.length);
  // Two passes: the chunks' lengths first (each raw block starts with its length), then one buffer for all.
  let total = 0;
  for (let pos = XERIAL_HEADER.length; pos < data.length; ) {
    const size = chunkSize(data, pos);
    total += rawLength(data, pos + 4, pos + 4 + size).length;
    pos += 4 + size;
  }
  const out = Buffer.allocUnsafe(total);
  let op = 0;
  for (let pos = XERIAL_HEADER.length; pos < data.length; ) {
    const size = chunkSize(data, pos);
    op = decodeRaw(data, pos + 4, pos + 4 + size, out, op);
    pos += 4 + size;
  }
  return out;
}

function isXerial(data: Uint8Array): boolean {
  if (data.length < XERIAL_HEADER.length) return false;
  for (let i = 0; i < XERIAL_MAGIC_BYTES; i++) if (data[i] !== XERIAL_HEADER[i]) return false;
  return true;
}

function chunkSize(data: Uint8Array, pos: number): number {
  if (pos + 4 > data.length) throw formatError(`truncated chunk length at byte ${pos}`);
  const size = ((data[pos]! << 24) | (data[pos + 1]! << 16) | (data[pos + 2]! << 8) | data[pos + 3]!) >>> 0;
  if (pos + 4 + size > data.length) throw formatError(`chunk of ${size} bytes at byte ${pos} past the end`);
  return size;
}

/** The worst case of a raw block of `n` bytes: its length varint, literals in runs of at most 64 KiB. */
function maxRawLength(n: number): number {
  return 5 + n + 5 * Math.ceil(n / 65536 + 1);
}

/** A raw block's uncompressed length (its varint preamble) and where its elements start. */
function rawLength(data: Uint8Array, start: number, end: number): { length: number; at: number } {
  let length = 0;
  let shift = 0;
  let at = start;
  for (;;) {
    if (at >= end) throw formatError("truncated length preamble");
    const b = data[at++]!;
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
    if (shift > 28) throw formatError("length preamble longer than 32 bits");
  }
  if (length > 0xffffffff) throw formatError(`length ${length} over 32 bits`);
  return { length, at };
}

function decompressRaw(data: Uint8Array, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(rawLength(data, start, end).length);
  decodeRaw(data, start, end, out, 0);
  return out;
}

/** Decodes the raw block data[start, end) at out[op]; returns the end of what it wrote. */
function decodeRaw(data: Uint8Array, start: number, end: number, out: Uint8Array, op: number): number {
  const { length, at } = rawLength(data, start, end);
  const blockStart = op;
  const limit = op + length;
  if (limit > out.length) throw formatError("block longer than its length preamble");
  let ip = at;
  while (ip < end) {
    const tag = data[ip++]!;
    const type = tag & 3;
    if (type === LITERAL) {
      let size = tag >>> 2;
      if (size >= 60) {
        const bytes = size - 59;
        if (ip + bytes > end) throw formatError("truncated literal length");
        size = 0;
        for (let i = 0; i < bytes; i++) size += data[ip + i]! * 2 ** (8 * i);
        ip += bytes;
      }
      size += 1;
      if (ip + size > end || op + size > limit) throw formatError("literal runs past the block");
      if (size > 16) out.set(data.subarray(ip, ip + size), op);
      else for (let i = 0; i < size; i++) out[op + i] = data[ip + i]!;
      ip += size;
      op += size;
      continue;
    }
    let size: number;
    let offset: number;
    if (type === COPY_1) {
      if (ip + 1 > end) throw formatError("truncated copy");
      size = MIN_MATCH + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | data[ip++]!;
    } else if (type === COPY_2) {
      if (ip + 2 > end) throw formatError("truncated copy");
      size = (tag >>> 2) + 1;
      offset = data[ip]! | (data[ip + 1]! << 8);
      ip += 2;
    } else {
      // copy with a 4-byte offset
      if (ip + 4 > end) throw formatError("truncated copy");
      size = (tag >>> 2) + 1;
      offset = (data[ip]! | (data[ip + 1]! << 8) | (data[ip + 2]! << 16) | (data[ip + 3]! << 24)) >>> 0;
      ip += 4;
    }
    if (offset === 0 || offset > op - blockStart) throw formatError(`copy offset ${offset} outside the block`);
    if (op + size > limit) throw formatError("copy runs past the block's length");
    let from = op - offset;
    if (offset >= size && size > 16) {
      out.copyWithin(op, from, from + size);
      op += size;
    } else {
      for (let i = 0; i < size; i++) out[op++] = out[from++]!; // short, or overlapping (repeats the last `offset` bytes)
    }
  }
  if (op !== limit) throw formatError(`block decoded to ${op - blockStart} bytes, its preamble says ${length}`);
  return op;
}

/** A raw Snappy block of data[start, end) at out[pos] (room for maxRawLength); returns its size. */
function compressRaw(
  data: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  pos: number,
  table: Int32Array,
): number {
  let op = pos;
  for (let n = end - start; ; ) {
    out[op++] = n >= 0x80 ? (n & 0x7f) | 0x80 : n;
    if (n < 0x80) break;
    n = Math.floor(n / 128);
  }
  table.fill(-1);
  let anchor = start;
  let ip = start;
  while (ip + MIN_MATCH <= end) {
    const seq = readU32LE(data, ip);
    const h = Math.imul(seq, 0x1e35a7bd) >>> (32 - HASH_BITS);
    const ref = table[h]!;
    table[h] = ip;
    if (ref < 0 || readU32LE(data, ref) !== seq) {
      ip += 1 + ((ip - anchor) >>> 5);
      continue;
    }
    let length = MIN_MATCH;
    while (ip + length < end && data[ref + length] === data[ip + length]) length++;
    op = writeLiteral(data, anchor, ip, out, op);
    op = writeCopy(out, op, ip - ref, length);
    ip += length;
    anchor = ip;
  }
  op = writeLiteral(data, anchor, end, out, op);
  return op - pos;
}

function writeLiteral(data: Uint8Array, from: number, to: number, out: Uint8Array, op: number): number {
  const size = to - from;
  if (size === 0) return op;
  const n = size - 1;
  if (n < 60) out[op++] = (n << 2) | LITERAL;
  else {
    const bytes = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
    out[op++] = ((59 + bytes) << 2) | LITERAL;
    for (let i = 0; i < bytes; i++) out[op++] = (n >>> (8 * i)) & 0xff;
  }
  out.set(data.subarray(from, to), op);
  return op + size;
}

/** Copies of at most 64 bytes (offsets stay under 64 KiB: chunks are 32 KiB); short near ones in 2 bytes. */
function writeCopy(out: Uint8Array, op: number, offset: number, length: number): number {
  while (length >= 68) {
    op = writeCopy2(out, op, offset, 64);
    length -= 64;
  }
  if (length > 64) {
    op = writeCopy2(out, op, offset, 60);
    length -= 60;
  }
  if (length <= 11 && offset < 2048) {
    out[op++] = COPY_1 | ((length - MIN_MATCH) << 2) | ((offset >>> 8) << 5);
    out[op++] = offset & 0xff;
    return op;
  }
  return writeCopy2(out, op, offset, length);
}

function writeCopy2(out: Uint8Array, op: number, offset: number, length: number): number {
  out[op++] = COPY_2 | ((length - 1) << 2);
  out[op++] = offset & 0xff;
  out[op++] = offset >>> 8;
  return op;
}
