// BeamFnExternalWorkerPool: runners with an external environment ask us to start workers (many in one process,
// the sidecar case) and stop them.
import type * as grpc from "@grpc/grpc-js";
import { grpcServiceDefinition, type fnApi } from "../model/proto/index.js";
import type { DoFnRegistry } from "./dofn-registry.js";
import { fetchProvisionInfo } from "./boot.js";
import { RunnerLogger, stderrLogger } from "./logging.js";
import { logPipelineOptionAdvice } from "./option-advice.js";
import { SdkWorker, type SdkWorkerOptions, type WorkerEvents } from "./sdk-worker.js";

/**
 * SDK workers that runners start and stop in this process through BeamFnExternalWorkerPool (the external
 * environment), each an SdkWorker over `dofns`. `start` and `stop` return an error message rather than throwing;
 * call `stopAll` on shutdown.
 */
export class WorkerPool {
  private readonly workers = new Map<string, { worker: SdkWorker; done: Promise<void> }>();

  constructor(
    private readonly dofns: DoFnRegistry,
    private readonly events: WorkerEvents = {},
    private readonly prepareDescriptor?: SdkWorkerOptions["prepareDescriptor"],
  ) {}

  get size(): number {
    return this.workers.size;
  }

  get activeBundles(): number {
    let n = 0;
    for (const { worker } of this.workers.values()) n += worker.activeBundles;
    return n;
  }

  /** When a worker last finished a bundle that did real work (ms since epoch; 0 without workers). */
  get lastWorkAt(): number {
    let last = 0;
    for (const { worker } of this.workers.values()) last = Math.max(last, worker.lastWorkAt);
    return last;
  }

  /** Every worker stops starting reads (see SdkWorker.drain) and keeps processing the rest. */
  drain(resumeDelayMs: number): void {
    for (const { worker } of this.workers.values()) worker.drain(resumeDelayMs);
  }

  start(request: fnApi.IStartWorkerRequest): string | undefined {
    const id = request.workerId ?? "";
    const controlUrl = request.controlEndpoint?.url ?? "";
    if (!id) return "StartWorker: worker_id is required";
    if (!controlUrl) return "StartWorker: control_endpoint is required";
    if (this.workers.has(id)) return `StartWorker: worker ${id} is already running`;
    const loggingUrl = request.loggingEndpoint?.url;
    const logger = loggingUrl ? new RunnerLogger(loggingUrl, id) : stderrLogger(id);
    const worker = new SdkWorker(
      {
        id,
        controlUrl,
        dofns: this.dofns,
        logger,
        ...(this.prepareDescriptor ? { prepareDescriptor: this.prepareDescriptor } : {}),
      },
      this.events,
    );
    const provisionUrl = request.provisionEndpoint?.url;
    if (provisionUrl) {
      // Best effort: the options only feed advice; the worker needs nothing from provisioning here.
      fetchProvisionInfo(provisionUrl, id).then(
        (info) => logPipelineOptionAdvice(info?.pipelineOptions, logger),
        () => undefined,
      );
    }
    const done = worker.run().finally(() => this.workers.delete(id));
    this.workers.set(id, { worker, done });
    return undefined;
  }

  async stop(id: string): Promise<string | undefined> {
    const entry = this.workers.get(id);
    if (!entry) return undefined;
    await entry.worker.stop();
    await entry.done;
    return undefined;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.workers.keys()].map((id) => this.stop(id)));
  }
}

/**
 * Registers Beam's BeamFnExternalWorkerPool service on `server`, backed by `pool`. StartWorker and StopWorker report
 * failures in the response's `error` field, never as a gRPC error status.
 */
export function addWorkerPoolService(server: grpc.Server, pool: WorkerPool): void {
  server.addService(grpcServiceDefinition("org.apache.beam.model.fn_execution.v1.BeamFnExternalWorkerPool"), {
    StartWorker(
      call: grpc.ServerUnaryCall<fnApi.StartWorkerRequest, fnApi.IStartWorkerResponse>,
      callback: grpc.sendUnaryData<fnApi.IStartWorkerResponse>,
    ) {
      const error = pool.start(call.request);
      callback(null, error ? { error } : {});
    },
    StopWorker(
      call: grpc.ServerUnaryCall<fnApi.StopWorkerRequest, fnApi.IStopWorkerResponse>,
      callback: grpc.sendUnaryData<fnApi.IStopWorkerResponse>,
    ) {
      pool.stop(call.request.workerId ?? "").then(
        (error) => callback(null, error ? { error } : {}),
        (err: unknown) => callback(null, { error: String(err) }),
      );
    },
  });
}
