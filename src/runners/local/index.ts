// Public face of the local runner.
export { LocalRunner } from "./local-runner.js";
export type { LocalRunnerOptions, LocalPipelineHandle, BundleCommittedEvent } from "./local-runner.js";
export { planExecution } from "./stages.js";
export type { ExecutionPlan, StagePlan, SinkTarget } from "./stages.js";
