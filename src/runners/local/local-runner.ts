// The local runner: executes a pipeline in this process on the shared bundle processor. Bundles run one at a
// time; outputs are committed (handed downstream) only when a bundle succeeded, and its finalization callbacks
// run right after that commit. Residuals of checkpoints wait out their delay; long bundles are checkpointed by
// the runner (a split at fraction 0) so unbounded sources cannot starve the rest of the pipeline.
//
// Watermarks: a stage's input watermark is that of its root PCollection (min over its producers); its output
// watermark is the min of that and every hold — queued elements (their timestamps), queued/delayed residuals
// (their output watermarks) and the bundle in flight. GroupByKey fires a window once its input watermark passes
// the window's max timestamp.
import {
  GLOBAL_WINDOW,
  MAX_TIMESTAMP,
  MIN_TIMESTAMP,
  windowMaxTimestamp,
  type BoundedWindow,
  type Instant,
  type PaneInfo,
  type WindowedValue,
} from "../../model/windowing.js";
import { windowKey, type KV, type Trigger } from "../../sdf/index.js";
import {
  structuralKey,
  type Pipeline,
  type PipelineHandle,
  type PipelineMetrics,
  type PipelineRunner,
  type PipelineState,
  type StepMetrics,
} from "../../pipeline/index.js";
import {
  BundleProcessor,
  type Bundle,
  type BundleMetrics,
  type BundleSplit,
  type DelayedBundleApplication,
} from "../bundle/index.js";
import { planExecution, SOURCE_ID, type ExecutionPlan, type SinkTarget, type StagePlan } from "./stages.js";

/** Tuning and observation hooks of the LocalRunner; all optional. */
export interface LocalRunnerOptions {
  /** Most elements per bundle (default 1000). */
  readonly maxBundleSize?: number;
  /** The runner checkpoints a bundle that runs longer than this (default 1000 ms). */
  readonly maxBundleDurationMs?: number;
  /** Called after each bundle is committed and finalized, with the watermarks at that point (tests, tracing). */
  readonly onBundleCommitted?: (event: BundleCommittedEvent) => void;
}

/** What LocalRunnerOptions.onBundleCommitted receives after each committed (and finalized) bundle. */
export interface BundleCommittedEvent {
  /** The StagePlan that ran the bundle ("stage-1", ...). */
  readonly stageId: string;
  readonly bundleId: string;
  /** Input elements the bundle processed (elements a checkpoint split off are not counted). */
  readonly inputElements: number;
  /** Residuals it left (its DoFns' own checkpoints and the runner's), resumed by later bundles. */
  readonly residuals: number;
  /** Per PCollection id: its watermark after the commit. */
  readonly watermarks: Readonly<Record<string, Instant>>;
}

const ON_TIME_PANE: PaneInfo = Object.freeze({
  isFirst: true,
  isLast: true,
  timing: "ON_TIME",
  index: 0n,
  onTimeIndex: 0n,
});
const IMPULSE: WindowedValue<Uint8Array> = Object.freeze({
  value: new Uint8Array(0),
  timestamp: MIN_TIMESTAMP,
  windows: [GLOBAL_WINDOW],
  pane: Object.freeze({ isFirst: true, isLast: true, timing: "UNKNOWN", index: 0n, onTimeIndex: 0n }) as PaneInfo,
});

interface Pending {
  readonly element: WindowedValue<unknown>;
  /** The stage's output watermark may not pass this while the element waits. */
  readonly hold: Instant;
}

interface Delayed extends Pending {
  readonly readyAtMs: number;
}

interface Stage {
  readonly plan: StagePlan;
  readonly processor: BundleProcessor;
  readonly queue: Pending[];
  readonly delayed: Delayed[];
  /** Stages and GBKs whose outputs feed this stage's root. */
  producers: WatermarkNode[];
  inFlightHold: Instant | undefined;
  outputWatermark: Instant;
  /** Since when the queue has held elements without a bundle taking them (fairness). */
  waitingSinceMs: number | undefined;
}

interface Gbk {
  readonly id: string;
  readonly inputPc: string;
  readonly outputPc: string;
  producers: WatermarkNode[];
  consumer: Stage | undefined;
  readonly trigger: Trigger;
  readonly windows: Map<string, GbkWindow>;
  outputWatermark: Instant;
}

interface GbkWindow {
  readonly window: BoundedWindow;
  readonly groups: Map<string, GbkGroup>;
}

/** One key's values in one window not emitted yet, and how many panes it has emitted. */
interface GbkGroup {
  readonly key: unknown;
  values: unknown[];
  panes: number;
}

