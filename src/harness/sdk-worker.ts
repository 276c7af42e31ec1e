// One Fn API SDK worker: the control stream and what it asks for. Bundles run on the shared bundle processor
// (src/runners/bundle), the same code the local runner uses; several bundles run at once, each on its own
// processor instance (reused after success, dropped after a failure).
import type * as grpc from "@grpc/grpc-js";
import { type fnApi, fromBigInt, runnerApi, toBigInt } from "../model/proto/index.js";
import { encodeToBytes, type Coder } from "../model/coders/index.js";
import type { WindowedValue } from "../model/windowing.js";
import {
  BundleProcessor,
  type Bundle,
  type BundleApplication,
  type BundleSplit,
  type DelayedBundleApplication,
  type DesiredSplit,
} from "../runners/bundle/index.js";
import { translateDescriptor, type TranslatedDescriptor } from "./bundle-descriptor.js";
import { DataChannels } from "./data-channel.js";
import type { DoFnRegistry } from "./dofn-registry.js";
import { beamClient, unary, workerMetadata, type GenericClient } from "./grpc.js";
import { metricSamples, monitoringInfos, ShortIds } from "./monitoring.js";
import type { WorkerLogger } from "./logging.js";
import { durationProto, timestampProto } from "./time.js";

/**
 * One worker's settings: its id (sent as `worker_id` metadata on every Fn API call), the runner's BeamFnControl
 * endpoint, the DoFns it may run, and its logger, which the worker closes when it stops.
 */
export interface SdkWorkerOptions {
  readonly id: string;
  readonly controlUrl: string;
  readonly dofns: DoFnRegistry;
  readonly logger: WorkerLogger;
  /** Bundles waiting for FinalizeBundle are dropped after this long (default 10 min). */
  readonly finalizationTimeoutMs?: number;
  /**
   * Called with each new ProcessBundleDescriptor before its DoFns are built: loads what their factories need
   * (the portable runner's user modules). A rejection fails the descriptor's bundles with its message.
   */
  readonly prepareDescriptor?: (descriptor: fnApi.IProcessBundleDescriptor) => Promise<void>;
}

/** Hooks for metrics, called synchronously once per finished bundle, successful or not: keep them cheap. */
export interface WorkerEvents {
  /** After each bundle: element counts per PCollection and the DoFns' counters summed over transforms. */
  onBundle?(
    outcome: "ok" | "error",
    elementsByPCollection: Readonly<Record<string, number>>,
    counters?: Readonly<Record<string, number>>,
  ): void;
}

interface ActiveBundle {
  readonly bundle: Bundle;
  readonly descriptor: TranslatedDescriptor;
}

/** A bundle processor with the translation it runs: its own DoFn instances. */
interface PooledProcessor {
  readonly processor: BundleProcessor;
  readonly translated: TranslatedDescriptor;
}

interface Descriptor {
  readonly proto: fnApi.IProcessBundleDescriptor;
  /** Processors not running a bundle now. */
  readonly idle: PooledProcessor[];
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
}

/**
 * One Fn API SDK worker: connects to the runner's BeamFnControl endpoint and answers its instructions (register,
 * process bundle, progress, split, finalize, monitoring), running bundles concurrently, each on its own DoFn
 * instances. `run()` resolves when the control stream ends or after `stop()`, once everything is torn down.
 */
export class SdkWorker {
  private readonly client: GenericClient;
  private readonly metadata: grpc.Metadata;
  private readonly data: DataChannels;
  private readonly shortIds = new ShortIds();
  private readonly descriptors = new Map<string, Promise<Descriptor>>();
  private readonly registered = new Map<string, fnApi.IProcessBundleDescriptor>();
  private readonly active = new Map<string, ActiveBundle>();
  private readonly awaitingFinalization = new Map<
    string,
    { bundle: Bundle; sequence: number; timer: NodeJS.Timeout }
  >();
  /** Bundles that succeeded so far: their order, for latest-wins finalization callbacks (Kafka offset commits). */
  private succeededBundles = 0;
  private readonly latestFinalized = new Map<string, number>();
  private stream: grpc.ClientDuplexStream<fnApi.IInstructionResponse, fnApi.InstructionRequest> | undefined;
  private stopping = false;
  private deferDelayMs: number | undefined;
  private lastWork = Date.now();

