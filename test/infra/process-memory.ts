// Another process as the kernel counts it (Linux /proc): its memory, as a user's `ps` or an OOM killer sees it (not
// what the process's own heap statistics say), its parent and the CPU it has used.
import { readFileSync } from "node:fs";

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The fields of /proc/<pid>/stat after the command name ("pid (comm) state ppid ..."; comm may hold spaces, so the
 * fields start after its closing paren): [0] state, [1] ppid, [11] utime, [12] stime. Throws if the process is gone.
 */
export function procStatFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** The parent's pid. Throws if the process is gone. */
export function parentPid(pid: number | string): number {
  return Number(procStatFields(pid)[1]);
}

/** CPU seconds the process has used (user + system); NaN where that cannot be read (gone, not Linux, no pid). */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const fields = procStatFields(pid);
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

export interface ProcessMemory {
  /** Resident set size now (VmRSS), MiB. */
  readonly rssMiB: number;
  /** The highest resident set size since the process started (VmHWM), MiB. */
  readonly peakRssMiB: number;
}

function kibField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status);
  if (!match) throw new Error(`/proc status has no ${name} line`);
  return Number(match[1]);
}

/** Throws if the process is gone (or this is not Linux). */
export function processMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return { rssMiB: kibField(status, "VmRSS") / 1024, peakRssMiB: kibField(status, "VmHWM") / 1024 };
}

/** Whether the process exists (a reaped child no longer does). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
