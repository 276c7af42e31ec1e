// The DoFn contract shared by the native API, the local runner and the Fn API worker. Lifecycle as Beam's:
// setup once per instance, startBundle / process* / finishBundle per bundle, teardown once.
import type { BoundedWindow, Instant, PaneInfo } from "../model/windowing.js";
import type { BundleFinalizer } from "./bundle-finalizer.js";
import type { Coder } from "../model/coders/index.js";
import type { DoFnPayload } from "../model/dofn-payload.js";

export type Awaitable<T> = T | Promise<T>;

/**
 * What an output call returns: nothing when everything downstream ran synchronously, else a promise that settles
 * when downstream has taken the element. Awaiting it applies backpressure; not awaiting it is safe — the bundle
 * processor keeps outputs in order and drains them before the element counts as processed.
 */
export type OutputResult = void | Promise<void>;

export interface Counter {
  inc(n?: number): void;
}

export interface MetricsContext {
  /** A user counter, reported per step as `name`. */
  counter(name: string): Counter;
}

export interface StartBundleContext {
  readonly metrics: MetricsContext;
  readonly bundleFinalizer: BundleFinalizer;
}

export interface ProcessContext<O> {
  /** The input element's event time. */
  readonly timestamp: Instant;
  /** The window the element is processed in (elements in several windows are processed once per window). */
  readonly window: BoundedWindow;
  readonly pane: PaneInfo;
  /** Emits to the main output with the input's timestamp and window. */
  output(value: O): OutputResult;
  /** Emits to the main output at `timestamp` (not earlier than the input's timestamp, except in a splittable DoFn). */
  outputWithTimestamp(value: O, timestamp: Instant): OutputResult;
  /** Emits to the output named `tag` (a local output name of the transform). */
  outputTagged(tag: string, value: unknown, timestamp?: Instant): OutputResult;
  readonly metrics: MetricsContext;
  readonly bundleFinalizer: BundleFinalizer;
}

export interface FinishBundleContext<O> {
  /** finishBundle has no input element: the timestamp and window of each output are explicit, as in Beam. */
  output(value: O, timestamp: Instant, window: BoundedWindow): OutputResult;
  outputTagged(tag: string, value: unknown, timestamp: Instant, window: BoundedWindow): OutputResult;
  readonly metrics: MetricsContext;
  readonly bundleFinalizer: BundleFinalizer;
}

/** Lifecycle methods common to DoFns and splittable DoFns, and what a portable runner needs to know of them. */
export interface DoFnLifecycle<O> {
  /** The coder of the main output, when the DoFn knows it (needed to translate the pipeline to a Runner API proto). */
  readonly outputCoder?: Coder<O>;
  /** True when the DoFn registers bundle finalization callbacks (Beam's requests_finalization). */
  readonly requestsFinalization?: boolean;
  /**
   * How a Fn API worker rebuilds this DoFn: `{ fn: registered name, ...config }` (JSON, under KBT_DOFN_URN). DoFns
   * without it (closures) run on the local runner only.
   */
  doFnPayload?(): DoFnPayload;
  setup?(): Awaitable<void>;
  startBundle?(context: StartBundleContext): Awaitable<void>;
  finishBundle?(context: FinishBundleContext<O>): Awaitable<void>;
  teardown?(): Awaitable<void>;
}

export interface DoFn<I, O> extends DoFnLifecycle<O> {
  process(element: I, context: ProcessContext<O>): Awaitable<void>;
}
