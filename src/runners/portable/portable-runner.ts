// A TypeScript pipeline on a portable runner (Prism, a Flink or Spark job server): translated to a Runner API
// pipeline whose transforms all run in our worker, submitted through the Job API, followed to the end. The same
// handle as the local runner's: state, waitUntilFinish, cancel, metrics.
import { jsValueCoder, ByteReader } from "../../model/coders/index.js";
import { environmentProto, type EnvironmentConfig } from "../../model/environment.js";
import { monitoringInfoSpecs, type protobufWkt, type runnerApi } from "../../model/proto/index.js";
import { workerProcessEnvironment } from "../../harness/launcher.js";
import {
  pipelineToRunnerApi,
  type Pipeline,
  type PipelineHandle,
  type PipelineMetrics,
  type PipelineRunner,
  type PipelineState,
  type StepMetrics,
} from "../../pipeline/index.js";
import { JobServiceClient, TERMINAL_STATES, type JobMessage, type JobState } from "./job-service.js";
import { userDoFnShipping, type PipelineModule } from "./user-code.js";

/** Pipeline option values as the Job API carries them. */
export type PipelineOptionValue = string | number | boolean;

/** How PortableRunner submits pipelines: the job service, where workers run, how user code reaches them. */
export interface PortableRunnerOptions {
  /** host:port of the runner's JobService (Prism's --job_port, a Flink or Spark job server's --job-port). */
  readonly jobEndpoint: string;
  /**
   * Where the runner starts our workers. Default: a process environment, this installation's worker launcher run
   * by this Node on the runner's machine. `{ kind: "external", address }`: a worker pool (`serve`, the sidecar);
   * `{ kind: "docker", image }`: our image.
   */
  readonly environment?: EnvironmentConfig;
  /** The module whose export builds the pipeline, for the pipeline's own DoFns (see PipelineModule). */
  readonly pipelineModule?: PipelineModule;
  /**
   * Options for the runner, by Beam's snake_case names: `streaming`, `parallelism`, `checkpointing_interval`, ...
   * (unbounded pipelines on Flink need streaming; README, "On Flink and Spark").
   */
  readonly pipelineOptions?: Readonly<Record<string, PipelineOptionValue>>;
  /** Default "kafka-beam-ts". */
  readonly jobName?: string;
  /** How often metrics are fetched while the job runs (ms, default 2000). */
  readonly metricsIntervalMs?: number;
}

/** A run on a portable runner: the local runner's handle, plus the job's id and the runner's messages. */
export interface PortablePipelineHandle extends PipelineHandle {
  /** The runner's id of the job, once submitted. */
  readonly jobId: string | undefined;
  /** The runner's messages so far (warnings, and errors its workers reported). */
  readonly messages: readonly JobMessage[];
}

/** Runner errors: submission refused, the job failed, the connection to the job service broke. */
export class PortableRunnerError extends Error {
  override readonly name = "PortableRunnerError";
  readonly code = "PORTABLE_RUNNER";
  readonly retriable = false;
}

function toValue(value: PipelineOptionValue): protobufWkt.IValue {
  if (typeof value === "boolean") return { boolValue: value };
  if (typeof value === "number") return { numberValue: value };
  return { stringValue: value };
}

function optionsStruct(options: Readonly<Record<string, PipelineOptionValue>>, jobName: string): protobufWkt.IStruct {
  const fields: Record<string, protobufWkt.IValue> = {};
  for (const [name, value] of Object.entries({ job_name: jobName, ...options }))
    fields[`beam:option:${name}:v1`] = toValue(value);
  return { fields };
}

function toPipelineState(state: JobState): PipelineState | undefined {
  switch (state) {
    case "DONE":
    case "DRAINED":
      return "DONE";
    case "FAILED":
      return "FAILED";
    case "CANCELLED":
      return "CANCELLED";
    case "STOPPED":
    case "STARTING":
    case "RUNNING":
    case "CANCELLING":
    case "DRAINING":
    case "UPDATING":
      return "RUNNING";
    default:
      return undefined;
  }
}

function int64Of(info: runnerApi.IMonitoringInfo): number {
  if (!info.payload || info.payload.length === 0) return 0;
  return Number(new ByteReader(info.payload).readVarInt64());
}

/** Monitoring infos as the local runner's metrics: per transform, elements in and out and user counters. */
function stepMetrics(pipeline: Pipeline, infos: readonly runnerApi.IMonitoringInfo[]): PipelineMetrics {
  const elements = new Map<string, number>();
  const counters = new Map<string, Record<string, number>>();
  for (const info of infos) {
    const labels = info.labels ?? {};
    if (info.urn === monitoringInfoSpecs.ELEMENT_COUNT.urn && labels.PCOLLECTION) {
      elements.set(labels.PCOLLECTION, (elements.get(labels.PCOLLECTION) ?? 0) + int64Of(info));
    } else if (info.urn === monitoringInfoSpecs.USER_SUM_INT64.urn && labels.PTRANSFORM && labels.NAME) {
      const byName = counters.get(labels.PTRANSFORM) ?? {};
      byName[labels.NAME] = (byName[labels.NAME] ?? 0) + int64Of(info);
      counters.set(labels.PTRANSFORM, byName);
    }
  }
  const steps: Record<string, StepMetrics> = {};
  for (const node of Object.values(pipeline.graph.transforms)) {
    if (node.payload.kind === "composite") continue;
    const sum = (ids: readonly string[]) => ids.reduce((n, id) => n + (elements.get(id) ?? 0), 0);
    steps[node.id] = {
      elementsIn: sum(Object.values(node.inputs)),
      elementsOut: sum(Object.values(node.outputs)),
      bundles: 0, // runners do not report bundle counts through the Job API
      counters: counters.get(node.id) ?? {},
    };
  }
  return { steps };
}

