// The CLI's configuration: one table of flags (each with its environment variable and default), parsed and
// validated once at the edge into a frozen object. A bad value stops the program with one line naming the flag or
// variable, and exit code 2; nothing further in reads process.env.
import { readFileSync } from "node:fs";
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { isIP } from "node:net";
import { readSealingKey } from "../src/kafka/config/sealing.js";

export type Command = "serve" | "worker" | "demo" | "healthcheck";
export type EnvironmentKind = "process" | "external" | "docker";
export type LogLevel = "debug" | "info" | "warn" | "error";

export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
export type LiteralSecrets = "seal" | "refuse" | "pass";
const LITERAL_SECRETS: readonly LiteralSecrets[] = ["seal", "refuse", "pass"];
const ENVIRONMENTS: readonly EnvironmentKind[] = ["process", "external", "docker"];

/** A usage mistake: the CLI prints `kafka-beam-ts <command>: <message>` and exits 2. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "CONFIG";
  readonly retriable = false;
}

interface FlagSpec {
  readonly flag: string;
  readonly env?: string;
  /** Placeholder in --help; a flag without one is a boolean switch. */
  readonly value?: string;
  readonly fallback?: string;
  readonly help: string;
  /** A different help line for some commands. */
  readonly helpIn?: Partial<Record<Command, string>>;
  readonly commands: readonly Command[];
}

