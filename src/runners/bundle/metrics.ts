// Per-bundle metrics: element counts per transform and PCollection, and user counters per transform.
import type { Counter, MetricsContext } from "../../sdf/index.js";
import type { PCollectionId, TransformId } from "./descriptor.js";

export interface TransformMetrics {
  /** Elements received (an element in several windows counts once). */
  elementsIn: number;
  /** Elements emitted, over all outputs. */
  elementsOut: number;
  /** User counters by name. */
  counters: Record<string, number>;
}

export interface BundleMetrics {
  readonly transforms: Record<TransformId, TransformMetrics>;
  readonly pcollections: Record<PCollectionId, { elements: number }>;
}

export function emptyTransformMetrics(): TransformMetrics {
  return { elementsIn: 0, elementsOut: 0, counters: {} };
}

export function copyMetrics(metrics: BundleMetrics): BundleMetrics {
  const transforms: Record<TransformId, TransformMetrics> = {};
  for (const [id, m] of Object.entries(metrics.transforms)) {
    transforms[id] = { elementsIn: m.elementsIn, elementsOut: m.elementsOut, counters: { ...m.counters } };
  }
  const pcollections: Record<PCollectionId, { elements: number }> = {};
  for (const [id, m] of Object.entries(metrics.pcollections)) pcollections[id] = { elements: m.elements };
  return { transforms, pcollections };
}

/** The DoFn-facing metrics of one transform in one bundle; counters are cached by name. */
export class TransformMetricsContext implements MetricsContext {
  private readonly counterCache = new Map<string, Counter>();

  constructor(private readonly metrics: TransformMetrics) {}

  counter(name: string): Counter {
    let counter = this.counterCache.get(name);
    if (counter === undefined) {
      const counters = this.metrics.counters;
      counters[name] ??= 0;
      counter = {
        inc(n = 1): void {
          counters[name] = (counters[name] ?? 0) + n;
        },
      };
      this.counterCache.set(name, counter);
    }
    return counter;
  }
}
