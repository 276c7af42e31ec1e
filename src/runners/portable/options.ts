// Beam's option names for the portable runner, for programs that take them on the command line as Python and Java
// pipelines do: --runner, --job_endpoint, --environment_type, --environment_config; every other --name[=value] is
// a pipeline option passed on to the runner (--streaming, --parallelism=2, --checkpointing_interval=1000, ...).
import type { EnvironmentConfig } from "../../model/environment.js";
import { workerProcessEnvironment } from "../../harness/launcher.js";
import type { PipelineOptionValue, PortableRunnerOptions } from "./portable-runner.js";
import { PortableRunnerError } from "./portable-runner.js";

const PORTABLE_RUNNERS = new Set(["portablerunner", "prismrunner", "flinkrunner", "sparkrunner"]);

function flags(args: readonly string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--"))
      throw new PortableRunnerError(`unexpected argument ${JSON.stringify(arg)}: options are --name or --name=value`);
    const eq = arg.indexOf("=");
    if (eq > 0) out.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (i + 1 < args.length && !args[i + 1]!.startsWith("--")) out.set(arg.slice(2), args[++i]!);
    else out.set(arg.slice(2), true);
  }
  return out;
}

function environmentOf(type: string, config: string | undefined): EnvironmentConfig {
  switch (type.toUpperCase()) {
    case "PROCESS": {
      if (config === undefined) return workerProcessEnvironment();
      let parsed: { command?: unknown; env?: unknown };
      try {
        parsed = JSON.parse(config) as typeof parsed;
      } catch {
        throw new PortableRunnerError(
          '--environment_config: for PROCESS, a JSON object {"command": "/path/to/bin/kafka-beam-ts-worker", "env": {...}}',
        );
      }
      if (typeof parsed.command !== "string")
        throw new PortableRunnerError("--environment_config: PROCESS needs a string command");
      return {
        kind: "process",
        command: parsed.command,
        env: { ...(parsed.env as Record<string, string> | undefined) },
      };
    }
    case "EXTERNAL":
      if (!config)
        throw new PortableRunnerError(
          "--environment_config: EXTERNAL needs the worker pool's host:port (serve's --worker-pool-port)",
        );
      return { kind: "external", address: config };
    case "DOCKER":
      if (!config) throw new PortableRunnerError("--environment_config: DOCKER needs the image (this package's image)");
      return { kind: "docker", image: config };
    default:
      throw new PortableRunnerError(
        `--environment_type: expected PROCESS, EXTERNAL or DOCKER, got ${JSON.stringify(type)} ` +
          "(LOOPBACK is the Python SDK's: our workers are started by the runner)",
      );
  }
}

/**
 * PortableRunnerOptions from Beam-style command-line options, or undefined when --runner names no portable runner
 * (absent or the local runner). Throws PortableRunnerError naming the option at fault.
 */
export function portableRunnerOptionsFromArgs(
  args: readonly string[],
  base: Partial<PortableRunnerOptions> = {},
): PortableRunnerOptions | undefined {
  const given = flags(args);
  const runner = given.get("runner");
  if (
    runner === undefined ||
    runner === true ||
    ["local", "localrunner", "directrunner"].includes(runner.toLowerCase())
  )
    return undefined;
  if (!PORTABLE_RUNNERS.has(runner.toLowerCase())) {
    throw new PortableRunnerError(
      `--runner: expected PortableRunner (or PrismRunner, FlinkRunner, SparkRunner with --job_endpoint), got ${JSON.stringify(runner)}`,
    );
  }
  const endpoint = given.get("job_endpoint");
  if (typeof endpoint !== "string")
    throw new PortableRunnerError("--job_endpoint: the runner's job service host:port is required");
  const type = given.get("environment_type");
  const config = given.get("environment_config");
  const environment =
    type === undefined || type === true
      ? base.environment
      : environmentOf(type, typeof config === "string" ? config : undefined);
  const pipelineOptions: Record<string, PipelineOptionValue> = { ...base.pipelineOptions };
  for (const [name, value] of given) {
    if (!["runner", "job_endpoint", "environment_type", "environment_config"].includes(name))
      pipelineOptions[name] = value;
  }
  return { ...base, jobEndpoint: endpoint, ...(environment ? { environment } : {}), pipelineOptions };
}
