// The built-in transforms of the native API. Primitives: Impulse, ParDo, Flatten, WindowInto, GroupByKey; the rest
// are composites of those (so a runner, and the Runner API translation, only ever sees the five primitives).
import {
  GLOBAL_WINDOW_FN,
  fixedWindowFn,
  isSplittableDoFn,
  type DoFn,
  type KV,
  type OutputResult,
  type SplittableDoFn,
  type Trigger,
  type WindowFn,
} from "../sdf/index.js";
import { MIN_TIMESTAMP, type Instant } from "../model/windowing.js";
import {
  type PBegin,
  type PCollection,
  PTransform,
  PipelineConstructionError,
  type ExpandContext,
} from "./pipeline.js";
import { structuralKey } from "./structural.js";

/** Local name of a transform's main output ("output"): the PCollection a single-output transform returns. */
export const MAIN_OUTPUT = "output";

/** Builds a KV, the element type of keyed transforms such as GroupByKey and Count.perKey. */
export function kv<K, V>(key: K, value: V): KV<K, V> {
  return { key, value };
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function";
}

/** Impulse: one empty-bytes element in the global window at the minimum timestamp; the root of every source. */
export class Impulse extends PTransform<PBegin, PCollection<Uint8Array>> {
  constructor() {
    super("Impulse");
  }

