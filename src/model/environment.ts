// The environment a pipeline's (or an expansion's) transforms run in, as Runner API protos:
//   process  — a command the runner executes (our worker launcher): works on one machine with nothing else;
//   external — the address of our worker pool (the sidecar), optionally with process as a fallback (anyof);
//   docker   — our image.
import { runnerApi, urns } from "./proto/index.js";
import { WORKER_CAPABILITIES } from "./kbt-urns.js";

const ENV = urns.StandardEnvironments.Environments;

/**
 * Runners start each worker by executing `command` on their own host (beam:env:process:v1): needs nothing but this
 * package installed there, so it works on one machine with nothing else running.
 */
export interface ProcessEnvironment {
  readonly kind: "process";
  /** Absolute path of an executable launcher (runners execute it without a shell). */
  readonly command: string;
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Runners ask the worker pool at `address` (a BeamFnExternalWorkerPool, see WorkerPool) to start workers
 * (beam:env:external:v1). With `fallback`, both are offered as beam:env:anyof:v1 and the runner picks one.
 */
export interface ExternalEnvironment {
  readonly kind: "external";
  /** host:port of a BeamFnExternalWorkerPool */
  readonly address: string;
  /** Offered beside the pool (beam:env:anyof:v1) so runners that cannot reach it still run. */
  readonly fallback?: ProcessEnvironment;
}

/**
 * Runners start each worker in a container of `image` (beam:env:docker:v1), passing only the boot flags
 * (`--id=... --provision_endpoint=...`): the image must start a worker from them, as this package's image does.
 */
export interface DockerEnvironment {
  readonly kind: "docker";
  readonly image: string;
}

/** Where the transforms an expansion returns run, chosen once per service (`ExpandOptions.environment`). */
export type EnvironmentConfig = ProcessEnvironment | ExternalEnvironment | DockerEnvironment;

function withCapabilities(urn: string, payload: Uint8Array): runnerApi.IEnvironment {
  return { urn, payload, capabilities: [...WORKER_CAPABILITIES], dependencies: [] };
}

function processEnvironment(config: ProcessEnvironment): runnerApi.IEnvironment {
  return withCapabilities(
    ENV.PROCESS,
    runnerApi.ProcessPayload.encode({ command: config.command, env: { ...config.env } }).finish(),
  );
}

/**
 * The runner API Environment for a config, declaring the worker's capabilities (the protocols and coders it
 * supports) so runners know what they may send it.
 */
export function environmentProto(config: EnvironmentConfig): runnerApi.IEnvironment {
  switch (config.kind) {
    case "process":
      return processEnvironment(config);
    case "docker":
      return withCapabilities(ENV.DOCKER, runnerApi.DockerPayload.encode({ containerImage: config.image }).finish());
    case "external": {
      const external = withCapabilities(
        ENV.EXTERNAL,
        runnerApi.ExternalPayload.encode({ endpoint: { url: config.address } }).finish(),
      );
      if (!config.fallback) return external;
      const anyOf = runnerApi.AnyOfEnvironmentPayload.encode({
        environments: [external, processEnvironment(config.fallback)],
      }).finish();
      return withCapabilities(ENV.ANYOF, anyOf);
    }
  }
}