  constructor(
    private readonly options: SdkWorkerOptions,
    private readonly events: WorkerEvents = {},
  ) {
    this.client = beamClient("org.apache.beam.model.fn_execution.v1.BeamFnControl", options.controlUrl);
    this.metadata = workerMetadata(options.id);
    this.data = new DataChannels(options.id);
  }

  get activeBundles(): number {
    return this.active.size;
  }

  /** When a bundle last finished that did more than hand deferred restrictions back (ms since epoch). */
  get lastWorkAt(): number {
    return this.lastWork;
  }

  /**
   * Starts draining: splittable DoFns (the Kafka reads) start no new restriction and hand each one back to the runner
   * whole, to resume after `resumeDelayMs` (on another worker); every other transform keeps processing, so records
   * read before the drain still flow through the rest of the pipeline. Bundle finalizations are dropped from now on.
   */
  drain(resumeDelayMs: number): void {
    this.deferDelayMs = resumeDelayMs;
  }

  /** Serves the control stream until the runner closes it (or stop()); then cleans up. */
  async run(): Promise<void> {
    const stream = (
      this.client.Control as (
        m: grpc.Metadata,
      ) => grpc.ClientDuplexStream<fnApi.IInstructionResponse, fnApi.InstructionRequest>
    ).call(this.client, this.metadata);
    this.stream = stream;
    this.options.logger.log("info", `worker ${this.options.id} connected to ${this.options.controlUrl}`);
    await new Promise<void>((resolve) => {
      stream.on("data", (request: fnApi.InstructionRequest) => void this.handle(request));
      stream.on("error", (err: Error) => {
        if (!this.stopping) this.options.logger.log("warn", `control stream failed: ${err.message}`);
        resolve();
      });
      stream.on("end", () => resolve());
    });
    await this.cleanup();
  }

