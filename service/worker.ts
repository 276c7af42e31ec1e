// `worker`: the process-environment entry a runner executes (through bin/kafka-beam-ts-worker).
import { parseWorkerFlags, resolveEndpoints, RunnerLogger, SdkWorker, stderrLogger } from "../src/harness/index.js";
import { kafkaDoFnFactories } from "../src/kafka/index.js";

export async function runWorker(args: readonly string[]): Promise<void> {
  const flags = parseWorkerFlags(args);
  const endpoints = await resolveEndpoints(flags);
  const logger = endpoints.loggingUrl ? new RunnerLogger(endpoints.loggingUrl, endpoints.id) : stderrLogger(endpoints.id);
  const worker = new SdkWorker({ id: endpoints.id, controlUrl: endpoints.controlUrl, dofns: kafkaDoFnFactories, logger });
  const stop = () => void worker.stop();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  await worker.run();
}
