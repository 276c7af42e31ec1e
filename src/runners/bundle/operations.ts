// The operations a bundle processor wires together, one per transform of the descriptor. Elements flow push-style:
// a producer calls receive() on the PCollection's receiver, which fans out to its consumers.
import {
  MAX_TIMESTAMP,
  MIN_TIMESTAMP,
  NO_FIRING_PANE,
  type BoundedWindow,
  type Instant,
  type PaneInfo,
  type WindowedValue,
} from "../../model/windowing.js";
import {
  assignWindows,
  isTimestampObserving,
  type AnyDoFn,
  type AnySplittableDoFn,
  type Awaitable,
  type FinishBundleContext,
  type IsBounded,
  type MetricsContext,
  type OutputResult,
  type ProcessContinuation,
  type ProcessContext,
  type RestrictionTracker,
  type SplitResult,
  type TimestampObservingWatermarkEstimator,
  type WatermarkEstimator,
  type WindowFn,
} from "../../sdf/index.js";
import {
  sizedElement,
  type PCollectionId,
  type PairedElement,
  type SizedElement,
  type TransformId,
} from "./descriptor.js";
import type { FinalizationCallbacks } from "./finalization.js";
import { acquireDoFn, releaseDoFn } from "./lifecycle.js";
import {
  emptyTransformMetrics,
  TransformMetricsContext,
  type BundleMetrics,
  type TransformMetrics,
} from "./metrics.js";
import { isPromiseLike, OutputQueue, type Receiver } from "./output-queue.js";

/** An SDF element application, as the Fn API's BundleApplication. */
export interface BundleApplication {
  /** The sdf-process transform to feed it to. */
  readonly transformId: TransformId;
  /** The local name of that transform's input. */
  readonly inputId: string;
  /** The sized element: KV<KV<element, KV<restriction, watermarkState>>, size>, in one window. */
  readonly element: WindowedValue<SizedElement>;
  /** Per local output name: no output of this application will be earlier (absent for primaries). */
  readonly outputWatermarks: Readonly<Record<string, Instant>>;
  readonly isBounded: IsBounded;
}

/** A residual to schedule no sooner than requestedDelayMs from now (Fn API DelayedBundleApplication). */
export interface DelayedBundleApplication {
  readonly application: BundleApplication;
  readonly requestedDelayMs: number;
}

/** What operations see of the bundle being processed. */
export interface BundleScope {
  readonly finalizer: FinalizationCallbacks;
  readonly metrics: BundleMetrics;
  /** Residuals of self-checkpoints (ProcessContinuation.resume). */
  readonly checkpoints: DelayedBundleApplication[];
  /** Restrictions handed back unstarted (see BundleProcessorOptions.deferSplittableWork). */
  readonly deferral: { readonly delayMs: () => number | undefined; restrictions: number };
}

export class PCollectionReceiver implements Receiver {
  readonly consumers: Receiver[] = [];
  private counter: { elements: number } = { elements: 0 };

  constructor(readonly id: PCollectionId) {}

  startBundle(scope: BundleScope): void {
    this.counter = scope.metrics.pcollections[this.id] ??= { elements: 0 };
  }

  receive(element: WindowedValue<unknown>): OutputResult {
    this.counter.elements++;
    const consumers = this.consumers;
    if (consumers.length === 1) return consumers[0]!.receive(element);
    for (let i = 0; i < consumers.length; i++) {
      const result = consumers[i]!.receive(element);
      if (isPromiseLike(result)) return this.deliverRest(result, element, i + 1);
    }
    return undefined;
  }

  private async deliverRest(
    pending: PromiseLike<unknown>,
    element: WindowedValue<unknown>,
    from: number,
  ): Promise<void> {
    await pending;
    for (let i = from; i < this.consumers.length; i++) {
      const result = this.consumers[i]!.receive(element);
      if (isPromiseLike(result)) await result;
    }
  }
}

export abstract class Operation implements Receiver {
  protected metrics: TransformMetrics = emptyTransformMetrics();
  protected scope: BundleScope | undefined;

  constructor(
    readonly id: TransformId,
    readonly name: string,
    readonly outputs: ReadonlyMap<string, PCollectionReceiver>,
  ) {}

  setup(): Awaitable<void> {}

