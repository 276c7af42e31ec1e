// Our service (`kafka-beam-ts serve`) as a child process on free ports, the way users run it.
import { resolve } from "node:path";
import { repoRoot } from "./paths.js";
import { startManaged } from "./processes.js";

export interface RunningCli {
  readonly expansionAddress: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startServe(extraArgs: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<RunningCli> {
  const cli = resolve(repoRoot(), "dist/service/cli.js");
  const managed = startManaged(
    process.execPath,
    [cli, "serve", "--expansion-port", "0", "--worker-pool-port", "0", "--http-port", "0", ...extraArgs],
    env,
  );
  const deadline = Date.now() + 20_000;
  for (;;) {
    const match = /"msg":"expansion service listening","address":"([^"]+)"/.exec(managed.output());
    if (match) return { expansionAddress: match[1]!, output: managed.output, stop: managed.stop };
    if (managed.child.exitCode !== null || Date.now() > deadline) {
      await managed.stop();
      throw new Error(`serve did not start:\n${managed.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
