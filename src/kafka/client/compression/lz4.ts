// LZ4 as Kafka batches carry it: one LZ4 frame (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md) of
// LZ4 blocks (https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md). Written from those specifications.
// Compressing writes what Kafka's Java producer writes: 64 KiB independent blocks, no checksums but the header's.
// Decompressing reads any frame (linked or independent blocks, checksums, content size), several in a row.
import { CompressionFormatError, readU32LE, writeU32LE } from "./bytes.js";
import { xxhash32 } from "./xxhash32.js";

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const UNCOMPRESSED_BLOCK = 0x80000000;
const BLOCK_SIZE = 64 * 1024;
/** Version 01, independent blocks; 64 KiB blocks (Kafka's KafkaLZ4BlockOutputStream writes the same). */
const FLG = 0x60;
const BD = 0x40;

const MIN_MATCH = 4;
/** A block's last 5 bytes are literals, and its last match starts 12 bytes or more before its end (the spec's). */
const LAST_LITERALS = 5;
const MATCH_START_LIMIT = 12;
const HASH_BITS = 14;
const MAX_OFFSET = 0xffff;

function formatError(message: string): CompressionFormatError {
  return new CompressionFormatError("lz4", message);
}

/** One LZ4 frame of `data`. */
export function lz4Compress(data: Uint8Array): Buffer {
  const blocks = Math.ceil(data.length / BLOCK_SIZE);
  // Header, per block its size and at worst its bytes stored as they are, the end mark.
  const out = Buffer.allocUnsafe(7 + blocks * (4 + BLOCK_SIZE) + 4);
  writeU32LE(out, 0, FRAME_MAGIC);
  out[4] = FLG;
  out[5] = BD;
  out[6] = (xxhash32(out, 4, 6) >>> 8) & 0xff;
  let pos = 7;
  const table = new Int32Array(1 << HASH_BITS);
  const scratch = Buffer.allocUnsafe(BLOCK_SIZE + Math.ceil(BLOCK_SIZE / 255) + 16);
  for (let start = 0; start < data.length; start += BLOCK_SIZE) {
    const end = Math.min(data.length, start + BLOCK_SIZE);
    const size = compressBlock(data, start, end, scratch, table);
    if (size < end - start) {
      writeU32LE(out, pos, size);
      out.set(scratch.subarray(0, size), pos + 4);
      pos += 4 + size;
    } else {
      writeU32LE(out, pos, (end - start) | UNCOMPRESSED_BLOCK);
      out.set(data.subarray(start, end), pos + 4);
      pos += 4 + end - start;
    }
  }
  writeU32LE(out, pos, 0);
  return out.subarray(0, pos + 4);
}

/** Greedy LZ4 block of data[start, end) into dst (room for the worst case); returns its size. */
function compressBlock(src: Uint8Array, start: number, end: number, dst: Uint8Array, table: Int32Array): number {
  table.fill(-1);
  let dp = 0;
  let anchor = start;
  const matchEndLimit = end - LAST_LITERALS;
  const lastMatchStart = end - MATCH_START_LIMIT;
  let ip = start;
  while (ip <= lastMatchStart) {
    const seq = readU32LE(src, ip);
    const h = Math.imul(seq, 0x9e3779b1) >>> (32 - HASH_BITS);
    const ref = table[h]!;
    table[h] = ip;
    if (ref < 0 || ip - ref > MAX_OFFSET || readU32LE(src, ref) !== seq) {
      ip += 1 + ((ip - anchor) >>> 6); // incompressible stretches are crossed faster, as LZ4's own compressor does
      continue;
    }
    let length = MIN_MATCH;
    while (ip + length < matchEndLimit && src[ref + length] === src[ip + length]) length++;
    const tokenAt = dp;
    dp = writeLiterals(src, anchor, ip, dst, dp);
    const offset = ip - ref;
    dst[dp++] = offset & 0xff;
    dst[dp++] = offset >>> 8;
    const extra = length - MIN_MATCH;
    dst[tokenAt]! |= Math.min(extra, 15);
    if (extra >= 15) dp = writeLengthBytes(dst, dp, extra - 15);
    ip += length;
    anchor = ip;
  }
  return writeLiterals(src, anchor, end, dst, dp); // the last sequence: literals only
}

/** A sequence's token (its literal count; the caller adds the match length) and its literals. */
function writeLiterals(src: Uint8Array, from: number, to: number, dst: Uint8Array, dp: number): number {
  const literals = to - from;
  dst[dp++] = Math.min(literals, 15) << 4;
  if (literals >= 15) dp = writeLengthBytes(dst, dp, literals - 15);
  dst.set(src.subarray(from, to), dp);
  return dp + literals;
}

function writeLengthBytes(dst: Uint8Array, dp: number, rest: number): number {
  while (rest >= 255) {
    dst[dp++] = 255;
    rest -= 255;
  }
  dst[dp++] = rest;
  return dp;
}

