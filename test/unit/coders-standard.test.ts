// Beam's reference vectors (standard_coders.yaml of the pinned Beam release, fetched and sha256-checked by
// scripts/beam-model-vectors.sh): every example of every coder URN we implement must decode to the documented
// value and re-encode to the exact bytes, in each context the file names. Coders are built through
// coderFromComponents, as the Fn API worker builds them. Skipped URNs are listed with their reason and asserted.
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { suite } from "../harness.js";
import { repoRoot } from "../infra/paths.js";
import {
  CoderUrns,
  LogicalTypeUrns,
  coderFromComponents,
  decimalFromString,
  decodeFromBytes,
  encodeToBytes,
  type Coder,
  type CoderContext,
  type CoderProto,
} from "../../src/model/coders/index.js";
import { decodeSchema, fieldTypeKind, AtomicType, type FieldType, type Schema } from "../../src/model/schema.js";
import { GLOBAL_WINDOW, type BoundedWindow, type PaneInfo, type PaneTiming } from "../../src/model/windowing.js";

/** Coder URNs of the yaml we do not implement, and why. */
const SKIPPED: Readonly<Record<string, string>> = {
  [CoderUrns.STATE_BACKED_ITERABLE]:
    "needs the Fn API state channel to follow continuation tokens; the plain iterable coder decodes the same " +
    "known-length and block forms",
};

interface CoderSpec {
  urn: string;
  payload?: string;
  components?: CoderSpec[];
  non_deterministic?: boolean;
  state?: Record<string, string>;
}

interface Section {
  index: number;
  coder: CoderSpec;
  nested?: boolean;
  examples: Map<string, unknown>;
}

const s = suite("standard coders (Beam reference vectors)");
const utf8 = new TextEncoder();

/** The yaml writes bytes as strings of code points 0..255 (latin1). */
function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new Error(`byte string has a code point ${c} > 255`);
    out[i] = c;
  }
  return out;
}

function loadSections(): Section[] {
  const script = resolve(repoRoot(), "scripts/beam-model-vectors.sh");
  const path = execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  const docs = parseAllDocuments(readFileSync(path, "utf8"), { intAsBigInt: true });
  if (!Array.isArray(docs)) throw new Error(`${path}: no YAML documents`);
  return docs.map((doc, index) => {
    if (doc.errors.length) throw new Error(`${path} section ${index}: ${doc.errors[0]!.message}`);
    const js = doc.toJS({ mapAsMap: true }) as Map<string, unknown>;
    return {
      index,
      coder: plain(js.get("coder")) as CoderSpec,
      ...(js.has("nested") ? { nested: js.get("nested") as boolean } : {}),
      examples: js.get("examples") as Map<string, unknown>,
    };
  });
}

