// Runs bundles of a BundleDescriptor: the one execution engine behind the local runner and the Fn API worker.
// A processor is built once per descriptor (DoFn setup), runs bundles one after another, and is torn down once.
// While a bundle runs, trySplit() and progress() may be called from other async tasks (the Fn API control stream):
// splits take effect synchronously on the trackers, so the running DoFn sees them at its next tryClaim.
import type { WindowedValue } from "../../model/windowing.js";
import type { Awaitable, OutputResult } from "../../sdf/index.js";
import { planSplit, type DesiredSplit } from "./channel-split.js";
import type { BundleDescriptor, PCollectionId, TransformId, TransformSpec } from "./descriptor.js";
import { FinalizationCallbacks, type FinalizationOrder, type FinalizationOutcome } from "./finalization.js";
import { copyMetrics, type BundleMetrics } from "./metrics.js";
import {
  FlattenOperation,
  type Operation,
  ParDoOperation,
  PCollectionReceiver,
  SdfPairOperation,
  SdfProcessOperation,
  SdfSplitAndSizeOperation,
  SdfTruncateOperation,
  SinkOperation,
  SourceOperation,
  WindowIntoOperation,
  type BundleApplication,
  type BundleScope,
  type DelayedBundleApplication,
  type PendingElementSplit,
} from "./operations.js";

export type ElementSource = Iterable<WindowedValue<unknown>> | AsyncIterable<WindowedValue<unknown>>;
export type ElementSink = (element: WindowedValue<unknown>) => OutputResult;

export interface BundleIO {
  /** Per source transform id: the bundle's input elements, in order. */
  readonly inputs: Readonly<Record<TransformId, ElementSource>>;
  /** Per sink transform id: receives each output element (may return a promise to apply backpressure). */
  readonly outputs: Readonly<Record<TransformId, ElementSink>>;
}

export interface BundleResult {
  /** Self-checkpoints: residuals to schedule again after their delay (ProcessBundleResponse.residual_roots). */
  readonly residualRoots: readonly DelayedBundleApplication[];
  /** True when finalize() has callbacks to run once the output is committed. */
  readonly requiresFinalization: boolean;
  readonly metrics: BundleMetrics;
  /** Elements the bundle's sources delivered, and how many of them were restrictions deferred unstarted. */
  readonly inputElements: number;
  readonly deferredRestrictions: number;
}

export interface ChannelSplit {
  /** The source transform id. */
  readonly transformId: TransformId;
  /** The last element index this bundle processes (-1: none). */
  readonly lastPrimaryElement: number;
  /** The first element index this bundle will not process; the runner owns it and everything after. */
  readonly firstResidualElement: number;
}

/** ProcessBundleSplitResponse: primaries/residuals of split elements plus the channel boundaries. */
export interface BundleSplit {
  readonly primaryRoots: readonly BundleApplication[];
  readonly residualRoots: readonly DelayedBundleApplication[];
  readonly channelSplits: readonly ChannelSplit[];
}

export interface SplittableProgress {
  readonly transformId: TransformId;
  readonly workCompleted: number;
  readonly workRemaining: number;
}

export interface BundleProgress {
  /** Per source: how many elements were handed to the graph so far. */
  readonly inputs: Readonly<Record<TransformId, { readonly elementsConsumed: number }>>;
  readonly metrics: BundleMetrics;
  /** Work of the restriction each sdf-process step is on right now. */
  readonly splittable: readonly SplittableProgress[];
}

export type BundleState = "created" | "running" | "succeeded" | "failed";

export class BundleProcessorError extends Error {
  override readonly name = "BundleProcessorError";
  readonly code = "BUNDLE_PROCESSOR";
  readonly retriable = false;
}

export interface BundleProcessorOptions {
  /** Wall clock for finalization expiry (ms since epoch). */
  readonly clock?: () => number;
  /**
   * Whether a split may cut the element list in front of a splittable DoFn (default true). Prism 2.77 does not hold
   * the watermark for elements returned by such a channel split, so their output arrives late: the Fn API worker
   * turns this off and splits only inside the running element.
   */
  readonly boundarySplitsBeforeSdf?: boolean;
  /**
   * While this returns a delay (ms), splittable DoFns do not start new restrictions: each one goes back to the runner
   * whole, as a residual to resume after that delay. A worker draining for shutdown hands its reads back this way
   * while it keeps processing what is already in flight downstream.
   */
  readonly deferSplittableWork?: () => number | undefined;
}

