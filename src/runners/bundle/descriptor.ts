// The graph a bundle processor runs: close to a Fn API ProcessBundleDescriptor. Transforms are keyed by id and name
// their inputs and outputs by local name -> PCollection id; each kind corresponds to one Beam URN:
//   source   beam:runner:source:v1 (data channel in)     sink     beam:runner:sink:v1 (data channel out)
//   pardo    beam:transform:pardo:v1                      flatten  beam:transform:flatten:v1
//   window-into                          beam:transform:window_into:v1
//   sdf-pair-with-restriction            beam:transform:sdf_pair_with_restriction:v1
//   sdf-split-and-size-restrictions      beam:transform:sdf_split_and_size_restrictions:v1
//   sdf-truncate-sized-restrictions      beam:transform:sdf_truncate_sized_restrictions:v1
//   sdf-process-sized-element-and-restrictions  beam:transform:sdf_process_sized_element_and_restrictions:v1
// Elements are WindowedValue<unknown>; the SDF steps use Beam's shapes (KV = { key, value }):
//   paired: KV<element, KV<restriction, watermarkState>>
//   sized:  KV<KV<element, KV<restriction, watermarkState>>, size: number (a double)>
import type { AnyDoFn, AnySplittableDoFn, KV, WindowFn } from "../../sdf/index.js";
import { doubleCoder, kvCoder, type Coder } from "../../model/coders/index.js";

export type PCollectionId = string;
export type TransformId = string;

interface TransformBase {
  /** Human-readable unique name (metrics, errors); defaults to the transform id. */
  readonly name?: string;
  readonly inputs: Readonly<Record<string, PCollectionId>>;
  readonly outputs: Readonly<Record<string, PCollectionId>>;
}

/** Elements enter here: the caller feeds an iterable per source transform id. */
export interface SourceSpec extends TransformBase {
  readonly kind: "source";
}

/** Elements leave here: the caller passes a receiver per sink transform id. */
export interface SinkSpec extends TransformBase {
  readonly kind: "sink";
}

export interface ParDoSpec extends TransformBase {
  readonly kind: "pardo";
  readonly dofn: AnyDoFn;
  /** Local output name of the main output; optional when the transform has at most one output. */
  readonly mainOutput?: string;
}

export type SdfStepKind =
  | "sdf-pair-with-restriction"
  | "sdf-split-and-size-restrictions"
  | "sdf-truncate-sized-restrictions"
  | "sdf-process-sized-element-and-restrictions";

export interface SdfStepSpec extends TransformBase {
  readonly kind: SdfStepKind;
  readonly dofn: AnySplittableDoFn;
  /** Only for sdf-process: the local name of the main output (optional with at most one output). */
  readonly mainOutput?: string;
}

export interface FlattenSpec extends TransformBase {
  readonly kind: "flatten";
}

export interface WindowIntoSpec extends TransformBase {
  readonly kind: "window-into";
  readonly windowFn: WindowFn;
}

export type TransformSpec = SourceSpec | SinkSpec | ParDoSpec | SdfStepSpec | FlattenSpec | WindowIntoSpec;
export type TransformKind = TransformSpec["kind"];

export interface BundleDescriptor {
  readonly transforms: Readonly<Record<TransformId, TransformSpec>>;
}

export type PairedElement<I = unknown, R = unknown, S = unknown> = KV<I, KV<R, S>>;
export type SizedElement<I = unknown, R = unknown, S = unknown> = KV<PairedElement<I, R, S>, number>;

export function pairedElement<I, R, S>(element: I, restriction: R, state: S): PairedElement<I, R, S> {
  return { key: element, value: { key: restriction, value: state } };
}

export function sizedElement<I, R, S>(element: I, restriction: R, state: S, size: number): SizedElement<I, R, S> {
  return { key: pairedElement(element, restriction, state), value: size };
}

/** Beam URN of each kind, for the Fn API worker's translation of ProcessBundleDescriptors. */
export const TRANSFORM_KIND_URNS: Readonly<Record<TransformKind, string>> = Object.freeze({
  source: "beam:runner:source:v1",
  sink: "beam:runner:sink:v1",
  pardo: "beam:transform:pardo:v1",
  flatten: "beam:transform:flatten:v1",
  "window-into": "beam:transform:window_into:v1",
  "sdf-pair-with-restriction": "beam:transform:sdf_pair_with_restriction:v1",
  "sdf-split-and-size-restrictions": "beam:transform:sdf_split_and_size_restrictions:v1",
  "sdf-truncate-sized-restrictions": "beam:transform:sdf_truncate_sized_restrictions:v1",
  "sdf-process-sized-element-and-restrictions": "beam:transform:sdf_process_sized_element_and_restrictions:v1",
});

/**
 * The element coders of the SDF steps for a given input element coder, built from the DoFn's own restriction and
 * watermark-state coders (a generic coder registry would decode an OffsetRange's KV<varint, varint> wire form as a
 * KV): paired = KV<element, KV<restriction, state>>, sized = KV<paired, double>.
 */
export function sdfElementCoders<I>(
  elementCoder: Coder<I>,
  dofn: AnySplittableDoFn,
): { paired: Coder<PairedElement<I>>; sized: Coder<SizedElement<I>> } {
  const paired = kvCoder(
    elementCoder,
    kvCoder(dofn.restrictionCoder as Coder<unknown>, dofn.watermarkStateCoder as Coder<unknown>),
  );
  return { paired, sized: kvCoder(paired, doubleCoder) };
}