  startBundle(scope: BundleScope): Awaitable<void> {
    this.scope = scope;
    this.metrics = scope.metrics.transforms[this.id] ??= emptyTransformMetrics();
  }

  abstract receive(element: WindowedValue<unknown>): OutputResult;

  finishBundle(): Awaitable<void> {}

  teardown(): Awaitable<void> {}

  protected soleOutput(): PCollectionReceiver | undefined {
    return this.outputs.values().next().value;
  }
}

/** Where the caller's elements enter; counts them so the bundle can be split at element boundaries. */
export class SourceOperation extends Operation {
  /** Index of the element being processed (or last processed); -1 before the first. */
  index = -1;
  /** Elements at or after this index are not processed (moved by channel splits). */
  stop = Number.MAX_SAFE_INTEGER;
  started = false;
  /** True between elements: the element at `index` is fully processed. */
  elementDone = true;
  /** The number of input elements when the caller handed over an array. */
  knownSize: number | undefined;
  /** Set when the only consumer is an sdf-process step, which can split its current element. */
  splittableConsumer: SdfProcessOperation | undefined;

  override startBundle(scope: BundleScope): Awaitable<void> {
    this.index = -1;
    this.stop = Number.MAX_SAFE_INTEGER;
    this.started = false;
    this.elementDone = true;
    this.knownSize = undefined;
    return super.startBundle(scope);
  }

  receive(): OutputResult {
    throw new Error(`source ${this.name} has no input`);
  }

  async run(input: Iterable<WindowedValue<unknown>> | AsyncIterable<WindowedValue<unknown>>): Promise<void> {
    const out = this.soleOutput();
    this.started = true;
    if (Array.isArray(input)) this.knownSize = input.length;
    let i = 0;
    const iterable = input as AsyncIterable<WindowedValue<unknown>> & Iterable<WindowedValue<unknown>>;
    if (typeof iterable[Symbol.iterator] === "function") {
      for (const element of iterable) {
        if (i >= this.stop) break;
        await this.deliver(out, element, i++);
      }
    } else {
      for await (const element of iterable) {
        if (i >= this.stop) break;
        await this.deliver(out, element, i++);
      }
    }
  }

  private async deliver(
    out: PCollectionReceiver | undefined,
    element: WindowedValue<unknown>,
    index: number,
  ): Promise<void> {
    this.index = index;
    this.elementDone = false;
    this.metrics.elementsIn++;
    this.metrics.elementsOut++;
    if (out !== undefined) {
      const result = out.receive(element);
      if (isPromiseLike(result)) await result;
    }
    this.elementDone = true;
  }
}

export type SinkTarget = (element: WindowedValue<unknown>) => OutputResult;

export class SinkOperation extends Operation {
  target: SinkTarget | undefined;

  receive(element: WindowedValue<unknown>): OutputResult {
    this.metrics.elementsIn++;
    return this.target!(element);
  }
}

export class FlattenOperation extends Operation {
  receive(element: WindowedValue<unknown>): OutputResult {
    this.metrics.elementsIn++;
    this.metrics.elementsOut++;
    return this.soleOutput()?.receive(element);
  }
}

export class WindowIntoOperation extends Operation {
  constructor(
    id: TransformId,
    name: string,
    outputs: ReadonlyMap<string, PCollectionReceiver>,
    private readonly windowFn: WindowFn,
  ) {
    super(id, name, outputs);
  }

  receive(element: WindowedValue<unknown>): OutputResult {
    this.metrics.elementsIn++;
    this.metrics.elementsOut++;
    const windows = assignWindows(this.windowFn, element.timestamp);
    return this.soleOutput()?.receive({
      value: element.value,
      timestamp: element.timestamp,
      windows,
      pane: element.pane,
    });
  }
}

export class OutputTimestampError extends Error {
  override readonly name = "OutputTimestampError";
  readonly code = "OUTPUT_TIMESTAMP";
  readonly retriable = false;
}

