// The codecs written here (lz4 frames, snappy raw and snappy-java framed, xxHash32): byte vectors made by hand from
// the format specifications, round trips over inputs that hit every length encoding, and corrupt input refused by
// name. (Against Java's own codecs: integration/kafka-compression.)
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { thrown } from "../assertions.js";
import {
  CompressionFormatError,
  lz4Compress,
  lz4Decompress,
  snappyCompress,
  snappyDecompress,
} from "../../src/kafka/client/compression/index.js";
import { xxhash32 } from "../../src/kafka/client/compression/xxhash32.js";

const s = suite("kafka compression codecs");

function lz4Frame(flg: number, blocks: number[][], trailer: number[] = []): Buffer {
  const header = [0x04, 0x22, 0x4d, 0x18, flg, 0x40];
  const hc = (xxhash32(Buffer.from(header), 4, 6) >>> 8) & 0xff;
  return Buffer.from([...header, hc, ...blocks.flat(), 0, 0, 0, 0, ...trailer]);
}

function u32le(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
}

const ascii = (text: string): number[] => [...Buffer.from(text)];

s.test("xxHash32: the reference values", () => {
  const cases: [string, number][] = [
    ["", 0x02cc5d05],
    ["a", 0x550d7456],
    ["abc", 0x32d153ff],
    ["Nobody inspects the spammish repetition", 0xe2293b2f],
  ];
  for (const [text, hash] of cases) assert.is(xxhash32(Buffer.from(text)), hash, text);
});

s.test("lz4: a frame written by hand (literals, an overlapping match, literals to the end; a stored block)", () => {
  // token 0x35: 3 literals, match length 5 + 4 at offset 3; token 0x50: 5 literals, the end.
  const block = [0x35, ...ascii("abc"), 0x03, 0x00, 0x50, ...ascii("XYZWV")];
  const stored = ascii("stored!");
  const frame = lz4Frame(0x60, [
    [...u32le(block.length), ...block],
    [...u32le(stored.length | 0x80000000), ...stored],
  ]);
  assert.is(lz4Decompress(frame).toString(), "abcabcabcabcXYZWVstored!");
  // Block checksums and a content checksum (flags 0x10, 0x04) are checked.
  const content = Buffer.from("abcabcabcabcXYZWV");
  const checked = lz4Frame(
    0x74,
    [[...u32le(block.length), ...block, ...u32le(xxhash32(Buffer.from(block)))]],
    u32le(xxhash32(content)),
  );
  assert.is(lz4Decompress(checked).toString(), content.toString());
  const badContent = Buffer.from(checked);
  badContent[badContent.length - 1]! ^= 1;
  assert.match(thrown(() => lz4Decompress(badContent), CompressionFormatError, "an error").message, "content checksum");
});

s.test("lz4: the frame header Kafka's Java producer writes (independent 64 KiB blocks, its checksum byte)", () => {
  const frame = lz4Compress(Buffer.from("hello"));
  assert.equal(
    [...frame.subarray(0, 7)],
    [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, (xxhash32(Buffer.from([0x60, 0x40])) >>> 8) & 0xff],
  );
  assert.equal([...frame.subarray(frame.length - 4)], [0, 0, 0, 0]);
});

s.test("snappy: raw and snappy-java framed blocks written by hand", () => {
  // length 12 | literal "abc" (tag (3-1)<<2) | copy, 1-byte offset: length 9, offset 3 (tag 1 | (9-4)<<2)
  const raw = [12, 0x08, ...ascii("abc"), 0x15, 0x03];
  assert.is(snappyDecompress(Buffer.from(raw)).toString(), "abcabcabcabc");
  // copy with a 2-byte offset (tag 2 | (len-1)<<2), a 4-byte offset (tag 3 | ...), a literal with a 1-byte length (tag 60<<2)
  const long = "x".repeat(61);
  const raw2 = [4 + 4 + 4 + 61, 0x0c, ...ascii("wxyz"), 0x0e, 4, 0, 0x0f, 4, 0, 0, 0, 0xf0, 60, ...ascii(long)];
  assert.is(snappyDecompress(Buffer.from(raw2)).toString(), `wxyzwxyzwxyz${long}`);
  const xerial = [0x82, ...ascii("SNAPPY"), 0, 0, 0, 0, 1, 0, 0, 0, 1];
  const framed = [...xerial, 0, 0, 0, raw.length, ...raw, 0, 0, 0, raw.length, ...raw];
  assert.is(snappyDecompress(Buffer.from(framed)).toString(), "abcabcabcabc".repeat(2));
  assert.equal([...snappyCompress(Buffer.from("hi")).subarray(0, 16)], xerial);
});

