// The pipeline graph as plain data: what a runner executes and what translates to a Runner API Pipeline proto
// (transforms with unique names, inputs/outputs by local name, composites with their subtransforms).
import type { AnyDoFn, AnySplittableDoFn, Coder, WindowFn } from "../sdf/index.js";

export type PrimitiveKind = "impulse" | "pardo" | "flatten" | "window-into" | "group-by-key";

export type TransformPayload =
  | { readonly kind: "composite" }
  | { readonly kind: "impulse" }
  | {
      readonly kind: "pardo";
      readonly dofn: AnyDoFn | AnySplittableDoFn;
      readonly splittable: boolean;
      /** Local name of the main output. */
      readonly mainOutput: string;
      /** The main output has the input's coder (Filter, WithTimestamps). */
      readonly preservesCoder?: boolean;
    }
  | { readonly kind: "flatten" }
  | { readonly kind: "window-into"; readonly windowFn: WindowFn }
  | { readonly kind: "group-by-key" };

export interface TransformNode {
  /** The unique full name ("Parent/Label"), also the id. */
  readonly id: string;
  readonly label: string;
  readonly parent: string | undefined;
  readonly payload: TransformPayload;
  /** Local input name -> PCollection id. */
  readonly inputs: Readonly<Record<string, string>>;
  /** Local output name -> PCollection id. */
  readonly outputs: Readonly<Record<string, string>>;
  readonly subtransforms: readonly string[];
}

export interface PCollectionNode {
  readonly id: string;
  readonly producer: string;
  readonly windowFn: WindowFn;
  readonly isBounded: boolean;
  /** Set by PCollection.withCoder; otherwise inferred when the pipeline is translated to a Runner API proto. */
  readonly coder?: Coder<unknown>;
}

export interface PipelineGraph {
  readonly transforms: Readonly<Record<string, TransformNode>>;
  readonly pcollections: Readonly<Record<string, PCollectionNode>>;
  /** Top-level transforms, in application order. */
  readonly roots: readonly string[];
}

/** The primitive transforms in application order (producers before consumers). */
export function primitiveTransforms(graph: PipelineGraph): TransformNode[] {
  const out: TransformNode[] = [];
  const visit = (id: string): void => {
    const node = graph.transforms[id]!;
    if (node.payload.kind === "composite") node.subtransforms.forEach(visit);
    else out.push(node);
  };
  graph.roots.forEach(visit);
  return out;
}
