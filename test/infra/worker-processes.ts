// Our Fn API workers as a runner started them (process environment): `cli.js worker` processes whose parent is the
// runner's process. For fault tests that kill them.
import { readdirSync, readFileSync } from "node:fs";

/** Pids of our worker processes whose parent is `parentPid`. */
export function workerPids(parentPid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after its closing paren.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== parentPid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (cmdline.some((a) => a.endsWith("cli.js")) && cmdline.includes("worker")) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
