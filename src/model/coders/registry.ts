// Coders from Runner API Coder protos and back. A pipeline or ProcessBundleDescriptor names coders by id; each
// has a spec (URN + payload) and component coder ids:
//
//   const coder = coderFromComponents("c3", descriptor.coders);            // e.g. windowed_value(kv(bytes, row))
//   const value = decodeFromBytes(coder, bytes, "nested");
//
//   const set = new CoderComponentSet("ns_");                               // and back, deduplicated by structure
//   const coderId = set.add(windowedValueCoder(bytesCoder, globalWindowCoder)); // set.coders: the Coder protos
import { bytesCoder } from "./bytes.js";
import { CoderError } from "./bytes-io.js";
import type { Coder } from "./coder.js";
import { boolCoder } from "./bool.js";
import { doubleCoder } from "./double.js";
import { iterableCoder } from "./iterable.js";
import { kvCoder } from "./kv.js";
import { lengthPrefixCoder } from "./length-prefix.js";
import { nullableCoder } from "./nullable.js";
import { rowCoder } from "./row.js";
import { shardedKeyCoder } from "./sharded-key.js";
import { stringUtf8Coder } from "./string-utf8.js";
import { timerCoder } from "./timer.js";
import { CoderUrns } from "./urns.js";
import { varIntCoder } from "./varint.js";
import { customWindowCoder, globalWindowCoder, intervalWindowCoder } from "./windows.js";
import { JS_VALUE_CODER_URN, jsValueCoder } from "./js-value.js";
import { paramWindowedValueCoder, windowedValueCoder } from "./windowed-value.js";
import { SchemaError, decodeSchema as decodeSchemaProto, type Schema } from "../schema.js";
import type { BoundedWindow } from "../windowing.js";

/** The parts of a Runner API `Coder` message the registry reads (a protobufjs-decoded Coder fits). */
export interface CoderProto {
  readonly spec?: { readonly urn?: string | null; readonly payload?: Uint8Array | null } | null;
  readonly componentCoderIds?: readonly string[] | null;
}

export interface CoderFromComponentsOptions {
  /**
   * Inside a length_prefix, treat a coder whose URN we do not implement as opaque bytes (what runners do), so the
   * value decodes to the inner coder's encoded bytes. Default false: unknown URNs are CODER_UNKNOWN_URN errors.
   */
  readonly unknownAsBytesInLengthPrefix?: boolean;
  /** Decodes a row coder payload; default: the model protos' Schema decoder. */
  readonly decodeSchema?: (payload: Uint8Array) => Schema;
  /** A memo of coder id → coder, shared between calls over the same component map. */
  readonly cache?: Map<string, Coder<unknown>>;
}

/** URNs coderFromComponents builds, in the order of CoderUrns. */
export const SUPPORTED_CODER_URNS: readonly string[] = Object.freeze([
  CoderUrns.BYTES,
  CoderUrns.STRING_UTF8,
  CoderUrns.KV,
  CoderUrns.BOOL,
  CoderUrns.VARINT,
  CoderUrns.DOUBLE,
  CoderUrns.ITERABLE,
  CoderUrns.TIMER,
  CoderUrns.INTERVAL_WINDOW,
  CoderUrns.LENGTH_PREFIX,
  CoderUrns.GLOBAL_WINDOW,
  CoderUrns.WINDOWED_VALUE,
  CoderUrns.PARAM_WINDOWED_VALUE,
  CoderUrns.CUSTOM_WINDOW,
  CoderUrns.ROW,
  CoderUrns.SHARDED_KEY,
  CoderUrns.NULLABLE,
]);

const COMPONENT_COUNTS: Readonly<Record<string, number>> = {
  [CoderUrns.BYTES]: 0,
  [CoderUrns.STRING_UTF8]: 0,
  [CoderUrns.KV]: 2,
  [CoderUrns.BOOL]: 0,
  [CoderUrns.VARINT]: 0,
  [CoderUrns.DOUBLE]: 0,
  [CoderUrns.ITERABLE]: 1,
  [CoderUrns.TIMER]: 2,
  [CoderUrns.INTERVAL_WINDOW]: 0,
  [CoderUrns.LENGTH_PREFIX]: 1,
  [CoderUrns.GLOBAL_WINDOW]: 0,
  [CoderUrns.WINDOWED_VALUE]: 2,
  [CoderUrns.PARAM_WINDOWED_VALUE]: 2,
  [CoderUrns.CUSTOM_WINDOW]: 1,
  [CoderUrns.ROW]: 0,
  [CoderUrns.SHARDED_KEY]: 1,
  [CoderUrns.NULLABLE]: 1,
  // Ours (not declared among the worker's capabilities: runners carry it length-prefixed, as opaque bytes).
  [JS_VALUE_CODER_URN]: 0,
};

