// Where runners find our worker: the process environment's command is bin/kafka-beam-ts-worker of this installation
// (an executable file, since runners execute it without a shell), run by this process's Node.
import { fileURLToPath } from "node:url";
import type { ProcessEnvironment } from "../model/environment.js";

/** Absolute path of the worker launcher of this installation (dist/src/harness → bin/). */
export function workerLauncherPath(): string {
  return fileURLToPath(new URL("../../../bin/kafka-beam-ts-worker", import.meta.url));
}

/**
 * The process environment that starts our worker on the runner's machine with this Node (KBT_NODE set for this
 * process is passed on: another Node, or a wrapper adding flags), plus `env`.
 */
export function workerProcessEnvironment(env: Readonly<Record<string, string>> = {}): ProcessEnvironment {
  return {
    kind: "process",
    command: workerLauncherPath(),
    env: { KBT_NODE: process.env.KBT_NODE ?? process.execPath, ...env },
  };
}
