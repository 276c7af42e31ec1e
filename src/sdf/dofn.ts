// The DoFn contract shared by the native API, the local runner and the Fn API worker. Lifecycle as Beam's:
// setup once per instance, startBundle / process* / finishBundle per bundle, teardown once.
import type { BoundedWindow, Instant, PaneInfo } from "../model/windowing.js";
import type { BundleFinalizer } from "./bundle-finalizer.js";
import type { Coder } from "../model/coders/index.js";
import type { DoFnPayload } from "../model/dofn-payload.js";

/** A value or a promise of it: DoFn methods may be synchronous or async, and the runner awaits either. */
export type Awaitable<T> = T | Promise<T>;

/**
 * What an output call returns: nothing when everything downstream ran synchronously, else a promise that settles
 * when downstream has taken the element. Awaiting it applies backpressure; not awaiting it is safe — the bundle
 * processor keeps outputs in order and drains them before the element counts as processed.
 */
export type OutputResult = void | Promise<void>;

/** Beam's Counter metric: a sum reported per step. */
export interface Counter {
  /** Adds `n` (default 1). */
  inc(n?: number): void;
}

/** Access to the user metrics of the current step. */
export interface MetricsContext {
  /** A user counter, reported per step as `name`. */
  counter(name: string): Counter;
}

/** What `startBundle` receives: the bundle has no element and no output yet. */
export interface StartBundleContext {
  readonly metrics: MetricsContext;
  readonly bundleFinalizer: BundleFinalizer;
}

/**
 * What `process` (and a splittable DoFn's `processElement`) receives for one element in one window: its timestamp,
 * window and pane, and the ways to emit outputs. Valid only during that call.
 */
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

/** What `finishBundle` receives: it may still emit (e.g. flush a buffer), with explicit timestamp and window. */
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
   * True when the DoFn must see the same input again if the runner retries or replays it (Beam's
   * requires_stable_input): a runner with checkpoints then holds its input until a checkpoint has it.
   */
  readonly requiresStableInput?: boolean;
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

/**
 * Beam's DoFn: processes each input element of a ParDo, emitting through the context. Lifecycle as Beam's: `setup`
 * once per instance, then per bundle `startBundle`, `process` for each element, `finishBundle`; `teardown` last.
 */
export interface DoFn<I, O> extends DoFnLifecycle<O> {
  /** Called once per element and window; the element counts as done once a returned promise settles. */
  process(element: I, context: ProcessContext<O>): Awaitable<void>;
  /**
   * True when outputs may be stamped before the input (Beam's unlimited allowed skew): only for a DoFn restoring
   * timestamps an earlier step carried in the elements, as after a GroupByKey that moved data between workers.
   */
  readonly outputsMayPrecedeInput?: boolean;
}