export function coderFromComponents(
  coderId: string,
  coders: Readonly<Record<string, CoderProto>>,
  options: CoderFromComponentsOptions = {},
): Coder<unknown> {
  const cache = options.cache ?? new Map<string, Coder<unknown>>();
  const decodeSchema = options.decodeSchema ?? decodeSchemaProto;
  const building = new Set<string>();

  const build = (id: string, path: string): Coder<unknown> => {
    const cached = cache.get(id);
    if (cached) return cached;
    const proto = coders[id];
    if (!proto) throw new CoderError("CODER_SPEC", `coder ${path}: no coder with id "${id}" in the components`);
    if (building.has(id)) throw new CoderError("CODER_SPEC", `coder ${path}: coder "${id}" contains itself`);
    const urn = proto.spec?.urn ?? "";
    const componentIds = proto.componentCoderIds ?? [];
    const expected = COMPONENT_COUNTS[urn];
    if (expected === undefined) {
      const why =
        urn === CoderUrns.STATE_BACKED_ITERABLE
          ? "is not supported (it needs the Fn API state channel)"
          : "is not a coder this SDK implements";
      throw new CoderError("CODER_UNKNOWN_URN", `coder ${path} ("${id}"): ${urn || "(no URN)"} ${why}`);
    }
    if (componentIds.length !== expected) {
      throw new CoderError(
        "CODER_SPEC",
        `coder ${path} ("${id}"): ${urn} takes ${expected} component(s), got ${componentIds.length}`,
      );
    }
    building.add(id);
    try {
      const component = (i: number) => build(componentIds[i]!, `${path}/${i}`);
      const coder = fromSpec(urn, proto.spec?.payload ?? undefined, component, componentIds, id, path);
      cache.set(id, coder);
      return coder;
    } finally {
      building.delete(id);
    }
  };

  const fromSpec = (
    urn: string,
    payload: Uint8Array | undefined,
    component: (i: number) => Coder<unknown>,
    componentIds: readonly string[],
    id: string,
    path: string,
  ): Coder<unknown> => {
    switch (urn) {
      case CoderUrns.BYTES:
        return bytesCoder as Coder<unknown>;
      case CoderUrns.STRING_UTF8:
        return stringUtf8Coder as Coder<unknown>;
      case CoderUrns.BOOL:
        return boolCoder as Coder<unknown>;
      case CoderUrns.VARINT:
        return varIntCoder as Coder<unknown>;
      case CoderUrns.DOUBLE:
        return doubleCoder as Coder<unknown>;
      case CoderUrns.GLOBAL_WINDOW:
        return globalWindowCoder as Coder<unknown>;
      case CoderUrns.INTERVAL_WINDOW:
        return intervalWindowCoder as Coder<unknown>;
      case CoderUrns.KV:
        return kvCoder(component(0), component(1)) as Coder<unknown>;
      case CoderUrns.ITERABLE:
        return iterableCoder(component(0)) as Coder<unknown>;
      case CoderUrns.NULLABLE:
        return nullableCoder(component(0)) as Coder<unknown>;
      case JS_VALUE_CODER_URN:
        return jsValueCoder;
      case CoderUrns.SHARDED_KEY:
        return shardedKeyCoder(component(0)) as Coder<unknown>;
      case CoderUrns.CUSTOM_WINDOW:
        return customWindowCoder(component(0) as Coder<BoundedWindow>) as Coder<unknown>;
      case CoderUrns.TIMER:
        return timerCoder(component(0), component(1) as Coder<BoundedWindow>) as Coder<unknown>;
      case CoderUrns.WINDOWED_VALUE:
        return windowedValueCoder(component(0), component(1) as Coder<BoundedWindow>) as Coder<unknown>;
      case CoderUrns.PARAM_WINDOWED_VALUE:
        if (!payload || payload.length === 0) {
          throw new CoderError(
            "CODER_SPEC",
            `coder ${path} ("${id}"): ${urn} needs a payload (timestamp, windows, pane)`,
          );
        }
        return paramWindowedValueCoder(component(0), component(1) as Coder<BoundedWindow>, payload) as Coder<unknown>;
      case CoderUrns.LENGTH_PREFIX: {
        const innerId = componentIds[0]!;
        const innerUrn = coders[innerId]?.spec?.urn ?? "";
        if (options.unknownAsBytesInLengthPrefix && COMPONENT_COUNTS[innerUrn] === undefined) {
          return lengthPrefixCoder(bytesCoder) as Coder<unknown>;
        }
        return lengthPrefixCoder(component(0));
      }
      case CoderUrns.ROW: {
        if (!payload || payload.length === 0) {
          throw new CoderError("CODER_SPEC", `coder ${path} ("${id}"): ${urn} needs a payload (the Schema)`);
        }
        let schema: Schema;
        try {
          schema = decodeSchema(payload);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          throw new CoderError("CODER_SPEC", `coder ${path} ("${id}"): row schema payload: ${message}`, { cause: err });
        }
        try {
          return rowCoder(schema, { payload }) as Coder<unknown>;
        } catch (err) {
          if (err instanceof CoderError || err instanceof SchemaError) {
            throw new CoderError("CODER_SCHEMA", `coder ${path} ("${id}"): ${err.message}`, { cause: err });
          }
          throw err;
        }
      }
      default:
        throw new CoderError("CODER_UNKNOWN_URN", `coder ${path} ("${id}"): ${urn} is not a coder this SDK implements`);
    }
  };

  return build(coderId, coderId);
}