/** Every flag of every command: the source of --help and of parsing. */
export const FLAGS: readonly FlagSpec[] = [
  {
    flag: "--host",
    env: "KBT_HOST",
    value: "ADDRESS",
    fallback: "127.0.0.1",
    commands: ["serve", "healthcheck"],
    help: "interface the gRPC and HTTP servers bind (0.0.0.0 or :: for all)",
    helpIn: { healthcheck: "interface serve's HTTP server is bound to (0.0.0.0 and :: are dialled on loopback)" },
  },
  {
    flag: "--expansion-port",
    env: "KBT_EXPANSION_PORT",
    value: "PORT",
    fallback: "8097",
    commands: ["serve"],
    help: "ExpansionService (gRPC) port; 0 picks a free port",
  },
  {
    flag: "--worker-pool-port",
    env: "KBT_WORKER_POOL_PORT",
    value: "PORT",
    fallback: "50000",
    commands: ["serve"],
    help: "BeamFnExternalWorkerPool (gRPC) port; 0 picks a free port",
  },
  {
    flag: "--http-port",
    env: "KBT_HTTP_PORT",
    value: "PORT",
    fallback: "8080",
    commands: ["serve", "healthcheck"],
    help: "HTTP port (/healthz /readyz /metrics /transforms); 0 picks a free port",
    helpIn: { healthcheck: "serve's HTTP port" },
  },
  {
    flag: "--environment",
    env: "KBT_ENVIRONMENT",
    value: "process|external|docker",
    fallback: "process",
    commands: ["serve"],
    help:
      "where expanded transforms run: process = a runner on this machine starts bin/kafka-beam-ts-worker; " +
      "external = this service's worker pool (the sidecar), offered with process as a fallback; docker = --docker-image",
  },
  {
    flag: "--external-address",
    env: "KBT_EXTERNAL_ADDRESS",
    value: "HOST:PORT",
    commands: ["serve"],
    help:
      "worker pool address runners are told to dial with --environment external " +
      "(default: --host and the worker pool port; localhost when --host binds every interface)",
  },
  {
    flag: "--docker-image",
    env: "KBT_DOCKER_IMAGE",
    value: "IMAGE",
    commands: ["serve"],
    help: "container image runners start with --environment docker (required there)",
  },
  {
    flag: "--tls-cert",
    env: "KBT_TLS_CERT",
    value: "FILE",
    commands: ["serve"],
    help: "PEM certificate chain: serve both gRPC servers over TLS (with --tls-key)",
  },
  { flag: "--tls-key", env: "KBT_TLS_KEY", value: "FILE", commands: ["serve"], help: "PEM private key of --tls-cert" },
  {
    flag: "--literal-secrets",
    env: "KBT_LITERAL_SECRETS",
    value: "seal|refuse|pass",
    fallback: "seal",
    commands: ["serve"],
    help:
      "literal passwords and keys in Kafka configs: sealed into the payloads for this service's workers (AES-GCM), " +
      "refused (INVALID_ARGUMENT: pass ${env:...}/${file:...} references), or passed as given (the runner stores them)",
  },
  {
    flag: "--secrets-key-file",
    env: "KBT_SECRETS_KEY_FILE",
    value: "FILE",
    commands: ["serve"],
    help:
      "the sealing key (32 bytes: raw, base64 or hex); workers on other machines need the same file in " +
      "KBT_SECRETS_KEY_FILE (default: a new key per process, in a private temp file)",
  },
  {
    flag: "--shutdown-timeout-ms",
    env: "KBT_SHUTDOWN_TIMEOUT_MS",
    value: "MS",
    fallback: "10000",
    commands: ["serve"],
    help: "on SIGTERM/SIGINT, time allowed for in-flight work to finish before the process exits anyway",
  },
  {
    flag: "--parent-pid",
    env: "KBT_PARENT_PID",
    value: "PID",
    commands: ["serve"],
    help:
      "shut down (as on SIGTERM) once this process is gone: for launchers that start serve on demand, such as " +
      "the Python package's expansion service",
  },
  {
    flag: "--log-level",
    env: "KBT_LOG_LEVEL",
    value: "debug|info|warn|error",
    fallback: "info",
    commands: ["serve", "demo"],
    help: "least severe JSON log line written",
  },
  {
    flag: "--bootstrap",
    env: "KBT_BOOTSTRAP",
    value: "HOST:PORT[,...]",
    commands: ["demo"],
    help: "Kafka cluster to use (default: start a local broker; needs Java and the repository checkout)",
  },
  {
    flag: "--runner",
    env: "KBT_DEMO_RUNNER",
    value: "local|prism|flink|portable",
    fallback: "local",
    commands: ["demo"],
    help:
      "where the pipeline runs: the local runner; Prism or a Flink job server (started from the repository checkout " +
      "unless --job-endpoint names one); any portable runner at --job-endpoint",
  },
  {
    flag: "--job-endpoint",
    env: "KBT_JOB_ENDPOINT",
    value: "HOST:PORT",
    commands: ["demo"],
    help: "the portable runner's job service (Prism's --job_port, a Flink or Spark job server's --job-port)",
  },
  {
    flag: "--records",
    env: "KBT_DEMO_RECORDS",
    value: "N",
    fallback: "100000",
    commands: ["demo"],
    help: "sample records to write and read back",
  },
  {
    flag: "--partitions",
    env: "KBT_DEMO_PARTITIONS",
    value: "N",
    fallback: "4",
    commands: ["demo"],
    help: "partitions of the demo's topics",
  },
  {
    flag: "--timeout-ms",
    env: "KBT_HEALTHCHECK_TIMEOUT_MS",
    value: "MS",
    fallback: "3000",
    commands: ["healthcheck"],
    help: "give up on /healthz after this long",
  },
];

const COMMAND_SUMMARY: Readonly<Record<Command, string>> = {
  serve: "expansion service + worker pool (sidecar) + HTTP, until SIGTERM/SIGINT",
  worker: "one Fn API worker: what a runner executes for a process environment (via bin/kafka-beam-ts-worker)",
  demo: "write sample records, run a native TS pipeline reading and rewriting them, print a summary",
  healthcheck: "GET /healthz of a running serve on this machine; exit 0 if healthy (the Dockerfile HEALTHCHECK)",
};

const WORKER_HELP = `flags (given by the runner; unknown flags are ignored):
  --id=ID                     worker id (quotes around it are stripped)          env WORKER_ID
  --provision_endpoint=H:P    ProvisionService to ask for the other endpoints     env PROVISION_API_SERVICE_DESCRIPTOR
  --control_endpoint=H:P      BeamFnControl, when there is no provision endpoint   env CONTROL_API_SERVICE_DESCRIPTOR
  --logging_endpoint=H:P      BeamFnLogging                                        env LOGGING_API_SERVICE_DESCRIPTOR
Environment: KBT_NODE = the Node binary bin/kafka-beam-ts-worker runs (serve passes on its own KBT_NODE, else its own Node).
`;

