// Worker logs: to the runner's BeamFnLogging stream when there is one (so they show up where users look), and to
// stderr as JSON lines otherwise. Entries are batched; a full queue drops the oldest DEBUG/INFO first.
import type * as grpc from "@grpc/grpc-js";
import { fnApi } from "../model/proto/index.js";
import { beamClient, workerMetadata, type GenericClient } from "./grpc.js";
import { timestampProto } from "./time.js";

/** Severity of a worker log entry, sent as the Fn API LogEntry severity of the same name. */
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface LogContext {
  readonly instructionId?: string;
  readonly transformId?: string;
}

/**
 * Where a worker's logs go: RunnerLogger, stderrLogger or your own. `log` must not throw (it also runs in error
 * handlers); `close` flushes what is pending, and the SdkWorker given the logger calls it when the worker stops.
 */
export interface WorkerLogger {
  log(level: LogLevel, message: string, context?: LogContext, error?: unknown): void;
  close(): Promise<void>;
}

const SEVERITY: Readonly<Record<LogLevel, fnApi.LogEntry.Severity.Enum>> = {
  debug: fnApi.LogEntry.Severity.Enum.DEBUG,
  info: fnApi.LogEntry.Severity.Enum.INFO,
  warn: fnApi.LogEntry.Severity.Enum.WARN,
  error: fnApi.LogEntry.Severity.Enum.ERROR,
};

function trace(error: unknown): string {
  if (error === undefined) return "";
  return error instanceof Error ? (error.stack ?? String(error)) : String(error);
}

/** Writes each entry to stderr at once as a JSON line tagged with the worker id; `close` has nothing to do. */
export function stderrLogger(workerId: string): WorkerLogger {
  return {
    log(level, message, context, error) {
      process.stderr.write(
        `${JSON.stringify({ level, worker: workerId, msg: message, ...context, ...(error ? { error: trace(error) } : {}) })}\n`,
      );
    },
    close: async () => undefined,
  };
}

/** Sends to the runner's logging endpoint; also mirrors warnings and errors to stderr. */
export class RunnerLogger implements WorkerLogger {
  private readonly client: GenericClient;
  private readonly stream: grpc.ClientDuplexStream<fnApi.LogEntry.IList, fnApi.ILogControl>;
  private queue: fnApi.ILogEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private broken = false;
  private readonly fallback: WorkerLogger;

  constructor(
    url: string,
    workerId: string,
    private readonly maxQueued = 10_000,
  ) {
    this.fallback = stderrLogger(workerId);
    this.client = beamClient("org.apache.beam.model.fn_execution.v1.BeamFnLogging", url);
    this.stream = (
      this.client.Logging as (m: grpc.Metadata) => grpc.ClientDuplexStream<fnApi.LogEntry.IList, fnApi.ILogControl>
    ).call(this.client, workerMetadata(workerId));
    this.stream.on("error", () => {
      this.broken = true;
    });
    this.stream.on("data", () => undefined);
  }

  log(level: LogLevel, message: string, context: LogContext = {}, error?: unknown): void {
    if (level === "warn" || level === "error" || this.broken) this.fallback.log(level, message, context, error);
    if (this.broken) return;
    if (this.queue.length >= this.maxQueued) {
      const i = this.queue.findIndex((e) => (e.severity ?? 0) <= fnApi.LogEntry.Severity.Enum.INFO);
      this.queue.splice(Math.max(i, 0), 1);
    }
    this.queue.push({
      severity: SEVERITY[level],
      timestamp: timestampProto(BigInt(Date.now())),
      message,
      trace: trace(error),
      instructionId: context.instructionId ?? "",
      transformId: context.transformId ?? "",
      logLocation: "kafka-beam-ts",
    });
    this.timer ??= setTimeout(() => this.flush(), 100);
  }

  private flush(): void {
    this.timer = undefined;
    if (this.queue.length === 0 || this.broken) return;
    const logEntries = this.queue;
    this.queue = [];
    this.stream.write({ logEntries });
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.flush();
    await new Promise<void>((resolve) => {
      this.stream.once("finish", () => resolve());
      this.stream.end();
      setTimeout(resolve, 500).unref();
    });
    this.stream.cancel();
    this.client.close();
  }
}