type WatermarkNode = { kind: "stage"; stage: Stage } | { kind: "gbk"; gbk: Gbk } | { kind: "impulse" };

function minInstant(a: Instant, b: Instant): Instant {
  return a < b ? a : b;
}

function holdOf(application: DelayedBundleApplication["application"]): Instant {
  const marks = Object.values(application.outputWatermarks);
  return marks.length === 0 ? application.element.timestamp : marks.reduce(minInstant);
}

/**
 * Runs a pipeline in this process, one bundle at a time. A bundle's outputs are committed only if it succeeds, then
 * its finalization runs (e.g. Kafka offset commits). The first error fails the run (no retries); unbounded reads
 * run until cancel().
 */
export class LocalRunner implements PipelineRunner<LocalPipelineHandle> {
  constructor(private readonly options: LocalRunnerOptions = {}) {}

  /** Starts the pipeline and returns its handle at once; the run proceeds on the event loop. */
  run(pipeline: Pipeline): LocalPipelineHandle {
    const execution = new LocalExecution(planExecution(pipeline.graph), this.options);
    execution.start();
    return execution.handle;
  }
}

/** The handle of a LocalRunner run: a PipelineHandle that also reports watermarks. */
export interface LocalPipelineHandle extends PipelineHandle {
  /** The current watermark of each PCollection (by id). */
  watermarks(): Record<string, Instant>;
}

class LocalExecution {
  readonly handle: LocalPipelineHandle;
  private readonly stages: Stage[] = [];
  private readonly stagesByRoot = new Map<string, Stage>();
  private readonly gbks = new Map<string, Gbk>();
  /** Producers before consumers. */
  private readonly order: WatermarkNode[] = [];
  private readonly steps: Record<string, StepMetrics> = {};
  private readonly maxBundleSize: number;
  private readonly maxBundleDurationMs: number;
  private stateValue: PipelineState = "RUNNING";
  private failure: unknown;
  private cancelRequested = false;
  private inFlight:
    | { readonly bundle: Bundle; readonly checkpoint: () => Promise<BundleSplit | undefined> }
    | undefined;
  private wake: (() => void) | undefined;
  private finished!: Promise<void>;

  constructor(
    private readonly plan: ExecutionPlan,
    private readonly options: LocalRunnerOptions,
  ) {
    this.maxBundleSize = options.maxBundleSize ?? 1000;
    this.maxBundleDurationMs = options.maxBundleDurationMs ?? 1000;
    for (const p of plan.stages) {
      const stage: Stage = {
        plan: p,
        processor: new BundleProcessor(p.descriptor),
        queue: [],
        delayed: [],
        producers: [],
        inFlightHold: undefined,
        outputWatermark: MIN_TIMESTAMP,
        waitingSinceMs: undefined,
      };
      this.stages.push(stage);
      this.stagesByRoot.set(p.rootPc, stage);
    }
    for (const g of plan.gbks) {
      this.gbks.set(g.id, {
        ...g,
        producers: [],
        consumer: this.stagesByRoot.get(g.outputPc),
        windows: new Map(),
        outputWatermark: MIN_TIMESTAMP,
      });
      this.steps[g.id] = { elementsIn: 0, elementsOut: 0, bundles: 0, counters: {} };
    }
    for (const stage of this.stages) {
      for (const targets of Object.values(stage.plan.sinks)) {
        for (const target of targets) this.consumerNode(target).producers.push({ kind: "stage", stage });
      }
    }
    for (const gbk of this.gbks.values()) gbk.consumer?.producers.push({ kind: "gbk", gbk });
    for (const impulse of plan.impulses) {
      const stage = this.stagesByRoot.get(impulse.outputPc)!;
      stage.producers.push({ kind: "impulse" });
      stage.queue.push({ element: IMPULSE, hold: IMPULSE.timestamp });
      this.steps[impulse.id] = { elementsIn: 0, elementsOut: 1, bundles: 1, counters: {} };
    }
    this.order = this.topologicalOrder();
    this.handle = this.makeHandle();
  }

  private consumerNode(target: SinkTarget): { producers: WatermarkNode[] } {
    return target.kind === "gbk" ? this.gbks.get(target.gbkId)! : this.stagesByRoot.get(target.rootPc)!;
  }

