// kafkajs 2.2.4 (unmaintained) schedules its request-queue check with setTimeout(fn, throttledUntil - now) even when
// nothing is throttled, i.e. a large negative delay; Node runs it after 1 ms, which is harmless, but Node >= 23 warns
// "TimeoutNegativeWarning" once per process, in every worker's log. Drop exactly that warning; keep all others.
let installed = false;

export function silenceKafkajsTimeoutWarning(): void {
  if (installed) return;
  installed = true;
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const type = warning instanceof Error ? warning.name : typeof rest[0] === "string" ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === "TimeoutNegativeWarning") return;
    emitWarning(warning, ...rest);
  }) as typeof process.emitWarning;
}