function flagLines(command: Command): string {
  const lines: string[] = [];
  for (const spec of FLAGS.filter((f) => f.commands.includes(command))) {
    const head = `  ${spec.flag}${spec.value ? ` ${spec.value}` : ""}`;
    const tail = [spec.env ? `env ${spec.env}` : "", spec.fallback !== undefined ? `default ${spec.fallback}` : ""]
      .filter(Boolean)
      .join(", ");
    lines.push(head);
    lines.push(`        ${spec.helpIn?.[command] ?? spec.help}${tail ? ` [${tail}]` : ""}`);
  }
  return lines.join("\n");
}

export function helpText(command?: Command): string {
  if (command === "worker")
    return `Usage: kafka-beam-ts worker --id=ID --provision_endpoint=HOST:PORT\n  ${COMMAND_SUMMARY.worker}\n\nWorker ${WORKER_HELP}`;
  if (command)
    return `Usage: kafka-beam-ts ${command} [flags]\n  ${COMMAND_SUMMARY[command]}\n\nFlags (a flag wins over its environment variable; an empty variable counts as unset):\n${flagLines(command)}\n`;
  const commands = (Object.keys(COMMAND_SUMMARY) as Command[])
    .map((c) => `  ${c.padEnd(12)}${COMMAND_SUMMARY[c]}`)
    .join("\n");
  const sections = (["serve", "demo", "healthcheck"] as const).map((c) => `${c} flags:\n${flagLines(c)}`).join("\n\n");
  return `kafka-beam-ts — Kafka connector for Apache Beam in TypeScript

Usage: kafka-beam-ts <command> [flags]     (flags as --name value or --name=value)
       kafka-beam-ts <command> --help

Commands:
${commands}

${sections}

worker ${WORKER_HELP}
Exit codes: 0 done, 1 failure, 2 bad flag or environment value.
`;
}

export const COMMANDS = Object.keys(COMMAND_SUMMARY) as readonly Command[];

/** Where a value came from, for error messages: `--http-port "x"` or `KBT_HTTP_PORT="x"`. */
interface Raw {
  readonly value: string;
  readonly source: string;
}

function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}

function bad(raw: Raw, expected: string): ConfigError {
  return new ConfigError(`${raw.source}=${quote(raw.value)}: ${expected}`);
}

/** Splits argv into flag values for `command`; unknown flags, missing values and positionals are errors. */
export function readFlags(command: Command, args: readonly string[], env: NodeJS.ProcessEnv): Map<string, Raw> {
  const specs = FLAGS.filter((f) => f.commands.includes(command));
  const out = new Map<string, Raw>();
  for (const spec of specs) {
    const value = spec.env ? env[spec.env] : undefined;
    if (value !== undefined && value !== "") out.set(spec.flag, { value, source: spec.env! });
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) throw new ConfigError(`unexpected argument ${quote(arg)}`);
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = specs.find((f) => f.flag === name);
    if (!spec) {
      const known = specs.map((f) => f.flag).join(", ");
      throw new ConfigError(
        `unknown flag ${name}${known ? ` (${command} takes ${known})` : ` (${command} takes no flags)`}`,
      );
    }
    let value: string;
    if (eq > 0) value = arg.slice(eq + 1);
    else if (!spec.value) value = "true";
    else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("--")) throw new ConfigError(`${name} needs a value (${spec.value})`);
      value = next;
      i++;
    }
    out.set(spec.flag, { value, source: name });
  }
  return out;
}

function raw(flags: Map<string, Raw>, flag: string): Raw | undefined {
  const given = flags.get(flag);
  if (given) return given;
  const fallback = FLAGS.find((f) => f.flag === flag)?.fallback;
  return fallback === undefined ? undefined : { value: fallback, source: `${flag} default` };
}

function port(r: Raw): number {
  if (!/^\d{1,5}$/.test(r.value) || Number(r.value) > 65535)
    throw bad(r, "expected a port number 0-65535 (0 picks a free port)");
  return Number(r.value);
}

function integer(r: Raw, min: number, max: number, what: string): number {
  if (!/^\d+$/.test(r.value) || Number(r.value) < min || Number(r.value) > max)
    throw bad(r, `expected ${what} from ${min} to ${max}`);
  return Number(r.value);
}