class PortableHandle implements PortablePipelineHandle {
  state: PipelineState = "RUNNING";
  jobId: string | undefined;
  readonly messages: JobMessage[] = [];
  private latestMetrics: PipelineMetrics = { steps: {} };
  private failure: Error | undefined;
  private cancelRequested = false;
  private readonly settled: Promise<void>;
  private settle!: () => void;
  private metricsTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly client: JobServiceClient,
    private readonly options: PortableRunnerOptions,
  ) {
    this.settled = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  async submit(): Promise<void> {
    try {
      const shipDoFn = await userDoFnShipping(this.pipeline, this.options.pipelineModule);
      const proto = pipelineToRunnerApi(this.pipeline, {
        environment: environmentProto(this.options.environment ?? workerProcessEnvironment()),
        defaultCoder: jsValueCoder,
        shipDoFn,
      });
      const jobName = this.options.jobName ?? "kafka-beam-ts";
      const prepared = await this.client.prepare(
        proto,
        optionsStruct(this.options.pipelineOptions ?? {}, jobName),
        jobName,
      );
      await this.client.stageArtifacts(prepared);
      const jobId = await this.client.run(prepared);
      this.jobId = jobId;
      this.client.followMessages(jobId, (message) => this.messages.push(message));
      this.client.followState(
        jobId,
        (state) => this.onState(state),
        (err) =>
          this.finish(
            "FAILED",
            new PortableRunnerError(`the job service's state stream broke: ${err.message}`, { cause: err }),
          ),
      );
      this.metricsTimer = setInterval(() => void this.refreshMetrics(), this.options.metricsIntervalMs ?? 2000);
      this.metricsTimer.unref();
      if (this.cancelRequested) await this.client.cancel(jobId).catch(() => undefined);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.finish(
        "FAILED",
        error.name === "PipelineTranslationError"
          ? error
          : new PortableRunnerError(`submitting to ${this.options.jobEndpoint} failed: ${error.message}`, {
              cause: error,
            }),
      );
    }
  }

  private onState(state: JobState): void {
    const mapped = toPipelineState(state);
    if (mapped === undefined || !TERMINAL_STATES.has(state)) return;
    if (mapped === "FAILED") {
      // The runner's message stream and state stream race: the error messages may come just after FAILED.
      void this.errorMessages(2_000).then((errors) =>
        this.finish(
          "FAILED",
          new PortableRunnerError(
            `the job failed${errors.length ? `: ${errors.join("\n")}` : " (the runner gave no message)"}`,
          ),
        ),
      );
    } else {
      this.finish(mapped);
    }
  }

  /** The job's error messages, waiting up to `waitMs` for the first to arrive. */
  private async errorMessages(waitMs: number): Promise<string[]> {
    const errors = () => this.messages.filter((m) => m.importance === "JOB_MESSAGE_ERROR").map((m) => m.text);
    for (const deadline = Date.now() + waitMs; errors().length === 0 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    return errors();
  }

  private async refreshMetrics(): Promise<void> {
    if (!this.jobId) return;
    try {
      this.latestMetrics = stepMetrics(this.pipeline, await this.client.metrics(this.jobId));
    } catch {
      // Metrics are best effort: some runners drop them once a job is gone.
    }
  }

  private finish(state: PipelineState, failure?: Error): void {
    if (this.state !== "RUNNING") return;
    clearInterval(this.metricsTimer);
    void this.refreshMetrics().finally(() => {
      this.failure = failure;
      this.state = state;
      this.client.close();
      this.settle();
    });
  }

  async waitUntilFinish(timeoutMs?: number): Promise<PipelineState> {
    if (timeoutMs === undefined) await this.settled;
    else {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.settled, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    }
    if (this.state === "FAILED") throw this.failure ?? new PortableRunnerError("the job failed");
    return this.state;
  }

  async cancel(): Promise<PipelineState> {
    this.cancelRequested = true;
    if (this.jobId && this.state === "RUNNING") await this.client.cancel(this.jobId).catch(() => undefined);
    await this.settled;
    // Runners report a cancelled job as cancelled, or (Prism) as failed: either way the user asked for it.
    if (this.state === "FAILED") this.state = "CANCELLED";
    return this.state;
  }

  metrics(): PipelineMetrics {
    return this.latestMetrics;
  }
}

/**
 * Runs pipelines on a portable runner through Beam's Job API: `pipeline.run(new PortableRunner({ jobEndpoint }))`.
 * Every transform runs in our worker (started by the runner: see `environment`); the pipeline's own DoFns are
 * rebuilt there from `pipelineModule`. Submission happens in the background: a refused pipeline (a DoFn that cannot
 * be shipped, a job service that says no) surfaces as the rejection of waitUntilFinish.
 */
export class PortableRunner implements PipelineRunner<PortablePipelineHandle> {
  constructor(readonly options: PortableRunnerOptions) {}

  run(pipeline: Pipeline): PortablePipelineHandle {
    const handle = new PortableHandle(pipeline, new JobServiceClient(this.options.jobEndpoint), this.options);
    void handle.submit();
    return handle;
  }
}