function outputReceivers(
  name: string,
  outputs: ReadonlyMap<string, PCollectionReceiver>,
  mainOutput: string | undefined,
): PCollectionReceiver | undefined {
  if (mainOutput !== undefined) {
    const main = outputs.get(mainOutput);
    if (main === undefined)
      throw new Error(
        `${name}: main output "${mainOutput}" is not among its outputs [${[...outputs.keys()].join(", ")}]`,
      );
    return main;
  }
  if (outputs.size > 1) {
    throw new Error(
      `${name} has ${outputs.size} outputs [${[...outputs.keys()].join(", ")}]: name the main one (mainOutput)`,
    );
  }
  return outputs.values().next().value;
}

/** The context a DoFn sees while processing one element in one window; reused from element to element. */
class ElementContext implements ProcessContext<unknown> {
  current!: WindowedValue<unknown>;
  windows!: readonly BoundedWindow[];

  constructor(private readonly op: DoFnOperation) {}

  get timestamp(): Instant {
    return this.current.timestamp;
  }

  get window(): BoundedWindow {
    return this.windows[0]!;
  }

  get pane(): PaneInfo {
    return this.current.pane;
  }

  get metrics(): MetricsContext {
    return this.op.metricsContext;
  }

  get bundleFinalizer(): FinalizationCallbacks {
    return this.op.finalizer;
  }

  output(value: unknown): OutputResult {
    return this.op.emit(this.op.main, value, this.current.timestamp, this.windows, this.current.pane);
  }

  outputWithTimestamp(value: unknown, timestamp: Instant): OutputResult {
    this.op.checkOutputTimestamp(timestamp, this.current.timestamp);
    return this.op.emit(this.op.main, value, timestamp, this.windows, this.current.pane);
  }

  outputTagged(tag: string, value: unknown, timestamp?: Instant): OutputResult {
    const target = this.op.outputFor(tag);
    if (timestamp === undefined)
      return this.op.emit(target, value, this.current.timestamp, this.windows, this.current.pane);
    this.op.checkOutputTimestamp(timestamp, this.current.timestamp);
    return this.op.emit(target, value, timestamp, this.windows, this.current.pane);
  }
}

/** Shared by ParDo and sdf-process: ordered outputs, contexts, metrics and the DoFn lifecycle. */
abstract class DoFnOperation extends Operation {
  readonly main: PCollectionReceiver | undefined;
  protected readonly queue = new OutputQueue();
  protected readonly context = new ElementContext(this);
  metricsContext: MetricsContext = new TransformMetricsContext(this.metrics);
  /** Set while a timestamp-observing watermark estimator is active. */
  protected observer: TimestampObservingWatermarkEstimator<unknown> | undefined;

  constructor(
    id: TransformId,
    name: string,
    outputs: ReadonlyMap<string, PCollectionReceiver>,
    protected readonly lifecycle: AnyDoFn | AnySplittableDoFn,
    mainOutput: string | undefined,
    /** Plain DoFns may not move outputs before their input (Beam's rule, zero allowed skew). */
    private readonly outputsMayPrecedeInput: boolean,
  ) {
    super(id, name, outputs);
    this.main = outputReceivers(name, outputs, mainOutput);
  }

  get finalizer(): FinalizationCallbacks {
    if (this.scope === undefined) throw new Error(`${this.name}: no bundle is active`);
    return this.scope.finalizer;
  }

  override setup(): Promise<void> {
    return acquireDoFn(this.lifecycle);
  }

  override teardown(): Promise<void> {
    return releaseDoFn(this.lifecycle);
  }

  override startBundle(scope: BundleScope): Awaitable<void> {
    super.startBundle(scope);
    this.queue.reset();
    this.metricsContext = new TransformMetricsContext(this.metrics);
    if (this.lifecycle.startBundle)
      return this.lifecycle.startBundle({ metrics: this.metricsContext, bundleFinalizer: scope.finalizer });
  }

  override async finishBundle(): Promise<void> {
    if (this.lifecycle.finishBundle) {
      const context: FinishBundleContext<unknown> = {
        output: (value, timestamp, window) =>
          this.emit(this.main, value, this.checkedTimestamp(timestamp), [window], NO_FIRING_PANE),
        outputTagged: (tag, value, timestamp, window) =>
          this.emit(this.outputFor(tag), value, this.checkedTimestamp(timestamp), [window], NO_FIRING_PANE),
        metrics: this.metricsContext,
        bundleFinalizer: this.finalizer,
      };
      await this.lifecycle.finishBundle(context);
    }
    await this.queue.drain();
  }