  /** Ends the worker: closes the control stream; run() then resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stream?.end();
    this.stream?.cancel();
  }

  private respond(response: fnApi.IInstructionResponse): void {
    this.stream?.write(response);
  }

  private async handle(request: fnApi.InstructionRequest): Promise<void> {
    const instructionId = request.instructionId;
    try {
      const response = await this.dispatch(request);
      this.respond({ instructionId, ...response });
    } catch (err) {
      this.options.logger.log(
        "error",
        `instruction ${instructionId} (${request.request ?? "unknown"}) failed`,
        { instructionId },
        err,
      );
      this.respond({ instructionId, error: errorText(err) });
    }
  }

  private async dispatch(request: fnApi.InstructionRequest): Promise<fnApi.IInstructionResponse> {
    switch (request.request) {
      case "register":
        for (const d of request.register?.processBundleDescriptor ?? []) this.registered.set(d.id ?? "", d);
        return { register: {} };
      case "processBundle":
        return { processBundle: await this.processBundle(request.instructionId, request.processBundle!) };
      case "processBundleProgress":
        return { processBundleProgress: this.progress(request.processBundleProgress!.instructionId ?? "") };
      case "processBundleSplit":
        return { processBundleSplit: await this.split(request.processBundleSplit!) };
      case "finalizeBundle":
        return { finalizeBundle: await this.finalize(request.finalizeBundle!.instructionId ?? "") };
      case "monitoringInfos":
        return {
          monitoringInfos: { monitoringInfo: this.shortIds.describe(request.monitoringInfos!.monitoringInfoId ?? []) },
        };
      case "harnessMonitoringInfos":
        return { harnessMonitoringInfos: { monitoringData: {} } };
      default:
        throw new Error(`unsupported instruction ${String(request.request)}`);
    }
  }

  private descriptor(id: string): Promise<Descriptor> {
    let found = this.descriptors.get(id);
    if (!found) {
      found = (async () => {
        const pbd =
          this.registered.get(id) ??
          (await unary<fnApi.IGetProcessBundleDescriptorRequest, fnApi.ProcessBundleDescriptor>(
            this.client,
            "GetProcessBundleDescriptor",
            { processBundleDescriptorId: id },
            this.metadata,
          ));
        // A descriptor that cannot be translated fails here, once (and is asked for again next time).
        await this.options.prepareDescriptor?.(pbd);
        return { proto: pbd, idle: [this.newProcessor(translateDescriptor(pbd, this.options.dofns))] };
      })();
      found.catch(() => this.descriptors.delete(id));
      this.descriptors.set(id, found);
    }
    return found;
  }

  private newProcessor(translated: TranslatedDescriptor): PooledProcessor {
    const processor = new BundleProcessor(translated.graph, {
      boundarySplitsBeforeSdf: false,
      deferSplittableWork: () => this.deferDelayMs,
    });
    return { processor, translated };
  }

  private async processBundle(
    instructionId: string,
    request: fnApi.IProcessBundleRequest,
  ): Promise<fnApi.IProcessBundleResponse> {
    try {
      return await this.runBundle(instructionId, request);
    } finally {
      // Also when the descriptor fails before the bundle starts: the runner sent its input all the same, and input
      // left in the data channel counts against its buffer until the channel pauses every bundle.
      this.data.release(instructionId);
    }
  }

  private async runBundle(
    instructionId: string,
    request: fnApi.IProcessBundleRequest,
  ): Promise<fnApi.IProcessBundleResponse> {
    const descriptor = await this.descriptor(request.processBundleDescriptorId ?? "");
    // Runners run bundles of one descriptor concurrently. A DoFn instance processes one bundle at a time (Beam's
    // contract: DoFns keep per-bundle state in fields), so each concurrent bundle gets a processor of its own,
    // translated afresh; finished ones are reused.
    const pooled =
      descriptor.idle.pop() ?? this.newProcessor(translateDescriptor(descriptor.proto, this.options.dofns));
    const { processor, translated } = pooled;
    const bundle = processor.newBundle(instructionId);
    this.active.set(instructionId, { bundle, descriptor: translated });
    const outputs = new Map(
      [...translated.sinks].map(([id, port]) => [id, this.data.get(port.url).output(instructionId, id, port.coder)]),
    );
    try {
      const inputs = Object.fromEntries(
        [...translated.sources].map(([id, port]) => [
          id,
          this.data.get(port.url).receiveElements(instructionId, id, port.coder),
        ]),
      );
      const result = await bundle.run({
        inputs,
        outputs: Object.fromEntries([...outputs].map(([id, out]) => [id, (e: WindowedValue<unknown>) => out.send(e)])),
      });
      await Promise.all([...outputs.values()].map((out) => out.close()));
      descriptor.idle.push(pooled);
      if (result.inputElements > result.deferredRestrictions) this.lastWork = Date.now();
      const sequence = ++this.succeededBundles;
      if (result.requiresFinalization) this.awaitFinalization(instructionId, bundle, sequence);
      const samples = metricSamples(result.metrics);
      const counters: Record<string, number> = {};
      for (const m of Object.values(result.metrics.transforms)) {
        for (const [name, value] of Object.entries(m.counters)) counters[name] = (counters[name] ?? 0) + value;
      }
      this.events.onBundle?.(
        "ok",
        Object.fromEntries(Object.entries(result.metrics.pcollections).map(([pc, m]) => [pc, m.elements])),
        counters,
      );
      return {
        residualRoots: result.residualRoots.map((r) => this.delayedApplication(translated, r)),
        requiresFinalization: result.requiresFinalization,
        monitoringInfos: monitoringInfos(samples),
        monitoringData: this.shortIds.monitoringData(samples),
      };
    } catch (err) {
      for (const out of outputs.values()) out.discard();
      this.events.onBundle?.("error", {});
      void processor.teardown().catch(() => undefined);
      throw err;
    } finally {
      this.active.delete(instructionId);
    }
  }

  private progress(instructionId: string): fnApi.IProcessBundleProgressResponse {
    const active = this.active.get(instructionId);
    if (!active) return {};
    const progress = active.bundle.progress();
    const samples = metricSamples(progress.metrics, progress);
    return { monitoringInfos: monitoringInfos(samples), monitoringData: this.shortIds.monitoringData(samples) };
  }

  private async split(request: fnApi.IProcessBundleSplitRequest): Promise<fnApi.IProcessBundleSplitResponse> {
    const active = this.active.get(request.instructionId ?? "");
    if (!active) return {};
    const desired: Record<string, DesiredSplit> = {};
    for (const [transformId, want] of Object.entries(request.desiredSplits ?? {})) {
      desired[transformId] = {
        fractionOfRemainder: want.fractionOfRemainder ?? 0,
        estimatedInputElements: Number(toBigInt(want.estimatedInputElements)),
        allowedSplitPoints: (want.allowedSplitPoints ?? []).map((p) => Number(toBigInt(p))),
      };
    }
    const split: BundleSplit | undefined = await active.bundle.trySplit(desired);
    if (!split) return {};
    return {
      primaryRoots: split.primaryRoots.map((a) => this.application(active.descriptor, a)),
      residualRoots: split.residualRoots.map((r) => this.delayedApplication(active.descriptor, r)),
      channelSplits: split.channelSplits.map((c) => ({
        transformId: c.transformId,
        lastPrimaryElement: fromBigInt(BigInt(c.lastPrimaryElement)),
        firstResidualElement: fromBigInt(BigInt(c.firstResidualElement)),
      })),
    };
  }

  private awaitFinalization(instructionId: string, bundle: Bundle, sequence: number): void {
    const timer = setTimeout(() => {
      this.awaitingFinalization.delete(instructionId);
      bundle.discard();
    }, this.options.finalizationTimeoutMs ?? 600_000);
    timer.unref();
    this.awaitingFinalization.set(instructionId, { bundle, sequence, timer });
  }

  private async finalize(instructionId: string): Promise<fnApi.IFinalizeBundleResponse> {
    const waiting = this.awaitingFinalization.get(instructionId);
    // Runners finalize every bundle of a stage that requests finalization, also those that registered nothing.
    if (!waiting) return {};
    this.awaitingFinalization.delete(instructionId);
    clearTimeout(waiting.timer);
    if (this.deferDelayMs !== undefined) {
      // Draining: the service stops soon, and this bundle's records may still be on their way to their sinks through
      // a runner that does not outlive it. Finalization is best-effort in Beam: dropping it leaves the Kafka offsets
      // uncommitted (the records are read again after a restart) rather than committing records that could be lost.
      waiting.bundle.discard();
      this.options.logger.log(
        "info",
        `worker ${this.options.id} draining: finalization of ${instructionId} dropped (its offsets stay uncommitted)`,
      );
      return {};
    }
    // Runners finalize bundles in any order (Prism: concurrently); a partition's older offset must not be committed
    // after a newer one.
    await waiting.bundle.finalize({ sequence: waiting.sequence, latestRun: this.latestFinalized });
    return {};
  }

  private application(descriptor: TranslatedDescriptor, application: BundleApplication): fnApi.IBundleApplication {
    const coder = descriptor.applicationCoders.get(application.transformId) as
      | Coder<WindowedValue<unknown>>
      | undefined;
    if (!coder) throw new Error(`no coder for the roots of transform ${application.transformId}`);
    return {
      transformId: application.transformId,
      inputId: application.inputId,
      element: encodeToBytes(coder, application.element as WindowedValue<unknown>, "nested"),
      outputWatermarks: Object.fromEntries(
        Object.entries(application.outputWatermarks).map(([name, wm]) => [name, timestampProto(wm)]),
      ),
      isBounded:
        application.isBounded === "bounded" ? runnerApi.IsBounded.Enum.BOUNDED : runnerApi.IsBounded.Enum.UNBOUNDED,
    };
  }

  private delayedApplication(
    descriptor: TranslatedDescriptor,
    residual: DelayedBundleApplication,
  ): fnApi.IDelayedBundleApplication {
    return {
      application: this.application(descriptor, residual.application),
      requestedTimeDelay: durationProto(residual.requestedDelayMs),
    };
  }

  private async cleanup(): Promise<void> {
    for (const { bundle, timer } of this.awaitingFinalization.values()) {
      clearTimeout(timer);
      bundle.discard();
    }
    this.awaitingFinalization.clear();
    for (const pending of this.descriptors.values()) {
      const descriptor = await pending.catch(() => undefined);
      for (const { processor } of descriptor?.idle ?? []) await processor.teardown().catch(() => undefined);
    }
    this.data.shutdown();
    this.client.close();
    this.options.logger.log("info", `worker ${this.options.id} stopped`);
    await this.options.logger.close();
  }
}
