// What every bench shares: `--name value` flags, medians, printed numbers, peak RSS and CPU seconds.

export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

export function numberFlag(name: string, fallback: number): number {
  return Number(flag(name, String(fallback)));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** A rate or count as the tables print it: rounded, with thousands separators. */
/** A rate as a whole number with separators; "-" for a side that was skipped (NaN). */
export const fmt = (n: number): string => (Number.isNaN(n) ? "-" : Math.round(n).toLocaleString("en"));
/** `a / b` as a ratio ("1.23x"); "-" where either side was skipped (NaN). */
export const ratio = (a: number, b: number): string => (Number.isNaN(a / b) ? "-" : `${(a / b).toFixed(2)}x`);
export const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MiB`;

/** Samples RSS on a timer, since the peak between samples of process.memoryUsage() is all Node offers. */
export class PeakRss {
  peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 100) {
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, process.memoryUsage().rss);
    }, intervalMs);
    this.timer.unref();
  }

  /** Starts a new phase: the peak drops to the current RSS, which is returned. */
  restart(): number {
    this.peak = process.memoryUsage().rss;
    return this.peak;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** This process's CPU seconds (user + system) so far. */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}