  outputFor(tag: string): PCollectionReceiver {
    const target = this.outputs.get(tag);
    if (target === undefined)
      throw new Error(`${this.name}: unknown output tag "${tag}" (outputs: ${[...this.outputs.keys()].join(", ")})`);
    return target;
  }

  emit(
    target: PCollectionReceiver | undefined,
    value: unknown,
    timestamp: Instant,
    windows: readonly BoundedWindow[],
    pane: PaneInfo,
  ): OutputResult {
    this.metrics.elementsOut++;
    this.observer?.observeTimestamp(timestamp);
    if (target === undefined) return undefined;
    return this.queue.push(target, { value, timestamp, windows, pane });
  }

  checkOutputTimestamp(timestamp: Instant, inputTimestamp: Instant): void {
    this.checkedTimestamp(timestamp);
    if (!this.outputsMayPrecedeInput && timestamp < inputTimestamp) {
      throw new OutputTimestampError(
        `${this.name}: cannot output with timestamp ${timestamp}: it is earlier than the input's timestamp ` +
          `${inputTimestamp} (outputs may not move back in time, which would make them late)`,
      );
    }
  }

  private checkedTimestamp(timestamp: Instant): Instant {
    if (typeof timestamp !== "bigint" || timestamp < MIN_TIMESTAMP || timestamp > MAX_TIMESTAMP) {
      throw new OutputTimestampError(
        `${this.name}: output timestamp must be a bigint ms instant within Beam's range, got ${String(timestamp)}`,
      );
    }
    return timestamp;
  }
}

export class ParDoOperation extends DoFnOperation {
  constructor(
    id: TransformId,
    name: string,
    outputs: ReadonlyMap<string, PCollectionReceiver>,
    private readonly dofn: AnyDoFn,
    mainOutput: string | undefined,
  ) {
    super(id, name, outputs, dofn, mainOutput, dofn.outputsMayPrecedeInput === true);
  }

  receive(element: WindowedValue<unknown>): OutputResult {
    this.metrics.elementsIn++;
    if (element.windows.length === 1) return this.processIn(element, element.windows);
    return this.processEachWindow(element);
  }

  private processIn(element: WindowedValue<unknown>, windows: readonly BoundedWindow[]): OutputResult {
    const context = this.context;
    context.current = element;
    context.windows = windows;
    const result = this.dofn.process(element.value, context);
    if (isPromiseLike(result)) return Promise.resolve(result).then(() => this.queue.drain());
    return this.queue.drain();
  }

  private async processEachWindow(element: WindowedValue<unknown>): Promise<void> {
    for (const window of element.windows) {
      const result = this.processIn(element, [window]);
      if (isPromiseLike(result)) await result;
    }
  }
}

/** The restriction being processed right now, for splits and progress. */
interface RunningRestriction {
  readonly element: WindowedValue<SizedElement>;
  readonly input: unknown;
  readonly state: unknown;
  readonly tracker: RestrictionTracker<unknown, unknown>;
  readonly estimator: WatermarkEstimator<unknown>;
}

/** A split taken from the tracker (synchronously, so processing sees it at once), sized later. */
export interface PendingElementSplit {
  readonly running: RunningRestriction;
  readonly split: SplitResult<unknown>;
  readonly residualState: unknown;
  readonly watermark: Instant;
}

function sdfParts(
  name: string,
  element: WindowedValue<unknown>,
): { input: unknown; restriction: unknown; state: unknown } {
  const sized = element.value as Partial<SizedElement> | undefined;
  const paired = sized?.key as Partial<PairedElement> | undefined;
  const restrictionAndState = paired?.value as Partial<PairedElement["value"]> | undefined;
  if (paired === undefined || restrictionAndState === undefined || !("key" in restrictionAndState)) {
    throw new TypeError(`${name}: expected a sized element KV<KV<element, KV<restriction, watermarkState>>, size>`);
  }
  return { input: paired.key, restriction: restrictionAndState.key, state: restrictionAndState.value };
}

export class SdfProcessOperation extends DoFnOperation {
  private running: RunningRestriction | undefined;
  readonly inputId: string;

