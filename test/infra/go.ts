// Runs the Go example pipeline (examples/go/kafka_roundtrip, built by scripts/setup-xlang.sh; KBT_GO_EXAMPLE),
// bounded in time: its whole process group is killed when the time is up.
import { spawn } from "node:child_process";

export interface GoResult {
  readonly code: number | null;
  /** The last 100 kB of stdout and stderr. */
  readonly output: string;
}

export function runGoExample(args: readonly string[], timeoutMs: number): Promise<GoResult> {
  const binary = process.env.KBT_GO_EXAMPLE;
  if (!binary) throw new Error("KBT_GO_EXAMPLE is not set: run through test/runner.ts (xlang)");
  return new Promise((resolve) => {
    const child = spawn(binary, [...args], { stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    const collect = (c: Buffer) => {
      output = (output + c.toString()).slice(-100_000);
    };
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
