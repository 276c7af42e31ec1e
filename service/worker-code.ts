// What our workers run, wherever they are started (the process environment's `worker`, serve's worker pool): the
// Kafka transforms' DoFns, and a TypeScript pipeline's own DoFns shipped by the portable runner (their modules are
// loaded before a descriptor's DoFns are built).
import type { DoFnRegistry } from "../src/harness/index.js";
import { kafkaDoFnFactories } from "../src/kafka/index.js";
import { loadUserModules, userDoFnFactories } from "../src/runners/portable/index.js";

export const workerDoFns: DoFnRegistry = Object.freeze({ ...kafkaDoFnFactories, ...userDoFnFactories });

export const prepareWorkerDescriptor = loadUserModules;