export class BundleProcessor {
  private readonly operations = new Map<TransformId, Operation>();
  private readonly pcollections = new Map<PCollectionId, PCollectionReceiver>();
  /** Producers before consumers. */
  private readonly ordered: Operation[];
  private readonly sources = new Map<TransformId, SourceOperation>();
  private readonly sinks = new Map<TransformId, SinkOperation>();
  private readonly clock: () => number;
  private readonly boundarySplitsBeforeSdf: boolean;
  /** @internal */
  readonly deferSplittableWork: () => number | undefined;
  private setupDone: Promise<void> | undefined;
  private torndown = false;
  private active: Bundle | undefined;
  private brokenBy: unknown;
  private bundleCount = 0;

  constructor(
    readonly descriptor: BundleDescriptor,
    options: BundleProcessorOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.boundarySplitsBeforeSdf = options.boundarySplitsBeforeSdf ?? true;
    this.deferSplittableWork = options.deferSplittableWork ?? (() => undefined);
    const specs = Object.entries(descriptor.transforms);
    const producers = new Map<PCollectionId, TransformId>();
    for (const [id, spec] of specs) {
      for (const pc of Object.values(spec.outputs)) {
        const other = producers.get(pc);
        if (other !== undefined)
          throw new BundleProcessorError(`PCollection ${pc} is produced by both ${other} and ${id}`);
        producers.set(pc, id);
        this.pcollections.set(pc, new PCollectionReceiver(pc));
      }
    }
    for (const [id, spec] of specs) {
      for (const pc of Object.values(spec.inputs)) {
        if (!producers.has(pc))
          throw new BundleProcessorError(`transform ${id} reads PCollection ${pc}, which no transform produces`);
      }
      this.operations.set(id, this.createOperation(id, spec));
    }
    for (const [id, spec] of specs) {
      for (const pc of Object.values(spec.inputs)) this.pcollections.get(pc)!.consumers.push(this.operations.get(id)!);
    }
    for (const [id, source] of this.sources) {
      const out = Object.values(descriptor.transforms[id]!.outputs)[0]!;
      const consumers = this.pcollections.get(out)!.consumers;
      if (consumers.length === 1 && consumers[0] instanceof SdfProcessOperation)
        source.splittableConsumer = consumers[0];
    }
    this.ordered = this.topologicalOrder(specs, producers);
  }

  private createOperation(id: TransformId, spec: TransformSpec): Operation {
    const name = spec.name ?? id;
    const outputs = new Map<string, PCollectionReceiver>();
    for (const [local, pc] of Object.entries(spec.outputs)) outputs.set(local, this.pcollections.get(pc)!);
    const inputCount = Object.keys(spec.inputs).length;
    const needInputs = (n: number): void => {
      if (inputCount !== n)
        throw new BundleProcessorError(`${spec.kind} ${name} needs ${n} input(s), has ${inputCount}`);
    };
    switch (spec.kind) {
      case "source": {
        needInputs(0);
        if (outputs.size !== 1) throw new BundleProcessorError(`source ${name} needs exactly one output`);
        const op = new SourceOperation(id, name, outputs);
        this.sources.set(id, op);
        return op;
      }
      case "sink": {
        needInputs(1);
        const op = new SinkOperation(id, name, outputs);
        this.sinks.set(id, op);
        return op;
      }
      case "pardo":
        needInputs(1);
        return new ParDoOperation(id, name, outputs, spec.dofn, spec.mainOutput);
      case "flatten":
        return new FlattenOperation(id, name, outputs);
      case "window-into":
        needInputs(1);
        return new WindowIntoOperation(id, name, outputs, spec.windowFn);
      case "sdf-pair-with-restriction":
        needInputs(1);
        return new SdfPairOperation(id, name, outputs, spec.dofn);
      case "sdf-split-and-size-restrictions":
        needInputs(1);
        return new SdfSplitAndSizeOperation(id, name, outputs, spec.dofn);
      case "sdf-truncate-sized-restrictions":
        needInputs(1);
        return new SdfTruncateOperation(id, name, outputs, spec.dofn);
      case "sdf-process-sized-element-and-restrictions":
        needInputs(1);
        return new SdfProcessOperation(id, name, outputs, spec.dofn, spec.mainOutput, Object.keys(spec.inputs)[0]!);
      default: {
        const unknown: never = spec;
        throw new BundleProcessorError(`unknown transform kind ${(unknown as { kind: string }).kind}`);
      }
    }
  }

