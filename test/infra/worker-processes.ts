// Our Fn API workers as a runner started them (process environment): `cli.js worker` processes whose parent is the
// runner's process. For fault tests that kill them.
import { readdirSync, readFileSync } from "node:fs";
import { parentPid } from "./process-memory.js";

/** Pids of our worker processes whose parent is `parent`. */
export function workerPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (parentPid(entry) !== parent) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (cmdline.some((a) => a.endsWith("cli.js")) && cmdline.includes("worker")) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
