// Public face of the Fn API SDK harness.
export { SdkWorker } from "./sdk-worker.js";
export type { SdkWorkerOptions, WorkerEvents } from "./sdk-worker.js";
export { WorkerPool, addWorkerPoolService } from "./worker-pool.js";
export { parseWorkerFlags, resolveEndpoints, BootError } from "./boot.js";
export { pipelineOptionAdvice, logPipelineOptionAdvice } from "./option-advice.js";
export type { WorkerFlags, WorkerEndpoints } from "./boot.js";
export { RunnerLogger, stderrLogger } from "./logging.js";
export { workerLauncherPath, workerProcessEnvironment } from "./launcher.js";
export type { WorkerLogger, LogLevel } from "./logging.js";
export { translateDescriptor, DescriptorError } from "./bundle-descriptor.js";
export type { TranslatedDescriptor, DataPort } from "./bundle-descriptor.js";
export type { DoFnRegistry, DoFnFactory } from "./dofn-registry.js";
