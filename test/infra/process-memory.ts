// Memory of another process as the kernel counts it (Linux /proc): what a user's `ps` or an OOM killer sees, not
// what the process's own heap statistics say.
import { readFileSync } from "node:fs";

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