/** Inputs that reach each length encoding: empty, tiny, runs of 15/255+ literals and matches, > 1 block, noise. */
function inputs(): Buffer[] {
  let x = 12345;
  const rand = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const noise = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => rand() & 0xff));
  const out = [
    Buffer.alloc(0),
    Buffer.from("a"),
    Buffer.from("abcd".repeat(3)),
    Buffer.alloc(200_000, 7),
    noise(70_000),
  ];
  for (const literals of [14, 15, 16, 60, 61, 270, 300, 70_000]) {
    for (const match of [4, 18, 19, 20, 64, 65, 68, 273, 5_000]) {
      out.push(Buffer.concat([noise(literals), Buffer.alloc(match, 9), noise(13)]));
    }
  }
  for (let k = 0; k < 100; k++) {
    const n = rand() % 5000;
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = i > 16 && rand() % 4 !== 0 ? b[i - 1 - (rand() % 16)]! : rand() & 3;
    out.push(b);
  }
  return out;
}

s.test("lz4 and snappy: every input back byte for byte; text and repeats shrink", () => {
  // A 200 KB run: LZ4 lengths grow by a byte per 255, Snappy copies are at most 64 bytes (3-byte tags).
  for (const [name, compress, decompress, runBound] of [
    ["lz4", lz4Compress, lz4Decompress, 1_000],
    ["snappy", snappyCompress, snappyDecompress, 10_000],
  ] as const) {
    for (const input of inputs()) {
      const packed = compress(input);
      assert.ok(decompress(packed).equals(input), `${name}: ${input.length} bytes`);
    }
    assert.ok(compress(Buffer.alloc(200_000, 7)).length < runBound, name);
    const text = Buffer.from(Array.from({ length: 2000 }, (_, i) => `{"id":${i},"name":"user-${i % 97}"}`).join("\n"));
    assert.ok(compress(text).length < text.length / 2, name);
  }
});

s.test("lz4: corrupt frames are refused by what is wrong", () => {
  const good = lz4Compress(Buffer.from("abc".repeat(100)));
  const cases: [Buffer, string][] = [
    [Buffer.from([1, 2, 3, 4, 5]), "no frame magic"],
    [Buffer.concat([good.subarray(0, 6), Buffer.from([good[6]! ^ 1]), good.subarray(7)]), "descriptor checksum"],
    [good.subarray(0, good.length - 2), "truncated"],
    [lz4Frame(0x60, [[...u32le(6), 0x10, 0x61, 0x05, 0x00, 0x00, 0x00]]), "offset 5 outside"],
    [lz4Frame(0x60, [[...u32le(3), 0xf0, 0x10, 0x61]]), "literals run past"],
    [lz4Frame(0x20, []), "frame version 0"],
  ];
  for (const [input, message] of cases) {
    assert.match(thrown(() => lz4Decompress(input), CompressionFormatError, message).message, message);
  }
});

s.test("snappy: corrupt blocks are refused by what is wrong", () => {
  const cases: [number[], string][] = [
    [[12, 0x08, ...ascii("abc"), 0x15, 0x04], "offset 4 outside"],
    [[13, 0x08, ...ascii("abc"), 0x15, 0x03], "preamble says 13"],
    [[2, 0x08, ...ascii("abc")], "literal runs past"],
    [[0x80, 0x80], "truncated length"],
    [[0x82, ...ascii("SNAPPY"), 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1], "past the end"],
  ];
  for (const [input, message] of cases) {
    assert.match(thrown(() => snappyDecompress(Buffer.from(input)), CompressionFormatError, message).message, message);
  }
});

s.run();
