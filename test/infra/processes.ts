// Long-running helper processes for tests (Prism, our service): started on free ports, stopped for sure.
import { spawn, type ChildProcess } from "node:child_process";

export interface Managed {
  readonly child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr, capped), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

const OUTPUT_CAP = 200_000;

export function startManaged(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Managed {
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > OUTPUT_CAP) output = output.slice(-OUTPUT_CAP / 2);
    if (process.env.KBT_VERBOSE) process.stderr.write(chunk);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  // A test process that dies without stopping it (an exception, a killed runner file) takes the group along.
  const killOnExit = () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      /* already gone */
    }
  };
  process.once("exit", killOnExit);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      process.off("exit", killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      // The whole process group: Prism's workers are its children.
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          /* gone */
        }
      }, 5_000);
      await exited;
      clearTimeout(timer);
    })();
    return stopped;
  };
  return { child, output: () => output, stop };
}