/** The bytes of every LZ4 frame in `data` (skippable frames skipped). */
export function lz4Decompress(data: Uint8Array): Buffer {
  let out: Buffer = Buffer.allocUnsafe(Math.max(64, data.length * 4));
  let op = 0;
  let pos = 0;
  while (pos < data.length) {
    need(data, pos, 4, "frame magic");
    const magic = readU32LE(data, pos);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      need(data, pos + 4, 4, "skippable frame size");
      pos += 8 + readU32LE(data, pos + 4);
      continue;
    }
    if (magic !== FRAME_MAGIC) throw formatError(`no frame magic at byte ${pos} (0x${magic.toString(16)})`);
    need(data, pos + 4, 3, "frame descriptor");
    const flg = data[pos + 4]!;
    const bd = data[pos + 5]!;
    if (flg >>> 6 !== 1) throw formatError(`frame version ${flg >>> 6}, not 1`);
    const blockChecksums = (flg & 0x10) !== 0;
    const contentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const dictionaryId = (flg & 0x01) !== 0;
    const blockSizeCode = (bd >>> 4) & 7;
    if (blockSizeCode < 4) throw formatError(`block size code ${blockSizeCode} (4 to 7 are defined)`);
    const maxBlock = 1 << (2 * blockSizeCode + 8);
    const descriptorEnd = pos + 6 + (contentSize ? 8 : 0) + (dictionaryId ? 4 : 0);
    need(data, descriptorEnd, 1, "frame descriptor");
    if (dictionaryId) throw formatError("frames with a dictionary are not supported");
    const checksum = (xxhash32(data, pos + 4, descriptorEnd) >>> 8) & 0xff;
    if (data[descriptorEnd] !== checksum) throw formatError("frame descriptor checksum does not match");
    pos = descriptorEnd + 1;
    const frameStart = op;
    for (;;) {
      need(data, pos, 4, "block size");
      const word = readU32LE(data, pos);
      pos += 4;
      if (word === 0) break;
      const size = word & ~UNCOMPRESSED_BLOCK;
      if (size > maxBlock) throw formatError(`block of ${size} bytes, more than the frame's ${maxBlock}`);
      need(data, pos, size + (blockChecksums ? 4 : 0), "block");
      if (blockChecksums && xxhash32(data, pos, pos + size) !== readU32LE(data, pos + size)) {
        throw formatError("block checksum does not match");
      }
      if (out.length < op + maxBlock) out = grow(out, op, op + maxBlock);
      if (word & UNCOMPRESSED_BLOCK) {
        out.set(data.subarray(pos, pos + size), op);
        op += size;
      } else {
        op = decompressBlock(data, pos, pos + size, out, op, op + maxBlock);
      }
      pos += size + (blockChecksums ? 4 : 0);
    }
    if (contentChecksum) {
      need(data, pos, 4, "content checksum");
      if (xxhash32(out, frameStart, op) !== readU32LE(data, pos)) throw formatError("content checksum does not match");
      pos += 4;
    }
  }
  return out.subarray(0, op);
}

function need(data: Uint8Array, at: number, bytes: number, what: string): void {
  if (at + bytes > data.length) throw formatError(`truncated: ${what} at byte ${at} past the end (${data.length})`);
}

function grow(out: Buffer, used: number, needed: number): Buffer {
  const grown = Buffer.allocUnsafe(Math.max(needed, out.length * 2));
  out.copy(grown, 0, 0, used);
  return grown;
}

/** A length's bytes after its nibble's 15, from src[ip]: 255 each but the last (so floor(sum / 255) + 1 bytes). */
function extendedLength(src: Uint8Array, ip: number, end: number, what: string): number {
  let sum = 0;
  let b: number;
  do {
    if (ip >= end) throw formatError(`block ends inside a ${what}`);
    b = src[ip++]!;
    sum += b;
  } while (b === 255);
  return sum;
}

/** Decodes one block of src[start, end) at out[op]; matches may reach back into earlier blocks (linked frames). */
function decompressBlock(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  op: number,
  limit: number,
): number {
  let ip = start;
  for (;;) {
    if (ip >= end) throw formatError("block ends inside a sequence");
    const token = src[ip++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      const extra = extendedLength(src, ip, end, "literal length");
      literals += extra;
      ip += Math.floor(extra / 255) + 1;
    }
    if (ip + literals > end || op + literals > limit) throw formatError("literals run past the block");
    if (literals > 16) out.set(src.subarray(ip, ip + literals), op);
    else for (let i = 0; i < literals; i++) out[op + i] = src[ip + i]!;
    ip += literals;
    op += literals;
    if (ip === end) return op; // the last sequence has literals only
    if (ip + 2 > end) throw formatError("block ends inside a match offset");
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw formatError(`match offset ${offset} outside the output`);
    let length = token & 15;
    if (length === 15) {
      const extra = extendedLength(src, ip, end, "match length");
      length += extra;
      ip += Math.floor(extra / 255) + 1;
    }
    length += MIN_MATCH;
    if (op + length > limit) throw formatError("match runs past the block size");
    let from = op - offset;
    if (offset >= length && length > 16) {
      out.copyWithin(op, from, from + length);
      op += length;
    } else {
      // Short, or overlapping (which repeats the last `offset` bytes): byte by byte.
      for (let i = 0; i < length; i++) out[op++] = out[from++]!;
    }
  }
}
