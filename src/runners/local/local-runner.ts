// The local runner: executes a pipeline in this process on the shared bundle processor. Stages run side by side,
// as a runner's workers do, each one bundle at a time (so a stage waiting on I/O does not hold up the others);
// outputs are committed (handed downstream) only when a bundle succeeded, and its finalization callbacks run
// right after that commit. A stage does not start a bundle while what it feeds is backed up (a downstream queue
// of a bundle's worth, or a few bundles' element-count panes its consumer has not taken yet): memory follows the
// bundles. Residuals of checkpoints wait out their delay; long bundles are checkpointed by
// the runner (a split at fraction 0) so unbounded sources cannot starve the rest of the pipeline.
//
// Watermarks: a stage's input watermark is that of its root PCollection (min over its producers); its output
// watermark is the min of that and every hold — queued elements (their timestamps), queued/delayed residuals
// (their output watermarks) and the bundle in flight. GroupByKey fires a window once its input watermark passes
// the window's max timestamp; under an element-count trigger it also fires a key's pane once the count is reached
// and its consumer stage is free to take it (so the panes grow while the consumer is busy, as a real runner's do).
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

/**
 * What an element-count GroupByKey may gather for a busy consumer before its producers wait: producer bundles, and
 * bytes (byte-array values counted by their length, others as APPROX_VALUE_BYTES). The panes (e.g. an exactly-once
 * sink's transactions) grow with the consumer's latency; memory stays bounded.
 */
const MAX_BACKLOG_BUNDLES = 16;
/** 32 MiB: exactly-once 1M x 1 KB ~15% faster than with 16 (fewer transactions), peak RSS ~375 MiB (bench/RESULTS.md). */
const MAX_BACKLOG_BYTES = 32 * 1024 * 1024;
const APPROX_VALUE_BYTES = 64;

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
  /** The bundle in flight, if any (one per stage). */
  inFlight: { readonly bundle: Bundle; readonly checkpoint: () => Promise<BundleSplit | undefined> } | undefined;
  outputWatermark: Instant;
}