/** Maps to plain objects, recursively (the coder spec and the example values). */
function plain(value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

/** The spec as Runner API components, the way a ProcessBundleDescriptor carries coders. */
function components(spec: CoderSpec): { id: string; coders: Record<string, CoderProto> } {
  const coders: Record<string, CoderProto> = {};
  let next = 0;
  const add = (c: CoderSpec): string => {
    const id = `c${next++}`;
    const componentCoderIds = (c.components ?? []).map(add);
    coders[id] = { spec: { urn: c.urn, payload: latin1Bytes(c.payload ?? "") }, componentCoderIds };
    return id;
  };
  return { id: add(spec), coders };
}

// ---- the yaml's JSON-ish values → our TS values, per URN (what Beam's Python standard_coders_test does) ----

type Parser = (x: unknown) => unknown;

const int = (x: unknown): bigint => x as bigint;
const num = (x: unknown): number => Number(x as bigint);
const obj = (x: unknown) => plain(x) as Record<string, unknown>;

function parseDouble(x: unknown): number {
  const text = String(x);
  if (text === "NaN") return NaN;
  if (text === "Infinity") return Infinity;
  if (text === "-Infinity") return -Infinity;
  return Number(text);
}

function parsePane(x: unknown): PaneInfo {
  const p = obj(x);
  return {
    isFirst: p.is_first as boolean,
    isLast: p.is_last as boolean,
    timing: p.timing as PaneTiming,
    index: int(p.index),
    onTimeIndex: int(p.on_time_index),
  };
}

function parseWindow(x: unknown): BoundedWindow {
  if (x === "global" || x === "") return GLOBAL_WINDOW;
  const w = obj(x);
  return { kind: "interval", start: int(w.end) - int(w.span), end: int(w.end) };
}

function valueParser(spec: CoderSpec): Parser {
  const parts = (spec.components ?? []).map(valueParser);
  const [first, second] = parts;
  switch (spec.urn) {
    case CoderUrns.BYTES:
      return (x) => utf8.encode(String(x));
    case CoderUrns.BOOL:
      return (x) => x as boolean;
    case CoderUrns.STRING_UTF8:
      return (x) => String(x);
    case CoderUrns.VARINT:
      return int;
    case CoderUrns.DOUBLE:
      return parseDouble;
    case CoderUrns.KV:
      return (x) => ({ key: first!(obj(x).key), value: second!(obj(x).value) });
    case CoderUrns.INTERVAL_WINDOW:
    case CoderUrns.GLOBAL_WINDOW:
      return parseWindow;
    case CoderUrns.CUSTOM_WINDOW:
      return (x) => first!(obj(x).window);
    case CoderUrns.ITERABLE:
    case CoderUrns.STATE_BACKED_ITERABLE:
      return (x) => (plain(x) as unknown[]).map(first!);
    case CoderUrns.NULLABLE:
      return (x) => (x === null ? null : first!(x));
    case CoderUrns.SHARDED_KEY:
      return (x) => ({ shardId: utf8.encode(String(obj(x).shardId)), key: first!(obj(x).key) });
    case CoderUrns.WINDOWED_VALUE:
    case CoderUrns.PARAM_WINDOWED_VALUE:
      return (x) => {
        const v = obj(x);
        return {
          value: first!(v.value),
          timestamp: int(v.timestamp),
          windows: (v.windows as unknown[]).map(second!),
          pane: parsePane(v.pane),
        };
      };
    case CoderUrns.TIMER:
      return (x) => {
        const t = obj(x);
        const common = {
          userKey: first!(t.userKey),
          dynamicTimerTag: String(t.dynamicTimerTag),
          windows: (t.windows as unknown[]).map(second!),
        };
        if (t.clearBit) return { ...common, clearBit: true };
        return {
          ...common,
          clearBit: false,
          fireTimestamp: int(t.fireTimestamp),
          holdTimestamp: int(t.holdTimestamp),
          pane: parsePane(t.pane),
        };
      };
    case CoderUrns.ROW:
      return rowParser(decodeSchema(latin1Bytes(spec.payload ?? "")));
    default:
      throw new Error(`no value parser for ${spec.urn}`);
  }
}

function rowParser(schema: Schema): Parser {
  const fields = schema.fields.map((f) => [f.name, fieldParser(f.type)] as const);
  return (x) => {
    const v = obj(x);
    const extra = Object.keys(v).filter((k) => !fields.some(([name]) => name === k));
    if (extra.length) throw new Error(`example has fields the schema lacks: ${extra.join(", ")}`);
    return Object.fromEntries(fields.map(([name, parse]) => [name, v[name] === null ? null : parse(v[name])]));
  };
}

function fieldParser(type: FieldType): Parser {
  const parse = nonNullFieldParser(type);
  return (x) => (x === null || x === undefined ? null : parse(x));
}

function nonNullFieldParser(type: FieldType): Parser {
  const kind = fieldTypeKind(type);
  switch (kind.kind) {
    case "atomic":
      switch (kind.atomic) {
        case AtomicType.BYTES:
          return (x) => utf8.encode(String(x));
        case AtomicType.INT64:
          return int;
        case AtomicType.BYTE:
        case AtomicType.INT16:
        case AtomicType.INT32:
          return num;
        case AtomicType.FLOAT:
          return (x) => Math.fround(parseDouble(x));
        case AtomicType.DOUBLE:
          return parseDouble;
        case AtomicType.STRING:
          return (x) => String(x);
        case AtomicType.BOOLEAN:
          return (x) => x as boolean;
        default:
          throw new Error(`atomic type ${kind.atomic}`);
      }
    case "array":
    case "iterable": {
      const element = fieldParser(kind.element);
      return (x) => (plain(x) as unknown[]).map(element);
    }
    case "map": {
      const key = fieldParser(kind.key);
      const value = fieldParser(kind.value);
      return (x) => new Map(Object.entries(obj(x)).map(([k, v]) => [key(k), value(v)]));
    }
    case "row":
      return rowParser(kind.schema);
    case "logical":
      // The yaml writes a millis_instant as Java's InstantCoder long (millis + 2^63, read back as signed): our
      // value is the millisecond instant itself.
      if (kind.logical.urn === LogicalTypeUrns.MILLIS_INSTANT) return (x) => BigInt.asIntN(64, int(x) - (1n << 63n));
      if (kind.logical.urn === LogicalTypeUrns.DECIMAL) return (x) => decimalFromString(String(x));
      return fieldParser(kind.logical.representation!);
  }
}

function describe(spec: CoderSpec): string {
  const inner = spec.components?.length ? `(${spec.components.map(describe).join(", ")})` : "";
  return `${spec.urn.replace(/^beam:coder:/, "")}${inner}`;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

// ---- the tests ----

let sections: Section[] = [];
let loadError: unknown;
try {
  sections = loadSections();
} catch (err) {
  loadError = err;
}

if (loadError !== undefined) {
  s.test("loads standard_coders.yaml of the pinned Beam release", () => {
    throw loadError;
  });
}

const skipped = new Map<string, string>();
for (const section of sections) {
  const { coder: spec } = section;
  const reason = SKIPPED[spec.urn];
  if (reason) {
    skipped.set(spec.urn, reason);
    continue;
  }
  const contexts: CoderContext[] =
    section.nested === undefined ? ["nested", "outer"] : [section.nested ? "nested" : "outer"];
  const name = `#${section.index} ${describe(spec)} [${contexts.join(", ")}]${spec.non_deterministic ? " decode only" : ""}`;
  s.test(name, () => {
    const { id, coders } = components(spec);
    const coder: Coder<unknown> = coderFromComponents(id, coders);
    const parse = valueParser(spec);
    assert.ok(section.examples.size > 0, "section has examples");
    for (const [encoded, json] of section.examples) {
      const bytes = latin1Bytes(encoded);
      const expected = parse(json);
      for (const context of contexts) {
        const where = `${context} ${hex(bytes)}`;
        if (!spec.non_deterministic) {
          assert.is(hex(encodeToBytes(coder, expected, context)), hex(bytes), `encode ${where}`);
        }
        assert.equal(decodeFromBytes(coder, bytes, context), expected, `decode ${where}`);
      }
    }
  });
}

s.test("skipped coder URNs are exactly the known ones, each with a reason", () => {
  if (loadError !== undefined) throw new Error("vectors not loaded");
  for (const [urn, reason] of skipped) console.log(`  skipped ${urn}: ${reason}`);
  assert.equal([...skipped.keys()].sort(), Object.keys(SKIPPED).sort());
});

s.test("every coder URN of the vectors is implemented or skipped with a reason", () => {
  if (loadError !== undefined) throw new Error("vectors not loaded");
  const urns = new Set<string>();
  const walk = (c: CoderSpec): void => {
    urns.add(c.urn);
    c.components?.forEach(walk);
  };
  for (const section of sections) walk(section.coder);
  const known = new Set<string>(Object.values(CoderUrns));
  assert.equal(
    [...urns].filter((u) => !known.has(u)),
    [],
    "URNs missing from CoderUrns",
  );
  assert.ok(sections.length >= 40, `expected the full file, got ${sections.length} sections`);
});

s.run();