/** A Runner API Coder message as plain data (what protobufjs encodes). */
export interface CoderComponent {
  readonly spec: { readonly urn: string; readonly payload?: Uint8Array };
  readonly componentCoderIds: readonly string[];
}

/**
 * The Runner API coders of one set of components: `add` turns a coder tree into Coder entries with ids made from
 * `idPrefix` (give the expansion namespace here) and the URN, and returns the root's id. Structurally equal coders
 * share one entry, also across calls.
 */
export class CoderComponentSet {
  /** By id; a null-prototype object, since every namespace brings property names V8 has not seen (see idMap). */
  readonly coders: Record<string, CoderComponent> = Object.create(null) as Record<string, CoderComponent>;
  private readonly byStructure = new Map<string, string>();

  constructor(private readonly idPrefix = "") {}

  add(coder: Coder<unknown>): string {
    const { spec, structure, idSuffix } = coderSpec(coder);
    let id = this.byStructure.get(structure);
    if (id === undefined) {
      const componentCoderIds = coder.components.map((c) => this.add(c));
      const base = `${this.idPrefix}${idSuffix}`;
      id = base;
      for (let n = 1; id in this.coders; n++) id = `${base}_${n}`;
      this.coders[id] = { spec, componentCoderIds };
      this.byStructure.set(structure, id);
    }
    return id;
  }
}

interface CoderSpec {
  readonly spec: CoderComponent["spec"];
  /** URN, payload and components' structures as text: equal for coders that encode alike. */
  readonly structure: string;
  /** The URN without `beam:coder:` and version: the readable part of the coder's id. */
  readonly idSuffix: string;
}

// Coders are immutable and few (most are module constants): their spec and structure are computed once each, so
// adding a known coder to a set costs two lookups whatever the namespace.
const coderSpecs = new WeakMap<Coder<unknown>, CoderSpec>();

function coderSpec(coder: Coder<unknown>): CoderSpec {
  let known = coderSpecs.get(coder);
  if (!known) {
    if (!SUPPORTED_CODER_URNS.includes(coder.urn) && coder.urn !== JS_VALUE_CODER_URN) {
      throw new CoderError("CODER_SPEC", `${coder.urn} is an inner coder of this SDK, not a Runner API coder`);
    }
    const payload = coder.payload ? Buffer.from(coder.payload).toString("base64") : "";
    const components = coder.components.map((c) => coderSpec(c).structure).join(",");
    known = {
      spec: { urn: coder.urn, ...(coder.payload ? { payload: coder.payload } : {}) },
      structure: `${coder.urn}|${payload}(${components})`,
      idSuffix: coder.urn.replace(/^beam:coder:(kafka-beam-ts:)?/, "").replace(/:v\d+$/, ""),
    };
    coderSpecs.set(coder, known);
  }
  return known;
}