  private topologicalOrder(
    specs: [TransformId, TransformSpec][],
    producers: Map<PCollectionId, TransformId>,
  ): Operation[] {
    const order: Operation[] = [];
    const state = new Map<TransformId, "visiting" | "done">();
    const visit = (id: TransformId): void => {
      const seen = state.get(id);
      if (seen === "done") return;
      if (seen === "visiting") throw new BundleProcessorError(`the descriptor has a cycle through ${id}`);
      state.set(id, "visiting");
      for (const pc of Object.values(this.descriptor.transforms[id]!.inputs)) visit(producers.get(pc)!);
      state.set(id, "done");
      order.push(this.operations.get(id)!);
    };
    for (const [id] of specs) visit(id);
    return order;
  }

  /** Calls setup on every DoFn (once per DoFn instance). newBundle().run() calls it when needed. */
  setup(): Promise<void> {
    this.setupDone ??= (async () => {
      for (const op of this.ordered) await op.setup();
    })();
    return this.setupDone;
  }

  /** Tears every DoFn down; the processor cannot run bundles afterwards. */
  async teardown(): Promise<void> {
    if (this.torndown) return;
    this.torndown = true;
    if (this.setupDone === undefined) return;
    await this.setupDone.catch(() => undefined);
    const errors: unknown[] = [];
    for (const op of [...this.ordered].reverse()) {
      try {
        await op.teardown();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  }

  /** True after a bundle failed: operations may be mid-element, so build a new processor. */
  get broken(): boolean {
    return this.brokenBy !== undefined;
  }

  get activeBundle(): Bundle | undefined {
    return this.active;
  }

  newBundle(id = `bundle-${++this.bundleCount}`): Bundle {
    if (this.torndown) throw new BundleProcessorError("the processor was torn down");
    if (this.brokenBy !== undefined)
      throw new BundleProcessorError("the processor failed in an earlier bundle; create a new one", {
        cause: this.brokenBy,
      });
    if (this.active !== undefined)
      throw new BundleProcessorError(`bundle ${this.active.id} is still running on this processor`);
    return new Bundle(id, this);
  }

  /** @internal */
  async runBundle(bundle: Bundle, io: BundleIO, scope: BundleScope): Promise<void> {
    if (this.active !== undefined)
      throw new BundleProcessorError(`bundle ${this.active.id} is still running on this processor`);
    for (const id of this.sources.keys()) {
      if (io.inputs[id] === undefined) throw new BundleProcessorError(`no input for source ${id}`);
    }
    for (const [id, sink] of this.sinks) {
      const target = io.outputs[id];
      if (target === undefined) throw new BundleProcessorError(`no output receiver for sink ${id}`);
      sink.target = target;
    }
    await this.setup();
    this.active = bundle;
    try {
      for (const pc of this.pcollections.values()) pc.startBundle(scope);
      for (const op of [...this.ordered].reverse()) await (op.startBundle(scope) as Awaitable<void>);
      for (const [id, source] of this.sources) await source.run(io.inputs[id]!);
      for (const op of this.ordered) await op.finishBundle();
    } catch (err) {
      this.brokenBy = err;
      throw err;
    } finally {
      this.active = undefined;
    }
  }

  /** @internal */
  progressOf(scope: BundleScope): BundleProgress {
    const inputs: Record<TransformId, { elementsConsumed: number }> = {};
    for (const [id, source] of this.sources)
      inputs[id] = { elementsConsumed: source.index + (source.elementDone ? 1 : 0) };
    const splittable: SplittableProgress[] = [];
    for (const op of this.operations.values()) {
      if (op instanceof SdfProcessOperation) {
        const work = op.currentWork();
        if (work !== undefined) splittable.push({ transformId: op.id, ...work });
      }
    }
    return { inputs, metrics: copyMetrics(scope.metrics), splittable };
  }

  /** @internal */
  async splitActive(desired: Readonly<Record<TransformId, DesiredSplit>>): Promise<BundleSplit | undefined> {
    const channelSplits: ChannelSplit[] = [];
    const elementSplits: [SdfProcessOperation, PendingElementSplit][] = [];
    // Everything that changes what the bundle will process happens synchronously here, before any await.
    for (const [id, want] of Object.entries(desired)) {
      const source = this.sources.get(id);
      if (source === undefined || !source.started) continue;
      const sdf = source.splittableConsumer;
      const running = sdf?.isRunning() ?? false;
      const currentProgress = source.index < 0 || source.elementDone ? 1 : (sdf?.currentFractionDone() ?? 0.5);
      const desiredWithSize =
        want.estimatedInputElements || source.knownSize === undefined
          ? want
          : { ...want, estimatedInputElements: source.knownSize };
      const plan = planSplit({
        index: source.index,
        currentProgress,
        stop: source.stop,
        desired: desiredWithSize,
        elementSplittable: running,
      });
      if (plan.elementFraction !== undefined && sdf !== undefined) {
        const pending = sdf.trySplitRunning(plan.elementFraction);
        if (pending !== undefined) {
          source.stop = source.index + 1;
          elementSplits.push([sdf, pending]);
          channelSplits.push({
            transformId: id,
            lastPrimaryElement: source.index - 1,
            firstResidualElement: source.index + 1,
          });
          continue;
        }
      }
      if (plan.boundaryStop !== undefined && (sdf === undefined || this.boundarySplitsBeforeSdf)) {
        source.stop = plan.boundaryStop;
        channelSplits.push({
          transformId: id,
          lastPrimaryElement: plan.boundaryStop - 1,
          firstResidualElement: plan.boundaryStop,
        });
      }
    }
    if (channelSplits.length === 0) return undefined;
    const primaryRoots: BundleApplication[] = [];
    const residualRoots: DelayedBundleApplication[] = [];
    for (const [sdf, pending] of elementSplits) {
      const { primary, residual } = await sdf.applications(pending);
      primaryRoots.push(primary);
      residualRoots.push({ application: residual, requestedDelayMs: 0 });
    }
    return { primaryRoots, residualRoots, channelSplits };
  }

  /** @internal Elements delivered by the source operations in this bundle. */
  sourceElements(scope: BundleScope): number {
    let n = 0;
    for (const id of this.sources.keys()) n += scope.metrics.transforms[id]?.elementsOut ?? 0;
    return n;
  }

  /** @internal */
  now(): number {
    return this.clock();
  }
}

/** One bundle: run it once, split or sample it while it runs, then finalize (or discard) it. */
export class Bundle {
  private stateValue: BundleState = "created";
  private readonly finalizer = new FinalizationCallbacks();
  private readonly scope: BundleScope;

  constructor(
    readonly id: string,
    private readonly processor: BundleProcessor,
  ) {
    this.scope = {
      finalizer: this.finalizer,
      metrics: { transforms: {}, pcollections: {} },
      checkpoints: [],
      deferral: { delayMs: processor.deferSplittableWork, restrictions: 0 },
    };
  }

  get state(): BundleState {
    return this.stateValue;
  }

  /**
   * Processes every input element, then finishes the bundle. Rejects with the user's own error if a DoFn throws;
   * the bundle's finalization callbacks are then dropped.
   */
  async run(io: BundleIO): Promise<BundleResult> {
    if (this.stateValue !== "created") throw new BundleProcessorError(`bundle ${this.id} was already run`);
    this.stateValue = "running";
    try {
      await this.processor.runBundle(this, io, this.scope);
    } catch (err) {
      this.stateValue = "failed";
      this.finalizer.discard();
      throw err;
    }
    this.stateValue = "succeeded";
    return {
      residualRoots: [...this.scope.checkpoints],
      requiresFinalization: this.finalizer.size > 0,
      metrics: copyMetrics(this.scope.metrics),
      inputElements: this.processor.sourceElements(this.scope),
      deferredRestrictions: this.scope.deferral.restrictions,
    };
  }

  progress(): BundleProgress {
    return this.processor.progressOf(this.scope);
  }

  /**
   * Splits the running bundle. Per source transform id, keep `fractionOfRemainder` of the remaining work. Returns
   * undefined when nothing could be split (or the bundle is not running).
   */
  async trySplit(desired: Readonly<Record<TransformId, DesiredSplit>>): Promise<BundleSplit | undefined> {
    if (this.stateValue !== "running") return undefined;
    return this.processor.splitActive(desired);
  }

  /** Checkpoints every source as soon as possible: a split keeping 0 of the remainder. */
  checkpoint(): Promise<BundleSplit | undefined> {
    const desired: Record<TransformId, DesiredSplit> = {};
    for (const id of Object.keys(this.processor.descriptor.transforms)) {
      if (this.processor.descriptor.transforms[id]!.kind === "source") desired[id] = { fractionOfRemainder: 0 };
    }
    return this.trySplit(desired);
  }

  /**
   * Runs the finalization callbacks: call once the bundle's output is durably committed. Only for a succeeded
   * bundle; callbacks past their expiry are skipped. Runs them at most once.
   */
  finalize(order?: FinalizationOrder): Promise<FinalizationOutcome> {
    if (this.stateValue !== "succeeded") {
      return Promise.reject(
        new BundleProcessorError(`bundle ${this.id} is ${this.stateValue}: only a succeeded bundle is finalized`),
      );
    }
    return this.finalizer.runAll(this.processor.now(), order);
  }

  /** Drops the finalization callbacks (the runner did not commit the output). */
  discard(): void {
    this.finalizer.discard();
  }
}