  expand(_input: PBegin, context: ExpandContext): PCollection<Uint8Array> {
    const out = context.primitive({
      payload: { kind: "impulse" },
      inputs: {},
      outputs: [MAIN_OUTPUT],
      windowFn: GLOBAL_WINDOW_FN,
      isBounded: true,
    });
    return out[MAIN_OUTPUT] as PCollection<Uint8Array>;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the restriction, watermark and position types are the DoFn's own business
type AnyDoFnOf<I, O> = DoFn<I, O> | SplittableDoFn<I, O, any, any, any>;

function dofnLabel(fn: object): string {
  const name = fn.constructor?.name;
  return name && name !== "Object" ? `ParDo(${name})` : "ParDo";
}

/**
 * Applies a DoFn (or a splittable DoFn) to every element; made by ParDo.of. Default label: "ParDo(<DoFn class
 * name>)", or "ParDo" for a plain object. withOutputs gives the multi-output form.
 */
export class ParDoTransform<I, O> extends PTransform<PCollection<I>, PCollection<O>> {
  constructor(
    private readonly dofn: AnyDoFnOf<I, O>,
    label = dofnLabel(dofn),
    private readonly preservesCoder = false,
  ) {
    super(label);
  }

  expand(input: PCollection<I>, context: ExpandContext): PCollection<O> {
    return this.expandWith(input, context, MAIN_OUTPUT, [MAIN_OUTPUT])[MAIN_OUTPUT] as PCollection<O>;
  }

  /** The same DoFn with several outputs: the result maps each tag to its PCollection. */
  withOutputs(
    mainTag: string,
    additionalTags: readonly string[],
  ): PTransform<PCollection<I>, Record<string, PCollection<unknown>>> {
    const self = this;
    const tags = [mainTag, ...additionalTags];
    if (new Set(tags).size !== tags.length)
      throw new PipelineConstructionError(`${this.label}: duplicate output tags ${tags.join(", ")}`);
    return new (class extends PTransform<PCollection<I>, Record<string, PCollection<unknown>>> {
      expand(input: PCollection<I>, context: ExpandContext): Record<string, PCollection<unknown>> {
        return self.expandWith(input, context, mainTag, tags);
      }
    })(this.label);
  }

  private expandWith(
    input: PCollection<I>,
    context: ExpandContext,
    mainOutput: string,
    tags: readonly string[],
  ): Record<string, PCollection<unknown>> {
    const splittable = isSplittableDoFn(this.dofn);
    const unbounded = splittable && (this.dofn as SplittableDoFn<I, O, unknown, unknown>).unboundedPerElement === true;
    return context.primitive({
      payload: {
        kind: "pardo",
        dofn: this.dofn,
        splittable,
        mainOutput,
        ...(this.preservesCoder ? { preservesCoder: true } : {}),
      },
      inputs: { input: input as PCollection<unknown> },
      outputs: tags,
      ...(unbounded ? { isBounded: false } : {}),
    });
  }
}

/** Builds ParDo transforms: `pcollection.apply(ParDo.of(new MyDoFn()))`. */
export const ParDo = Object.freeze({
  /** Applies a DoFn, or a splittable DoFn (then the runner expands it into Beam's SDF steps). */
  of<I, O>(dofn: AnyDoFnOf<I, O>, label?: string): ParDoTransform<I, O> {
    return new ParDoTransform(dofn, label);
  },
});

class ValuesDoFn<T> implements DoFn<Uint8Array, T> {
  constructor(private readonly values: readonly { value: T; timestamp: Instant }[]) {}

  process(_impulse: Uint8Array, context: import("../sdf/index.js").ProcessContext<T>): void {
    for (const { value, timestamp } of this.values) context.outputWithTimestamp(value, timestamp);
  }
}

class CreateTransform<T> extends PTransform<PBegin, PCollection<T>> {
  constructor(private readonly values: readonly { value: T; timestamp: Instant }[]) {
    super("Create");
  }

  expand(input: PBegin): PCollection<T> {
    return input.pipeline.apply(new Impulse()).apply("Values", ParDo.of(new ValuesDoFn(this.values)));
  }
}

/** Sources of in-memory values (tests, small inputs): `pipeline.apply(Create.of([1, 2, 3]))`. Label: "Create". */
export const Create = Object.freeze({
  /** A bounded PCollection of these values, at the minimum timestamp in the global window (Beam's Create). */
  of<T>(values: Iterable<T>): PTransform<PBegin, PCollection<T>> {
    return new CreateTransform([...values].map((value) => ({ value, timestamp: MIN_TIMESTAMP })));
  },
  /** A bounded PCollection of values with their own event timestamps (ms). */
  timestamped<T>(values: Iterable<{ value: T; timestamp: Instant }>): PTransform<PBegin, PCollection<T>> {
    return new CreateTransform([...values]);
  },
});

function mapDoFn<I, O>(fn: (value: I) => O | Promise<O>): DoFn<I, O> {
  return {
    process(value, context): OutputResult {
      const result = fn(value);
      if (isPromiseLike(result)) return Promise.resolve(result).then((o) => context.output(o as O));
      return context.output(result as O);
    },
  };
}

function flatMapDoFn<I, O>(fn: (value: I) => Iterable<O> | Promise<Iterable<O>>): DoFn<I, O> {
  const emitAll = async (values: Iterable<O>, output: (o: O) => OutputResult): Promise<void> => {
    for (const o of values) {
      const r = output(o);
      if (r) await r;
    }
  };
  return {
    process(value, context): OutputResult {
      const result = fn(value);
      const emit = (values: Iterable<O>): OutputResult => {
        for (const o of values) context.output(o);
      };
      if (isPromiseLike(result))
        return Promise.resolve(result).then((values) => emitAll(values as Iterable<O>, (o) => context.output(o)));
      return emit(result as Iterable<O>);
    },
  };
}

function filterDoFn<T>(predicate: (value: T) => boolean | Promise<boolean>): DoFn<T, T> {
  return {
    process(value, context): OutputResult {
      const keep = predicate(value);
      if (isPromiseLike(keep)) return Promise.resolve(keep).then((k) => (k ? context.output(value) : undefined));
      return keep ? context.output(value) : undefined;
    },
  };
}

/**
 * Emits `fn(value)` for each element; an async `fn` is awaited. Importing it by name shadows the global `Map` in
 * that module.
 */
export function Map<I, O>(
  fn: (value: I) => O | Promise<O>,
  label = "Map",
): PTransform<PCollection<I>, PCollection<Awaited<O>>> {
  return ParDo.of(mapDoFn(fn), label) as unknown as PTransform<PCollection<I>, PCollection<Awaited<O>>>;
}

/** Emits every value of the iterable `fn(value)` returns (or resolves to), for each element. */
export function FlatMap<I, O>(
  fn: (value: I) => Iterable<O> | Promise<Iterable<O>>,
  label = "FlatMap",
): PTransform<PCollection<I>, PCollection<O>> {
  return ParDo.of(flatMapDoFn(fn), label);
}

/** Keeps the elements for which `predicate` returns (or resolves to) true; the output keeps the input's coder. */
export function Filter<T>(
  predicate: (value: T) => boolean | Promise<boolean>,
  label = "Filter",
): PTransform<PCollection<T>, PCollection<T>> {
  return new ParDoTransform(filterDoFn(predicate), label, true);
}

/** Re-stamps each element with fn(value); the new timestamp may not be earlier than the current one. */
export function WithTimestamps<T>(
  fn: (value: T) => Instant,
  label = "WithTimestamps",
): PTransform<PCollection<T>, PCollection<T>> {
  return new ParDoTransform<T, T>(
    { process: (value, context) => context.outputWithTimestamp(value, fn(value)) },
    label,
    true,
  );
}

/**
 * Consecutive windows of `sizeMs` ms, [start, start + size), aligned to the epoch plus `offsetMs`; use with
 * WindowInto. Throws RangeError unless size > 0 and 0 <= offset < size.
 */
export function FixedWindows(sizeMs: bigint | number, offsetMs: bigint | number = 0n): WindowFn {
  return fixedWindowFn(sizeMs, offsetMs);
}

/** The single global window, every PCollection's default; WindowInto(GlobalWindows()) undoes earlier windowing. */
export function GlobalWindows(): WindowFn {
  return GLOBAL_WINDOW_FN;
}

class WindowIntoTransform<T> extends PTransform<PCollection<T>, PCollection<T>> {
  constructor(
    private readonly windowFn: WindowFn,
    label: string,
    private readonly trigger: Trigger | undefined,
  ) {
    super(label);
  }

  expand(input: PCollection<T>, context: ExpandContext): PCollection<T> {
    const out = context.primitive({
      payload: {
        kind: "window-into",
        windowFn: this.windowFn,
        ...(this.trigger ? { trigger: this.trigger } : {}),
      },
      inputs: { input: input as PCollection<unknown> },
      outputs: [MAIN_OUTPUT],
      windowFn: this.windowFn,
      ...(this.trigger ? { trigger: this.trigger } : {}),
    });
    return out[MAIN_OUTPUT] as PCollection<T>;
  }
}

/** WindowInto's options beyond the window function. */
export interface WindowIntoOptions {
  /** When downstream GroupByKeys emit (default: the input's trigger). See `repeatedlyElementCount`. */
  readonly trigger?: Trigger;
}

/**
 * Re-assigns each element to the windows `windowFn` gives its timestamp (value and timestamp unchanged), so that
 * downstream grouping (GroupByKey, Count) happens per window; `options.trigger` says when those groups are emitted.
 */
export function WindowInto<T>(
  windowFn: WindowFn,
  label = "WindowInto",
  options: WindowIntoOptions = {},
): PTransform<PCollection<T>, PCollection<T>> {
  return new WindowIntoTransform<T>(windowFn, label, options.trigger);
}

class GroupByKeyTransform<K, V> extends PTransform<PCollection<KV<K, V>>, PCollection<KV<K, V[]>>> {
  expand(input: PCollection<KV<K, V>>, context: ExpandContext): PCollection<KV<K, V[]>> {
    const out = context.primitive({
      payload: { kind: "group-by-key" },
      inputs: { input: input as PCollection<unknown> },
      outputs: [MAIN_OUTPUT],
    });
    return out[MAIN_OUTPUT] as PCollection<KV<K, V[]>>;
  }
}

/**
 * Groups values by key and window. A window's group is emitted once the input watermark passes the end of the
 * window (default trigger), at the window's max timestamp, as KV<key, values[]>.
 */
export function GroupByKey<K, V>(label = "GroupByKey"): PTransform<PCollection<KV<K, V>>, PCollection<KV<K, V[]>>> {
  return new GroupByKeyTransform<K, V>(label);
}

class FlattenTransform<T> extends PTransform<PBegin, PCollection<T>> {
  constructor(private readonly inputs: readonly PCollection<T>[]) {
    super("Flatten");
  }

  expand(begin: PBegin, context: ExpandContext): PCollection<T> {
    if (this.inputs.length === 0) throw new PipelineConstructionError("Flatten.of needs at least one PCollection");
    const windowFns = new Set(this.inputs.map((pc) => structuralKey(pc.windowFn)));
    if (windowFns.size > 1)
      throw new PipelineConstructionError("Flatten.of: all inputs must have the same window function");
    const inputs: Record<string, PCollection<unknown>> = {};
    this.inputs.forEach((pc, i) => {
      if (pc.pipeline !== begin.pipeline)
        throw new PipelineConstructionError("Flatten.of: inputs belong to another pipeline");
      inputs[String(i)] = pc as PCollection<unknown>;
    });
    return context.primitive({ payload: { kind: "flatten" }, inputs, outputs: [MAIN_OUTPUT] })[
      MAIN_OUTPUT
    ] as PCollection<T>;
  }
}

/**
 * Merges PCollections. Applied to the pipeline, as it has several inputs; they must share one window function and
 * belong to that pipeline, and at least one is needed (else PipelineConstructionError).
 */
export const Flatten = Object.freeze({
  /** The union of several PCollections of one pipeline: `pipeline.apply(Flatten.of(a, b))`. */
  of<T>(...pcollections: PCollection<T>[]): PTransform<PBegin, PCollection<T>> {
    return new FlattenTransform(pcollections);
  },
});

class CountPerKey<K> extends PTransform<PCollection<KV<K, unknown>>, PCollection<KV<K, number>>> {
  expand(input: PCollection<KV<K, unknown>>): PCollection<KV<K, number>> {
    return input.apply("GroupByKey", GroupByKey<K, unknown>()).apply(
      "CountValues",
      Map((group: KV<K, unknown[]>) => kv(group.key, group.value.length)),
    );
  }
}

class CountGlobally<T> extends PTransform<PCollection<T>, PCollection<number>> {
  expand(input: PCollection<T>): PCollection<number> {
    return input
      .apply(
        "KeyByNull",
        Map((value: T) => kv(null, value)),
      )
      .apply("PerKey", new CountPerKey<null>("PerKey"))
      .apply(
        "Values",
        Map((count: KV<null, number>) => count.value),
      );
  }
}

class CountPerElement<T> extends PTransform<PCollection<T>, PCollection<KV<T, number>>> {
  expand(input: PCollection<T>): PCollection<KV<T, number>> {
    return input
      .apply(
        "KeyByElement",
        Map((value: T) => kv(value, null)),
      )
      .apply("PerKey", new CountPerKey<T>("PerKey"));
  }
}

/** Counting transforms, built on GroupByKey: a window's counts are emitted once the watermark passes its end. */
export const Count = Object.freeze({
  /** KV<K, V> -> KV<K, count> per key and window. */
  perKey<K>(label = "CountPerKey"): PTransform<PCollection<KV<K, unknown>>, PCollection<KV<K, number>>> {
    return new CountPerKey<K>(label);
  },
  /** The number of elements per window. Like Beam's Count.globally().withoutDefaults(): no 0 for an empty input. */
  globally<T>(label = "CountGlobally"): PTransform<PCollection<T>, PCollection<number>> {
    return new CountGlobally<T>(label);
  },
  /** KV<element, count> per distinct element and window. */
  perElement<T>(label = "CountPerElement"): PTransform<PCollection<T>, PCollection<KV<T, number>>> {
    return new CountPerElement<T>(label);
  },
});
