// Public face of the portable runner: TypeScript pipelines on Prism, Flink or Spark job servers through Beam's Job
// API, with our worker as the environment and the pipeline's own DoFns shipped by module.
export { PortableRunner, PortableRunnerError } from "./portable-runner.js";
export type { PortableRunnerOptions, PortablePipelineHandle, PipelineOptionValue } from "./portable-runner.js";
export { portableRunnerOptionsFromArgs } from "./options.js";
export { JobServiceClient, jobStateName, TERMINAL_STATES } from "./job-service.js";
export type { JobState, JobMessage, PreparedJob } from "./job-service.js";
export { USER_DOFN_FN, userDoFnShipping, loadUserModules, userDoFnFactories, isMainModule } from "./user-code.js";
export type { PipelineBuilder, PipelineModule } from "./user-code.js";
