// The Prism runner (built by scripts/setup-xlang.sh; KBT_PRISM) on free loopback ports.
import { freePort, waitForPort } from "./ports.js";
import { startManaged, type Managed } from "./processes.js";

export interface Prism {
  /** host:port of its JobService, for --job_endpoint */
  readonly jobEndpoint: string;
  /** Its process id: workers of a process environment are its children. */
  readonly pid: number;
  output(): string;
  stop(): Promise<void>;
}

export async function startPrism(): Promise<Prism> {
  const binary = process.env.KBT_PRISM;
  if (!binary) throw new Error("KBT_PRISM is not set: run through test/runner.ts (xlang) or scripts/setup-xlang.sh");
  const jobPort = await freePort();
  const managed: Managed = startManaged(binary, [
    `--job_port=${jobPort}`,
    "--serve_http=false",
    `--log_level=${process.env.KBT_PRISM_LOG_LEVEL ?? "warn"}`,
  ]);
  try {
    await waitForPort("127.0.0.1", jobPort, 30_000);
  } catch (err) {
    await managed.stop();
    throw new Error(`prism did not start: ${String(err)}\n${managed.output()}`);
  }
  return { jobEndpoint: `localhost:${jobPort}`, pid: managed.child.pid!, output: managed.output, stop: managed.stop };
}
