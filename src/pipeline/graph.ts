// The pipeline graph as plain data: what a runner executes and what translates to a Runner API Pipeline proto
// (transforms with unique names, inputs/outputs by local name, composites with their subtransforms).
import type { AnyDoFn, AnySplittableDoFn, Coder, Trigger, WindowFn } from "../sdf/index.js";

/** The five primitive transforms a runner executes; every other transform is a composite of these. */
export type PrimitiveKind = "impulse" | "pardo" | "flatten" | "window-into" | "group-by-key";

/**
 * What a transform node does: "composite" (its subtransforms do the work) or one primitive, with the parameters a
 * runner needs to execute it.
 */
export type TransformPayload =
  /** `urn`: a Beam standard composite a runner may replace (others run its subtransforms). */
  | { readonly kind: "composite"; readonly urn?: string }
  | { readonly kind: "impulse" }
  | {
      readonly kind: "pardo";
      /** The DoFn to run; a splittable one when `splittable` is true. */
      readonly dofn: AnyDoFn | AnySplittableDoFn;
      /** A splittable DoFn: runners expand it into Beam's SDF steps (pair, split-and-size, process). */
      readonly splittable: boolean;
      /** Local name of the main output. */
      readonly mainOutput: string;
      /** The main output has the input's coder (Filter, WithTimestamps). */
      readonly preservesCoder?: boolean;
    }
  | { readonly kind: "flatten" }
  | { readonly kind: "window-into"; readonly windowFn: WindowFn; readonly trigger?: Trigger }
  | { readonly kind: "group-by-key" };

/** One applied transform: a primitive, or a composite whose work is done by its subtransforms. */
export interface TransformNode {
  /** The unique full name ("Parent/Label"), also the id. */
  readonly id: string;
  /** The label it was applied with; `id` may end in `label_2`, `label_3`, ... to stay unique. */
  readonly label: string;
  /** The `id` of the enclosing composite; undefined for a top-level transform. */
  readonly parent: string | undefined;
  readonly payload: TransformPayload;
  /** Local input name -> PCollection id. */
  readonly inputs: Readonly<Record<string, string>>;
  /** Local output name -> PCollection id. */
  readonly outputs: Readonly<Record<string, string>>;
  /** Ids of the transforms applied inside this composite, in application order (empty for a primitive). */
  readonly subtransforms: readonly string[];
}

/** One PCollection: an output of exactly one transform, with its windowing, boundedness and (optional) coder. */
export interface PCollectionNode {
  /** `<producer id>.<local output name>`, e.g. "Parse.output". */
  readonly id: string;
  /** Id of the transform that outputs it. */
  readonly producer: string;
  /** How its elements are windowed (inherited from the producer's first input unless the producer sets it). */
  readonly windowFn: WindowFn;
  /** When a GroupByKey of it emits (inherited like windowFn; set by WindowInto's trigger option). */
  readonly trigger: Trigger;
  /** False when its data may never end (e.g. a Kafka read without a stop condition). */
  readonly isBounded: boolean;
  /** Set by PCollection.withCoder; otherwise inferred when the pipeline is translated to a Runner API proto. */
  readonly coder?: Coder<unknown>;
}

/**
 * A pipeline as plain data, keyed by id: what runners execute and what pipelineToRunnerApi translates. Obtained from
 * `Pipeline.graph`, a live view: do not mutate it.
 */
export interface PipelineGraph {
  /** Every transform, composite and primitive, by unique name. */
  readonly transforms: Readonly<Record<string, TransformNode>>;
  /** Every PCollection, by id. */
  readonly pcollections: Readonly<Record<string, PCollectionNode>>;
  /** Top-level transforms, in application order. */
  readonly roots: readonly string[];
}

const NONE: ReadonlySet<string> = new Set();

/**
 * The primitive transforms in application order (producers before consumers). A composite whose URN is in
 * `replaced` (a runner implements it itself) is listed instead of its subtransforms.
 */
export function primitiveTransforms(graph: PipelineGraph, replaced: ReadonlySet<string> = NONE): TransformNode[] {
  const out: TransformNode[] = [];
  const visit = (id: string): void => {
    const node = graph.transforms[id]!;
    const p = node.payload;
    if (p.kind === "composite" && !(p.urn !== undefined && replaced.has(p.urn))) node.subtransforms.forEach(visit);
    else out.push(node);
  };
  graph.roots.forEach(visit);
  return out;
}
