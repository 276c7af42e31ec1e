// Builds the components of one expansion. Every id it creates starts with the request's namespace: the calling
// SDK keeps only environments and windowing strategies in its namespace and asserts that new transforms are in it.
import { runnerApi, urns } from "../model/proto/index.js";
import { CoderComponentSet, globalWindowCoder, intervalWindowCoder, type Coder } from "../model/coders/index.js";
import {
  DEFAULT_TRIGGER,
  EVERY_ELEMENT_TRIGGER,
  GLOBAL_WINDOW_FN,
  type Trigger,
  type WindowFn,
} from "../model/windowing.js";
import { windowingStrategy } from "../model/windowing-strategy.js";

export interface PCollectionSpec {
  /** A coder we add to the components, or the id of one already there (the caller's element coder). */
  readonly coder: Coder<unknown> | { readonly id: string };
  readonly bounded: boolean;
}

/**
 * An object for the components' id → message maps. Every request brings a new namespace, so its ids are property
 * names V8 has never seen: in an ordinary object each one adds a hidden class (slow, and they pile up in the old
 * generation until a full GC). A null-prototype object is a hash table from the start.
 */
export function idMap<T>(...sources: (Readonly<Record<string, T>> | null | undefined)[]): Record<string, T> {
  const map = Object.create(null) as Record<string, T>;
  for (const source of sources) if (source) for (const key of Object.keys(source)) map[key] = source[key]!;
  return map;
}

export class ExpansionBuilder {
  readonly pcollections = idMap<runnerApi.IPCollection>();
  readonly transforms = idMap<runnerApi.IPTransform>();
  readonly windowingStrategies = idMap<runnerApi.IWindowingStrategy>();
  readonly environments = idMap<runnerApi.IEnvironment>();
  readonly requirements = new Set<string>();
  private readonly usedIds = new Set<string>();
  private readonly coderSet: CoderComponentSet;

  constructor(
    readonly namespace: string,
    readonly environmentId: string,
    environment: runnerApi.IEnvironment,
  ) {
    this.environments[environmentId] = environment;
    this.coderSet = new CoderComponentSet(namespace);
  }

  /** A fresh id under the namespace. */
  id(name: string): string {
    let id = `${this.namespace}${name}`;
    for (let n = 2; this.usedIds.has(id); n++) id = `${this.namespace}${name}_${n}`;
    this.usedIds.add(id);
    return id;
  }

  coderId(coder: Coder<unknown>): string {
    return this.coderSet.add(coder);
  }

  /** The global windowing strategy, created once. */
  globalWindowing(): string {
    return this.windowing("global_windowing", GLOBAL_WINDOW_FN, DEFAULT_TRIGGER, globalWindowCoder, true);
  }

  /**
   * Fixed event-time windows of `sizeMs` (offset 0) with the default trigger, created once per size. Interval
   * windows: the runner groups by them with the standard interval window coder.
   */
  fixedWindowing(sizeMs: bigint): string {
    const windowFn: WindowFn = { kind: "fixed", sizeMs, offsetMs: 0n };
    return this.windowing(`fixed_windowing_${sizeMs}ms`, windowFn, DEFAULT_TRIGGER, intervalWindowCoder);
  }

  /**
   * The global window with a trigger that fires for every element, keeping each group's earliest timestamp: what a
   * GroupByKey that only moves data between workers needs (Beam's Redistribute; Java's ReshuffleTrigger is
   * `always` on the wire). Created once.
   */
  everyElementWindowing(): string {
    return this.windowing("every_element_windowing", GLOBAL_WINDOW_FN, EVERY_ELEMENT_TRIGGER, globalWindowCoder);
  }

  /** The windowing strategy `name` (in this expansion's namespace), added once. */
  private windowing(
    name: string,
    windowFn: WindowFn,
    trigger: Trigger,
    windowCoder: Coder<unknown>,
    fireWhenEmpty = false,
  ): string {
    const id = `${this.namespace}${name}`;
    this.windowingStrategies[id] ??= windowingStrategy(windowFn, trigger, {
      windowCoderId: this.coderId(windowCoder),
      environmentId: this.environmentId,
      fireWhenEmpty,
    });
    return id;
  }

  pcollection(name: string, spec: PCollectionSpec, windowingStrategyId = this.globalWindowing()): string {
    const id = this.id(name);
    this.pcollections[id] = {
      uniqueName: id,
      coderId: "id" in spec.coder ? spec.coder.id : this.coderId(spec.coder),
      isBounded: spec.bounded ? runnerApi.IsBounded.Enum.BOUNDED : runnerApi.IsBounded.Enum.UNBOUNDED,
      windowingStrategyId,
    };
    return id;
  }

  /**
   * Adds a transform: a leaf (`environment: false` for runner primitives such as Impulse), or a composite when
   * `subtransforms` are given (no environment: its leaves run).
   */
  transform(
    id: string,
    t: {
      uniqueName: string;
      spec: runnerApi.IFunctionSpec;
      inputs?: Record<string, string>;
      outputs?: Record<string, string>;
      environment?: boolean;
      subtransforms?: string[];
    },
  ): string {
    this.transforms[id] = {
      uniqueName: t.uniqueName,
      spec: t.spec,
      inputs: t.inputs ?? {},
      outputs: t.outputs ?? {},
      environmentId: t.environment === false || t.subtransforms ? "" : this.environmentId,
      ...(t.subtransforms ? { subtransforms: t.subtransforms } : {}),
    };
    return id;
  }

  components(extra: runnerApi.IComponents = {}): runnerApi.IComponents {
    return {
      transforms: idMap(extra.transforms, this.transforms),
      pcollections: idMap(extra.pcollections, this.pcollections),
      windowingStrategies: idMap(extra.windowingStrategies, this.windowingStrategies),
      coders: idMap(extra.coders, this.coderSet.coders as Record<string, runnerApi.ICoder>),
      environments: idMap(extra.environments, this.environments),
    };
  }
}

export function parDoSpec(payload: runnerApi.IParDoPayload): runnerApi.IFunctionSpec {
  return { urn: urns.StandardPTransforms.Primitives.PAR_DO, payload: runnerApi.ParDoPayload.encode(payload).finish() };
}
