// Structured logs: one JSON object per line on stdout, `time`, `level`, `msg` first and then the fields.
// Config maps must go through redact() before they are passed here; errors are logged by message and code.
import type { LogLevel } from "./config.js";

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger adding these fields to every line. */
  child(fields: LogFields): Logger;
  readonly level: LogLevel;
}

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

function plain(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code !== undefined ? { code } : {}) };
  }
  return value;
}

/**
 * Stdout, one write per event-loop turn: writes to a file or pipe are synchronous in Node, and a busy service (one
 * line per Expand call, thousands a second) would otherwise spend a system call per line. Lines still leave within
 * the turn that logged them, in order, and whatever is pending is written when the process exits.
 */
export function batchedStdout(): (line: string) => void {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    process.stdout.write(text);
  };
  process.on("exit", flush);
  return (line) => {
    if (pending.length === 0) setImmediate(flush);
    pending.push(line);
  };
}

export function jsonLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stdout.write(l),
  base: LogFields = {},
): Logger {
  const min = RANK[level];
  const emit = (at: LogLevel, msg: string, fields: LogFields = {}) => {
    if (RANK[at] < min) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level: at, msg };
    for (const [k, v] of Object.entries(base)) entry[k] = plain(v);
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) entry[k] = plain(v);
    write(`${JSON.stringify(entry)}\n`);
  };
  return {
    level,
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => jsonLogger(level, write, { ...base, ...fields }),
  };
}