  private topologicalOrder(): WatermarkNode[] {
    const order: WatermarkNode[] = [];
    const done = new Set<object>();
    const visit = (node: WatermarkNode): void => {
      if (node.kind === "impulse") return;
      const key = node.kind === "stage" ? node.stage : node.gbk;
      if (done.has(key)) return;
      done.add(key);
      for (const p of key.producers) visit(p);
      order.push(node);
    };
    for (const stage of this.stages) visit({ kind: "stage", stage });
    for (const gbk of this.gbks.values()) visit({ kind: "gbk", gbk });
    return order;
  }

  start(): void {
    this.finished = this.loop();
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        this.updateWatermarks();
        if (this.cancelRequested) break;
        const stage = this.nextReadyStage();
        if (stage !== undefined) {
          await this.runBundle(stage);
          // Bundles that never wait on I/O would otherwise starve timers and I/O callbacks (and cancel()).
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        const nextReady = this.earliestDelayed();
        if (nextReady === undefined) break;
        await this.sleepUntil(nextReady);
      }
      this.stateValue = this.cancelRequested ? "CANCELLED" : "DONE";
    } catch (err) {
      this.failure = err;
      this.stateValue = "FAILED";
    } finally {
      await this.teardown();
    }
  }

  private async teardown(): Promise<void> {
    for (const stage of this.stages) {
      try {
        await stage.processor.teardown();
      } catch (err) {
        if (this.stateValue !== "FAILED") {
          this.failure = err;
          this.stateValue = "FAILED";
        }
      }
    }
  }

  /** Downstream stages first, so results flow out before more input is read. */
  private nextReadyStage(): Stage | undefined {
    const now = Date.now();
    for (const stage of this.stages) {
      if (stage.delayed.length === 0) continue;
      for (let i = stage.delayed.length - 1; i >= 0; i--) {
        const d = stage.delayed[i]!;
        if (d.readyAtMs <= now) {
          stage.delayed.splice(i, 1);
          stage.queue.push({ element: d.element, hold: d.hold });
        }
      }
    }
    // Downstream first, so results flow out before more input is read; but a stage whose elements have waited
    // longer than a bundle may run goes first, or an always-busy downstream SDF (an unbounded read resuming at once)
    // would starve the stages that feed it (partition discovery).
    let ready: Stage | undefined;
    let oldest: Stage | undefined;
    for (let i = this.order.length - 1; i >= 0; i--) {
      const node = this.order[i]!;
      if (node.kind !== "stage") continue;
      const candidate = node.stage;
      if (candidate.queue.length === 0) {
        candidate.waitingSinceMs = undefined;
        continue;
      }
      candidate.waitingSinceMs ??= now;
      ready ??= candidate;
      if (
        now - candidate.waitingSinceMs >= this.maxBundleDurationMs &&
        (oldest === undefined || candidate.waitingSinceMs < oldest.waitingSinceMs!)
      ) {
        oldest = candidate;
      }
    }
    return oldest ?? ready;
  }

  private earliestDelayed(): number | undefined {
    let earliest: number | undefined;
    for (const stage of this.stages)
      for (const d of stage.delayed) if (earliest === undefined || d.readyAtMs < earliest) earliest = d.readyAtMs;
    return earliest;
  }

  private sleepUntil(atMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.wake = undefined;
          resolve();
        },
        Math.max(0, atMs - Date.now()),
      );
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async runBundle(stage: Stage): Promise<void> {
    const taken = stage.queue.splice(0, this.maxBundleSize);
    stage.waitingSinceMs = undefined;
    stage.inFlightHold = taken.reduce((h, p) => minInstant(h, p.hold), MAX_TIMESTAMP);
    const bundle = stage.processor.newBundle();
    const outputs = new Map<string, WindowedValue<unknown>[]>();
    const sinks: Record<string, (e: WindowedValue<unknown>) => void> = {};
    for (const sinkId of Object.keys(stage.plan.sinks)) {
      const buffer: WindowedValue<unknown>[] = [];
      outputs.set(sinkId, buffer);
      sinks[sinkId] = (e) => {
        buffer.push(e);
      };
    }
    const splits: Promise<BundleSplit | undefined>[] = [];
    const checkpoint = (): Promise<BundleSplit | undefined> => {
      const split = bundle.checkpoint();
      split.catch(() => undefined);
      splits.push(split);
      return split;
    };
    // A long bundle is checkpointed (and again each period, in case it had not started reading yet).
    const timer = setInterval(checkpoint, this.maxBundleDurationMs);
    this.inFlight = { bundle, checkpoint };
    if (this.cancelRequested) void this.checkpointUntilStopped();
    let result: Awaited<ReturnType<typeof bundle.run>>;
    try {
      result = await bundle.run({ inputs: { [SOURCE_ID]: taken.map((p) => p.element) }, outputs: sinks });
    } finally {
      clearInterval(timer);
      this.inFlight = undefined;
    }
    // Commit: everything below happens only for a bundle that succeeded.
    const settled = (await Promise.all(splits)).filter((s): s is BundleSplit => s !== undefined);
    let firstUnprocessed = taken.length;
    for (const split of settled) {
      for (const c of split.channelSplits)
        if (c.transformId === SOURCE_ID) firstUnprocessed = Math.min(firstUnprocessed, c.firstResidualElement);
      for (const r of split.residualRoots)
        stage.queue.push({ element: r.application.element, hold: holdOf(r.application) });
    }
    stage.queue.unshift(...taken.slice(firstUnprocessed));
    const now = Date.now();
    for (const r of result.residualRoots) {
      stage.delayed.push({
        element: r.application.element,
        hold: holdOf(r.application),
        readyAtMs: now + r.requestedDelayMs,
      });
    }
    for (const [sinkId, buffer] of outputs) {
      for (const target of stage.plan.sinks[sinkId]!) {
        if (target.kind === "gbk") this.addToGbk(this.gbks.get(target.gbkId)!, buffer);
        else
          this.stagesByRoot
            .get(target.rootPc)!
            .queue.push(...buffer.map((element) => ({ element, hold: element.timestamp })));
      }
    }
    stage.inFlightHold = undefined;
    this.mergeMetrics(stage, result.metrics);
    // The output is committed: now the bundle may be finalized (e.g. offsets committed to Kafka).
    if (result.requiresFinalization) await bundle.finalize();
    this.updateWatermarks();
    this.options.onBundleCommitted?.({
      stageId: stage.plan.id,
      bundleId: bundle.id,
      inputElements: Math.min(firstUnprocessed, taken.length),
      residuals: result.residualRoots.length + settled.reduce((n, s) => n + s.residualRoots.length, 0),
      watermarks: this.watermarks(),
    });
  }

  private addToGbk(gbk: Gbk, elements: readonly WindowedValue<unknown>[]): void {
    const step = this.steps[gbk.id]!;
    const counting = gbk.trigger.kind === "element-count" ? gbk.trigger.count : 0;
    const filled: [GbkWindow, GbkGroup][] = [];
    for (const element of elements) {
      const { key, value } = element.value as KV<unknown, unknown>;
      const keyId = structuralKey(key);
      for (const window of element.windows) {
        if (windowMaxTimestamp(window) < gbk.outputWatermark) {
          // Late: its window already fired (Beam drops data past the allowed lateness, which is 0 here).
          step.counters.droppedDueToLateness = (step.counters.droppedDueToLateness ?? 0) + 1;
          continue;
        }
        const wk = windowKey(window);
        let bucket = gbk.windows.get(wk);
        if (bucket === undefined) gbk.windows.set(wk, (bucket = { window, groups: new Map() }));
        let group = bucket.groups.get(keyId);
        if (group === undefined) bucket.groups.set(keyId, (group = { key, values: [], panes: 0 }));
        group.values.push(value);
        if (group.values.length === counting) filled.push([bucket, group]);
      }
      step.elementsIn++;
    }
    // An element-count trigger fires when the bundle that filled a pane is committed (the runner's granularity).
    for (const [bucket, group] of filled) this.emitPane(gbk, bucket, group, false);
  }

  /** Emits the group's pending values as its next pane; discarding: they are not emitted again. */
  private emitPane(gbk: Gbk, bucket: GbkWindow, group: GbkGroup, last: boolean): void {
    const timestamp = windowMaxTimestamp(bucket.window);
    const index = BigInt(group.panes++);
    const pane: PaneInfo =
      last && index === 0n
        ? ON_TIME_PANE
        : Object.freeze({
            isFirst: index === 0n,
            isLast: last,
            timing: last ? "ON_TIME" : "EARLY",
            index,
            onTimeIndex: last ? 0n : -1n,
          });
    const element: WindowedValue<unknown> = {
      value: { key: group.key, value: group.values },
      timestamp,
      windows: [bucket.window],
      pane,
    };
    group.values = [];
    this.steps[gbk.id]!.elementsOut++;
    gbk.consumer?.queue.push({ element, hold: timestamp });
  }

  private fireGbk(gbk: Gbk, inputWatermark: Instant): void {
    const ready = [...gbk.windows.entries()]
      .filter(([, b]) => windowMaxTimestamp(b.window) < inputWatermark)
      .sort(([, a], [, b]) => (windowMaxTimestamp(a.window) < windowMaxTimestamp(b.window) ? -1 : 1));
    for (const [wk, bucket] of ready) {
      gbk.windows.delete(wk);
      // The last pane: what is left (all of it under the default trigger); nothing if early panes took everything.
      for (const group of bucket.groups.values()) if (group.values.length > 0) this.emitPane(gbk, bucket, group, true);
    }
  }

  private inputWatermark(producers: readonly WatermarkNode[]): Instant {
    let wm = MAX_TIMESTAMP;
    for (const p of producers) {
      if (p.kind === "stage") wm = minInstant(wm, p.stage.outputWatermark);
      else if (p.kind === "gbk") wm = minInstant(wm, p.gbk.outputWatermark);
    }
    return wm;
  }

  private updateWatermarks(): void {
    for (const node of this.order) {
      if (node.kind === "gbk") {
        const gbk = node.gbk;
        const input = this.inputWatermark(gbk.producers);
        this.fireGbk(gbk, input);
        if (input > gbk.outputWatermark) gbk.outputWatermark = input;
      } else if (node.kind === "stage") {
        const stage = node.stage;
        let wm = this.inputWatermark(stage.producers);
        for (const p of stage.queue) wm = minInstant(wm, p.hold);
        for (const d of stage.delayed) wm = minInstant(wm, d.hold);
        if (stage.inFlightHold !== undefined) wm = minInstant(wm, stage.inFlightHold);
        if (wm > stage.outputWatermark) stage.outputWatermark = wm;
      }
    }
  }

  watermarks(): Record<string, Instant> {
    const out: Record<string, Instant> = {};
    for (const impulse of this.plan.impulses) out[impulse.outputPc] = MAX_TIMESTAMP;
    for (const gbk of this.gbks.values()) out[gbk.outputPc] = gbk.outputWatermark;
    for (const stage of this.stages) {
      for (const pc of stage.plan.producedPcs)
        out[pc] = out[pc] === undefined ? stage.outputWatermark : minInstant(out[pc]!, stage.outputWatermark);
    }
    return out;
  }

  private mergeMetrics(stage: Stage, metrics: BundleMetrics): void {
    for (const id of stage.plan.steps) {
      const m = metrics.transforms[id];
      const step = (this.steps[id] ??= { elementsIn: 0, elementsOut: 0, bundles: 0, counters: {} });
      step.bundles++;
      if (m === undefined) continue;
      step.elementsIn += m.elementsIn;
      step.elementsOut += m.elementsOut;
      for (const [name, value] of Object.entries(m.counters)) step.counters[name] = (step.counters[name] ?? 0) + value;
    }
  }

  private metricsSnapshot(): PipelineMetrics {
    const steps: Record<string, StepMetrics> = {};
    for (const [id, m] of Object.entries(this.steps)) steps[id] = { ...m, counters: { ...m.counters } };
    return { steps };
  }

  private async cancel(): Promise<PipelineState> {
    if (this.stateValue === "RUNNING") {
      this.cancelRequested = true;
      this.wake?.();
      // Checkpoint the bundle in flight so an unbounded read returns promptly; it still commits and finalizes.
      void this.checkpointUntilStopped();
    }
    await this.finished;
    return this.stateValue;
  }

  /** Asks the bundle in flight to checkpoint until one request takes (a bundle still in setup cannot split yet). */
  private async checkpointUntilStopped(): Promise<void> {
    const inFlight = this.inFlight;
    while (inFlight !== undefined && this.inFlight === inFlight) {
      if ((await inFlight.checkpoint().catch(() => undefined)) !== undefined) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private makeHandle(): LocalPipelineHandle {
    const execution = this;
    return {
      get state(): PipelineState {
        return execution.stateValue;
      },
      async waitUntilFinish(timeoutMs?: number): Promise<PipelineState> {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<"timeout">((resolve) => {
          if (timeoutMs !== undefined) timer = setTimeout(() => resolve("timeout"), timeoutMs);
        });
        try {
          const outcome = await Promise.race([execution.finished.then(() => "finished" as const), timedOut]);
          if (outcome === "timeout") return execution.stateValue;
        } finally {
          clearTimeout(timer);
        }
        if (execution.stateValue === "FAILED") throw execution.failure;
        return execution.stateValue;
      },
      cancel: () => execution.cancel(),
      metrics: () => execution.metricsSnapshot(),
      watermarks: () => execution.watermarks(),
    };
  }
}
