// Helpers of the service tests: `serve` as a child process on free ports, with its addresses (from the JSON
// `serving` log line), its exit code and signals; and the CLI run to completion.
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { repoRoot } from "../infra/paths.js";
import { startManaged, type Managed } from "../infra/processes.js";
import { grpcServiceDefinition, type BeamServiceName } from "../../src/model/proto/index.js";

export const cliPath = resolve(repoRoot(), "dist/service/cli.js");

export interface ServeProcess {
  readonly managed: Managed;
  readonly expansion: string;
  readonly workerPool: string;
  readonly http: string;
  /** The parsed `serving` log line. */
  readonly serving: Record<string, unknown>;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  output(): string;
  /** Every JSON log line so far. */
  logLines(): Record<string, unknown>[];
  signal(name: NodeJS.Signals): void;
  /** SIGTERM to the process group (SIGKILL after 5 s): for after hooks. */
  stop(): Promise<void>;
  get(path: string): Promise<{ status: number; body: string; contentType: string }>;
}

export function kbtFreeEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("KBT_") || k === "KBT_VERBOSE")),
    ...extra,
  };
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/**
 * Starts `<command...> serve` with free ports (unless args say otherwise) and waits for its `serving` line.
 * `command` defaults to this Node and dist/service/cli.js.
 */
export async function startServeProcess(
  args: readonly string[] = [],
  options: { env?: NodeJS.ProcessEnv; command?: readonly string[] } = {},
): Promise<ServeProcess> {
  const command = options.command ?? [process.execPath, cliPath, "serve"];
  const ports = ["--expansion-port", "--worker-pool-port", "--http-port"].flatMap((flag) =>
    args.some((a) => a.startsWith(flag)) ? [] : [flag, "0"],
  );
  const managed = startManaged(command[0]!, [...command.slice(1), ...ports, ...args], options.env ?? kbtFreeEnv());
  const exited = new Promise<number | null>((r) => {
    if (managed.child.exitCode !== null) r(managed.child.exitCode);
    else managed.child.once("exit", (code) => r(code));
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const serving = jsonLines(managed.output()).find((l) => l.msg === "serving");
    if (serving) {
      const http = String(serving.http);
      return {
        managed,
        serving,
        exited,
        expansion: String(serving.expansion),
        workerPool: String(serving.workerPool),
        http,
        output: managed.output,
        logLines: () => jsonLines(managed.output()),
        signal: (name) => {
          managed.child.kill(name);
        },
        stop: managed.stop,
        get: async (path) => {
          const target = http.replace(/^0\.0\.0\.0:/, "127.0.0.1:");
          const response = await fetch(`http://${target}${path}`, { signal: AbortSignal.timeout(5_000) });
          return {
            status: response.status,
            body: await response.text(),
            contentType: response.headers.get("content-type") ?? "",
          };
        },
      };
    }
    if (managed.child.exitCode !== null || Date.now() > deadline) {
      await managed.stop();
      throw new Error(`serve did not start:\n${managed.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion; `env` replaces the environment (default: ours without KBT_ variables). */
export function runCommand(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = kbtFreeEnv(),
  timeoutMs = 20_000,
  cwd?: string,
): Promise<CliRun> {
  return new Promise((done) => {
    execFile(file, [...args], { env, timeout: timeoutMs, cwd, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
      done({ code, stdout, stderr });
    });
  });
}

export function runCli(args: readonly string[], env?: NodeJS.ProcessEnv, timeoutMs?: number): Promise<CliRun> {
  return runCommand(process.execPath, [cliPath, ...args], env, timeoutMs);
}

export type GrpcClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

export function grpcClient(
  service: BeamServiceName,
  address: string,
  credentials = grpc.credentials.createInsecure(),
  options: grpc.ClientOptions = {},
): GrpcClient {
  const ctor = grpc.makeGenericClientConstructor(grpcServiceDefinition(service), service);
  return new ctor(address, credentials, options) as unknown as GrpcClient;
}

export function unaryCall<Res>(client: GrpcClient, method: string, request: unknown): Promise<Res> {
  return new Promise((resolvePromise, reject) => {
    (client[method] as (r: unknown, cb: (err: grpc.ServiceError | null, res: Res) => void) => void).call(
      client,
      request,
      (err, res) => (err ? reject(err) : resolvePromise(res)),
    );
  });
}

/** Value of one sample in Prometheus text (`name{labels} value`), or undefined. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = match[3] ? match[3].split(/,(?=[a-zA-Z_]\w*=")/) : [];
    if (present.length === wanted.length && wanted.every((w) => present.includes(w))) return Number(match[4]);
  }
  return undefined;
}