function oneOf<T extends string>(r: Raw, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(r.value)) throw bad(r, `expected one of ${values.join(", ")}`);
  return r.value as T;
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function host(r: Raw): string {
  const value = r.value.replace(/^\[(.*)\]$/, "$1");
  if (isIP(value) === 0 && !HOSTNAME.test(value)) throw bad(r, "expected an IP address or a host name");
  return value;
}

function hostPort(r: Raw, text = r.value): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(text);
  if (!match || Number(match[2]) === 0 || Number(match[2]) > 65535) throw bad(r, "expected HOST:PORT (port 1-65535)");
  return { host: host({ value: match[1]!, source: r.source }), port: Number(match[2]) };
}

/** host:port for a URL or gRPC target: IPv6 literals in brackets. */
export function formatAddress(hostName: string, portNumber: number): string {
  return isIP(hostName) === 6 ? `[${hostName}]:${portNumber}` : `${hostName}:${portNumber}`;
}

export interface TlsFiles {
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

function readPem(r: Raw): Buffer {
  try {
    return readFileSync(r.value);
  } catch (err) {
    throw bad(r, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

function tls(flags: Map<string, Raw>): TlsFiles | undefined {
  const certRaw = flags.get("--tls-cert");
  const keyRaw = flags.get("--tls-key");
  if (!certRaw && !keyRaw) return undefined;
  if (!certRaw || !keyRaw) {
    const given = (certRaw ?? keyRaw)!;
    throw new ConfigError(
      `${given.source} is set but ${certRaw ? "--tls-key (KBT_TLS_KEY)" : "--tls-cert (KBT_TLS_CERT)"} is not: TLS needs both`,
    );
  }
  const cert = readPem(certRaw);
  const key = readPem(keyRaw);
  let certificate: X509Certificate;
  let privateKey: KeyObject;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw bad(certRaw, "not a PEM certificate");
  }
  // The key's bytes never reach a message: only its path.
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw bad(keyRaw, "not a PEM private key (or it is encrypted)");
  }
  if (!certificate.checkPrivateKey(privateKey)) throw bad(keyRaw, `does not match the certificate in ${certRaw.value}`);
  return { certPath: certRaw.value, keyPath: keyRaw.value, cert, key };
}

export type ServeEnvironment =
  | { readonly kind: "process" }
  | { readonly kind: "external"; readonly address: string | undefined }
  | { readonly kind: "docker"; readonly image: string };

export interface ServeConfig {
  readonly host: string;
  readonly expansionPort: number;
  readonly workerPoolPort: number;
  readonly httpPort: number;
  readonly environment: ServeEnvironment;
  readonly tls: TlsFiles | undefined;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: LogLevel;
  /** Stop once this process is gone (--parent-pid). */
  readonly parentPid: number | undefined;
  readonly literalSecrets: LiteralSecrets;
  /** The sealing key's file (read and checked here), or undefined for a new key per process. */
  readonly secretsKeyFile: string | undefined;
}

export function parseServeConfig(args: readonly string[], env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const flags = readFlags("serve", args, env);
  const ports = {
    expansionPort: port(raw(flags, "--expansion-port")!),
    workerPoolPort: port(raw(flags, "--worker-pool-port")!),
    httpPort: port(raw(flags, "--http-port")!),
  };
  const names = {
    expansionPort: "--expansion-port",
    workerPoolPort: "--worker-pool-port",
    httpPort: "--http-port",
  } as const;
  const seen = new Map<number, string>();
  for (const key of Object.keys(ports) as (keyof typeof ports)[]) {
    const p = ports[key];
    if (p === 0) continue;
    const other = seen.get(p);
    if (other) throw new ConfigError(`${names[key]} and ${other} are both ${p}: each server needs its own port`);
    seen.set(p, names[key]);
  }
  const kind = oneOf(raw(flags, "--environment")!, ENVIRONMENTS);
  const imageRaw = flags.get("--docker-image");
  const addressRaw = flags.get("--external-address");
  let environment: ServeEnvironment;
  if (kind === "docker") {
    if (!imageRaw) throw new ConfigError(`--environment docker needs --docker-image (or KBT_DOCKER_IMAGE)`);
    if (/\s/.test(imageRaw.value)) throw bad(imageRaw, "expected an image reference without spaces");
    environment = { kind, image: imageRaw.value };
  } else if (kind === "external") {
    if (addressRaw) hostPort(addressRaw);
    environment = { kind, address: addressRaw?.value };
  } else {
    environment = { kind };
  }
  return Object.freeze({
    host: host(raw(flags, "--host")!),
    ...ports,
    environment: Object.freeze(environment),
    tls: tls(flags),
    shutdownTimeoutMs: integer(raw(flags, "--shutdown-timeout-ms")!, 0, 3_600_000, "milliseconds"),
    logLevel: oneOf(raw(flags, "--log-level")!, LOG_LEVELS),
    parentPid: flags.has("--parent-pid")
      ? integer(raw(flags, "--parent-pid")!, 1, 4_194_304, "a process id")
      : undefined,
    literalSecrets: oneOf(raw(flags, "--literal-secrets")!, LITERAL_SECRETS),
    secretsKeyFile: secretsKeyFile(flags),
  });
}

function secretsKeyFile(flags: Map<string, Raw>): string | undefined {
  const r = flags.get("--secrets-key-file");
  if (!r) return undefined;
  try {
    readSealingKey(r.value);
  } catch (err) {
    // The message names the path and the expected size, never the file's bytes.
    const code = (err as NodeJS.ErrnoException).code;
    throw bad(r, code ? `cannot read the file (${code})` : "expected 32 bytes (raw, base64 or hex)");
  }
  return r.value;
}

/** Where the demo's pipeline runs. */
export type DemoRunner = "local" | "prism" | "flink" | "portable";
const DEMO_RUNNERS: readonly DemoRunner[] = ["local", "prism", "flink", "portable"];

export interface DemoConfig {
  readonly bootstrap: string | undefined;
  readonly runner: DemoRunner;
  readonly jobEndpoint: string | undefined;
  readonly records: number;
  readonly partitions: number;
  readonly logLevel: LogLevel;
}

export function parseDemoConfig(args: readonly string[], env: NodeJS.ProcessEnv = process.env): DemoConfig {
  const flags = readFlags("demo", args, env);
  const bootstrapRaw = flags.get("--bootstrap");
  if (bootstrapRaw) for (const part of bootstrapRaw.value.split(",")) hostPort(bootstrapRaw, part.trim());
  const runner = oneOf(raw(flags, "--runner")!, DEMO_RUNNERS);
  const endpointRaw = flags.get("--job-endpoint");
  if (endpointRaw) hostPort(endpointRaw);
  if (runner === "portable" && !endpointRaw) {
    throw new ConfigError("--runner portable needs --job-endpoint (or KBT_JOB_ENDPOINT)");
  }
  if (runner === "local" && endpointRaw) throw bad(endpointRaw, "is for --runner prism, flink or portable");
  return Object.freeze({
    bootstrap: bootstrapRaw?.value,
    runner,
    jobEndpoint: endpointRaw?.value,
    records: integer(raw(flags, "--records")!, 1, 10_000_000, "a record count"),
    partitions: integer(raw(flags, "--partitions")!, 1, 256, "a partition count"),
    logLevel: oneOf(raw(flags, "--log-level")!, LOG_LEVELS),
  });
}

export interface HealthcheckConfig {
  readonly url: string;
  readonly timeoutMs: number;
}

export function parseHealthcheckConfig(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): HealthcheckConfig {
  const flags = readFlags("healthcheck", args, env);
  const bound = host(raw(flags, "--host")!);
  const target = bound === "0.0.0.0" ? "127.0.0.1" : bound === "::" ? "::1" : bound;
  const httpPort = port(raw(flags, "--http-port")!);
  if (httpPort === 0) throw bad(flags.get("--http-port")!, "expected the port serve listens on, not 0");
  return Object.freeze({
    url: `http://${formatAddress(target, httpPort)}/healthz`,
    timeoutMs: integer(raw(flags, "--timeout-ms")!, 1, 600_000, "milliseconds"),
  });
}
