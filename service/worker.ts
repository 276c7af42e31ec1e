// `worker`: the process-environment entry a runner executes (through bin/kafka-beam-ts-worker, with `--id='...'`
// and `--provision_endpoint=...`). Serves the control stream until the runner closes it or SIGTERM/SIGINT.
import {
  logPipelineOptionAdvice,
  parseWorkerFlags,
  resolveEndpoints,
  RunnerLogger,
  SdkWorker,
  stderrLogger,
} from "../src/harness/index.js";
import { closeAllClients } from "../src/kafka/index.js";
import { prepareWorkerDescriptor, workerDoFns } from "./worker-code.js";

/** Throws BootError (a usage mistake: exit 2) when the runner's flags are incomplete. */
export async function runWorker(args: readonly string[]): Promise<void> {
  const flags = parseWorkerFlags(args);
  const endpoints = await resolveEndpoints(flags);
  const logger = endpoints.loggingUrl
    ? new RunnerLogger(endpoints.loggingUrl, endpoints.id)
    : stderrLogger(endpoints.id);
  logPipelineOptionAdvice(endpoints.pipelineOptions, logger);
  const worker = new SdkWorker({
    id: endpoints.id,
    controlUrl: endpoints.controlUrl,
    dofns: workerDoFns,
    prepareDescriptor: prepareWorkerDescriptor,
    logger,
  });
  const stop = () => void worker.stop();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  try {
    await worker.run();
  } finally {
    process.off("SIGTERM", stop);
    process.off("SIGINT", stop);
    await closeAllClients().catch((err: unknown) => logger.log("warn", "closing Kafka clients failed", {}, err));
    await logger.close();
  }
}