  constructor(
    id: TransformId,
    name: string,
    outputs: ReadonlyMap<string, PCollectionReceiver>,
    private readonly dofn: AnySplittableDoFn,
    mainOutput: string | undefined,
    inputId: string,
  ) {
    super(id, name, outputs, dofn, mainOutput, true);
    this.inputId = inputId;
  }

  async receive(element: WindowedValue<unknown>): Promise<void> {
    this.metrics.elementsIn++;
    if (element.windows.length === 1) return this.processIn(element as WindowedValue<SizedElement>);
    for (const window of element.windows) {
      await this.processIn({ ...(element as WindowedValue<SizedElement>), windows: [window] });
    }
  }

  private async processIn(element: WindowedValue<SizedElement>): Promise<void> {
    const { input, restriction, state } = sdfParts(this.name, element);
    const tracker = this.dofn.newTracker(restriction, input) as RestrictionTracker<unknown, unknown>;
    const estimator = this.dofn.newWatermarkEstimator(state) as WatermarkEstimator<unknown>;
    const running: RunningRestriction = { element, input, state, tracker, estimator };
    const deferMs = this.scope!.deferral.delayMs();
    if (deferMs !== undefined && (await this.defer(running, deferMs))) return;
    this.context.current = element;
    this.context.windows = element.windows;
    this.observer = isTimestampObserving(estimator) ? estimator : undefined;
    this.running = running;
    let continuation: ProcessContinuation;
    try {
      continuation = await this.dofn.processElement(this.context, input, tracker, estimator);
      await this.queue.drain();
    } finally {
      this.running = undefined;
      this.observer = undefined;
    }
    if (continuation === null || typeof continuation !== "object" || typeof continuation.shouldResume !== "boolean") {
      throw new TypeError(`${this.name}: processElement must return a ProcessContinuation (stop() or resume())`);
    }
    if (continuation.shouldResume) {
      const split = tracker.trySplit(0);
      if (split !== undefined) {
        const pending = {
          running,
          split,
          residualState: estimator.getState(),
          watermark: estimator.currentWatermark(),
        };
        const residual = await this.residualApplication(pending);
        this.scope!.checkpoints.push({ application: residual, requestedDelayMs: continuation.resumeDelayMs });
      }
    }
    tracker.checkDone();
  }

  /** Hands the whole restriction back as a residual without processing it; false if it cannot be split. */
  private async defer(running: RunningRestriction, delayMs: number): Promise<boolean> {
    const split = running.tracker.trySplit(0);
    if (split === undefined) return false;
    const pending = {
      running,
      split,
      residualState: running.estimator.getState(),
      watermark: running.estimator.currentWatermark(),
    };
    this.scope!.checkpoints.push({ application: await this.residualApplication(pending), requestedDelayMs: delayMs });
    this.scope!.deferral.restrictions++;
    running.tracker.checkDone();
    return true;
  }

  isRunning(): boolean {
    return this.running !== undefined;
  }

  /** The fraction of the current restriction that is done; undefined when the tracker reports no progress. */
  currentFractionDone(): number | undefined {
    const progress = this.running?.tracker.getProgress?.();
    if (progress === undefined) return undefined;
    const total = progress.workCompleted + progress.workRemaining;
    return total > 0 ? progress.workCompleted / total : 1;
  }

  currentWork(): { workCompleted: number; workRemaining: number } | undefined {
    return this.running?.tracker.getProgress?.();
  }

  /** Splits the running restriction now; the processing DoFn sees the shrunk restriction at its next claim. */
  trySplitRunning(fractionOfRemainder: number): PendingElementSplit | undefined {
    const running = this.running;
    if (running === undefined) return undefined;
    const split = running.tracker.trySplit(fractionOfRemainder);
    if (split === undefined) return undefined;
    return {
      running,
      split,
      residualState: running.estimator.getState(),
      watermark: running.estimator.currentWatermark(),
    };
  }

  /** The primary (original watermark state, no hold) and residual (current state, held at the watermark). */
  async applications(
    pending: PendingElementSplit,
  ): Promise<{ primary: BundleApplication; residual: BundleApplication }> {
    const { running, split } = pending;
    const [primarySize, residual] = await Promise.all([
      this.dofn.getSize(running.input, split.primary),
      this.residualApplication(pending),
    ]);
    const primary: BundleApplication = {
      transformId: this.id,
      inputId: this.inputId,
      element: this.sized(running, split.primary, running.state, primarySize),
      outputWatermarks: {},
      isBounded: this.dofn.newTracker(split.primary, running.input).isBounded(),
    };
    return { primary, residual };
  }