interface Gbk {
  readonly id: string;
  readonly inputPc: string;
  readonly outputPc: string;
  producers: WatermarkNode[];
  consumer: Stage | undefined;
  readonly trigger: Trigger;
  readonly windows: Map<string, GbkWindow>;
  /** Groups whose element count was reached, waiting for the consumer to be free (element-count trigger). */
  readonly filled: [GbkWindow, GbkGroup][];
  /** Producer bundles committed into `filled` groups since the consumer last took them, and their values' bytes. */
  backlogBundles: number;
  backlogBytes: number;
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
  /** Listed in its Gbk's `filled`. */
  filled: boolean;
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
 * Runs a pipeline in this process: stages side by side, each one bundle at a time. A bundle's outputs are committed
 * only if it succeeds, then its finalization runs (e.g. Kafka offset commits). The first error fails the run (no
 * retries; bundles in flight finish first); unbounded reads run until cancel().
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
  /** Bundles in flight, by stage. */
  private readonly running = new Map<Stage, Promise<void>>();
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
        inFlight: undefined,
        outputWatermark: MIN_TIMESTAMP,
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
        filled: [],
        backlogBundles: 0,
        backlogBytes: 0,
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
        this.firePulledPanes();
        if (this.cancelRequested || this.failure !== undefined) break;
        for (const stage of this.readyStages()) this.startBundle(stage);
        if (this.running.size > 0) {
          await this.waitForBundleOrTime(this.earliestDelayed());
          // Bundles that never wait on I/O would otherwise starve timers and I/O callbacks (and cancel()).
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        const nextReady = this.earliestDelayed();
        if (nextReady === undefined) break;
        await this.waitForBundleOrTime(nextReady);
      }
    } catch (err) {
      this.failure ??= err;
    }
    await Promise.all(this.running.values()); // bundles in flight end (their errors are recorded, not thrown)
    if (this.failure !== undefined) this.stateValue = "FAILED";
    else this.stateValue = this.cancelRequested ? "CANCELLED" : "DONE";
    await this.teardown();
  }

  private startBundle(stage: Stage): void {
    const run = this.runBundle(stage)
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.running.delete(stage);
        this.wake?.();
      });
    this.running.set(stage, run);
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

  /** Stages that may start a bundle now: idle, with queued elements, and nothing they feed backed up. */
  private readyStages(): Stage[] {
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
    return this.stages.filter((stage) => stage.queue.length > 0 && !this.running.has(stage) && !this.backedUp(stage));
  }

  /**
   * Whether what the stage feeds is backed up: a downstream queue of a bundle's worth, or an element-count
   * GroupByKey holding its MAX_BACKLOG of panes its busy consumer has not taken yet. A GroupByKey that waits for its
   * window's end holds its input anyway and never backs up.
   */
  private backedUp(stage: Stage): boolean {
    for (const targets of Object.values(stage.plan.sinks)) {
      for (const target of targets) {
        if (target.kind === "gbk") {
          const gbk = this.gbks.get(target.gbkId)!;
          const full = gbk.backlogBundles >= MAX_BACKLOG_BUNDLES || gbk.backlogBytes >= MAX_BACKLOG_BYTES;
          if (gbk.filled.length > 0 && full) return true;
        } else if (this.stagesByRoot.get(target.rootPc)!.queue.length >= this.maxBundleSize) {
          return true;
        }
      }
    }
    return false;
  }

  private earliestDelayed(): number | undefined {
    let earliest: number | undefined;
    for (const stage of this.stages)
      for (const d of stage.delayed) if (earliest === undefined || d.readyAtMs < earliest) earliest = d.readyAtMs;
    return earliest;
  }

  /** Until a bundle ends, cancel() is called, or `atMs` (if given) comes. */
  private waitForBundleOrTime(atMs: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const timer = atMs === undefined ? undefined : setTimeout(() => done(), Math.max(0, atMs - Date.now()));
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
    });
  }

  private async runBundle(stage: Stage): Promise<void> {
    const taken = stage.queue.splice(0, this.maxBundleSize);
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
    stage.inFlight = { bundle, checkpoint };
    if (this.cancelRequested) void this.checkpointUntilStopped(stage);
    let result: Awaited<ReturnType<typeof bundle.run>>;
    try {
      result = await bundle.run({ inputs: { [SOURCE_ID]: taken.map((p) => p.element) }, outputs: sinks });
    } finally {
      clearInterval(timer);
      stage.inFlight = undefined;
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
    const counting =
      gbk.trigger.kind === "element-count" ? gbk.trigger.count : gbk.trigger.kind === "every-element" ? 1 : 0;
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
        if (group === undefined) bucket.groups.set(keyId, (group = { key, values: [], panes: 0, filled: false }));
        group.values.push(value);
        if (counting > 0) gbk.backlogBytes += value instanceof Uint8Array ? value.byteLength : APPROX_VALUE_BYTES;
        if (counting > 0 && group.values.length >= counting && !group.filled) {
          group.filled = true;
          gbk.filled.push([bucket, group]);
        }
      }
      step.elementsIn++;
    }
    if (gbk.filled.length > 0) gbk.backlogBundles++;
  }

  /**
   * Element-count panes: a filled group fires (with all it holds by then) once its consumer stage is free: idle
   * with nothing queued. While the consumer works, the panes grow.
   */
  private firePulledPanes(): void {
    for (const gbk of this.gbks.values()) {
      if (gbk.filled.length === 0) continue;
      const consumer = gbk.consumer;
      if (consumer !== undefined && (this.running.has(consumer) || consumer.queue.length > 0)) continue;
      for (const [bucket, group] of gbk.filled) {
        group.filled = false;
        if (group.values.length > 0) this.emitPane(gbk, bucket, group, false);
      }
      gbk.filled.length = 0;
      gbk.backlogBundles = 0;
      gbk.backlogBytes = 0;
    }
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
      // Its filled groups still waiting for a busy consumer go out as their early panes, before the last.
      if (gbk.filled.length > 0) {
        const others: [GbkWindow, GbkGroup][] = [];
        for (const entry of gbk.filled) {
          if (entry[0] !== bucket) {
            others.push(entry);
            continue;
          }
          entry[1].filled = false;
          this.emitPane(gbk, bucket, entry[1], false);
        }
        gbk.filled.length = 0;
        gbk.filled.push(...others);
        if (others.length === 0) gbk.backlogBundles = gbk.backlogBytes = 0;
      }
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
      // Checkpoint the bundles in flight so unbounded reads return promptly; they still commit and finalize.
      for (const stage of this.running.keys()) void this.checkpointUntilStopped(stage);
    }
    await this.finished;
    return this.stateValue;
  }

  /** Asks the stage's bundle in flight to checkpoint until one request takes (one in setup cannot split yet). */
  private async checkpointUntilStopped(stage: Stage): Promise<void> {
    const inFlight = stage.inFlight;
    while (inFlight !== undefined && stage.inFlight === inFlight) {
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