  private async residualApplication(pending: PendingElementSplit): Promise<BundleApplication> {
    const { running, split, residualState, watermark } = pending;
    const size = await this.dofn.getSize(running.input, split.residual);
    const outputWatermarks: Record<string, Instant> = {};
    for (const tag of this.outputs.keys()) outputWatermarks[tag] = watermark;
    return {
      transformId: this.id,
      inputId: this.inputId,
      element: this.sized(running, split.residual, residualState, size),
      outputWatermarks,
      isBounded: this.dofn.newTracker(split.residual, running.input).isBounded(),
    };
  }

  private sized(
    running: RunningRestriction,
    restriction: unknown,
    state: unknown,
    size: number,
  ): WindowedValue<SizedElement> {
    const { element } = running;
    return {
      value: sizedElement(running.input, restriction, state, size),
      timestamp: element.timestamp,
      windows: element.windows,
      pane: element.pane,
    };
  }
}

/** pair-with-restriction: element -> KV(element, KV(initialRestriction, initialWatermarkState)). */
export class SdfPairOperation extends Operation {
  constructor(
    id: TransformId,
    name: string,
    outputs: ReadonlyMap<string, PCollectionReceiver>,
    private readonly dofn: AnySplittableDoFn,
  ) {
    super(id, name, outputs);
  }

  async receive(element: WindowedValue<unknown>): Promise<void> {
    this.metrics.elementsIn++;
    const restriction = await this.dofn.initialRestriction(element.value);
    const state = await this.dofn.initialWatermarkState(element.value, restriction);
    this.metrics.elementsOut++;
    await this.soleOutput()?.receive({
      ...element,
      value: { key: element.value, value: { key: restriction, value: state } },
    });
  }
}

function pairedParts(name: string, value: unknown): { input: unknown; restriction: unknown; state: unknown } {
  const paired = value as Partial<PairedElement> | undefined;
  const rs = paired?.value as Partial<PairedElement["value"]> | undefined;
  if (paired === undefined || rs === undefined || !("key" in rs)) {
    throw new TypeError(`${name}: expected a paired element KV<element, KV<restriction, watermarkState>>`);
  }
  return { input: paired.key, restriction: rs.key, state: rs.value };
}

/** split-and-size: each initial split of the restriction becomes its own sized element. */
export class SdfSplitAndSizeOperation extends Operation {
  constructor(
    id: TransformId,
    name: string,
    outputs: ReadonlyMap<string, PCollectionReceiver>,
    private readonly dofn: AnySplittableDoFn,
  ) {
    super(id, name, outputs);
  }

  async receive(element: WindowedValue<unknown>): Promise<void> {
    this.metrics.elementsIn++;
    const { input, restriction, state } = pairedParts(this.name, element.value);
    const out = this.soleOutput();
    for (const part of await this.dofn.splitRestriction(input, restriction)) {
      const size = await this.dofn.getSize(input, part);
      this.metrics.elementsOut++;
      await out?.receive({ ...element, value: sizedElement(input, part, state, size) });
    }
  }
}

/** truncate (drain): keeps what truncateRestriction keeps (default: bounded restrictions whole, unbounded none). */
export class SdfTruncateOperation extends Operation {
  constructor(
    id: TransformId,
    name: string,
    outputs: ReadonlyMap<string, PCollectionReceiver>,
    private readonly dofn: AnySplittableDoFn,
  ) {
    super(id, name, outputs);
  }

  async receive(element: WindowedValue<unknown>): Promise<void> {
    this.metrics.elementsIn++;
    const { input, restriction, state } = sdfParts(this.name, element);
    const truncated = this.dofn.truncateRestriction
      ? await this.dofn.truncateRestriction(input, restriction)
      : this.dofn.newTracker(restriction, input).isBounded() === "bounded"
        ? restriction
        : undefined;
    if (truncated === undefined || truncated === null) return;
    const size = await this.dofn.getSize(input, truncated);
    this.metrics.elementsOut++;
    await this.soleOutput()?.receive({ ...element, value: sizedElement(input, truncated, state, size) });
  }
}
