// How a runner starts our worker: process-environment flags (`--id='w1' --provision_endpoint=host:port`, quotes
// included as Prism sends them) or the classic endpoint flags; endpoints come from ProvisionService when given.
import type { fnApi } from "../model/proto/index.js";
import { beamClient, unary, workerMetadata } from "./grpc.js";

/**
 * A worker's start-up flags as parseWorkerFlags reads them (`--id`, `--provision_endpoint`, ... or the WORKER_ID and
 * *_API_SERVICE_DESCRIPTOR environment variables); a provision or a control endpoint is always present.
 */
export interface WorkerFlags {
  readonly id: string;
  readonly provisionEndpoint?: string;
  readonly controlEndpoint?: string;
  readonly loggingEndpoint?: string;
}

/**
 * Where a worker connects, as resolveEndpoints settles it: the runner's control and logging endpoints, and the
 * pipeline options when they came from the runner's ProvisionService.
 */
export interface WorkerEndpoints {
  readonly id: string;
  readonly controlUrl: string;
  readonly loggingUrl?: string;
  readonly pipelineOptions?: unknown;
}

/**
 * A worker cannot start as asked: a required flag is missing, or the provision info names no control endpoint.
 * A usage mistake (the CLI exits with 2), not a transient failure.
 */
export class BootError extends Error {
  override readonly name = "BootError";
  readonly code = "WORKER_BOOT";
}

function unquote(value: string): string {
  return value.replace(/^'(.*)'$/, "$1").replace(/^"(.*)"$/, "$1");
}

/** Parses `--name=value` / `--name value` flags; unknown flags are ignored (runners add their own). */
export function parseWorkerFlags(args: readonly string[], env: NodeJS.ProcessEnv = process.env): WorkerFlags {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) continue;
    const eq = arg.indexOf("=");
    if (eq > 0) values.set(arg.slice(2, eq), unquote(arg.slice(eq + 1)));
    else if (i + 1 < args.length && !args[i + 1]!.startsWith("--")) values.set(arg.slice(2), unquote(args[++i]!));
  }
  const id = values.get("id") ?? values.get("worker_id") ?? env.WORKER_ID;
  if (!id) throw new BootError("worker: --id is required (the runner passes it)");
  const provisionEndpoint = values.get("provision_endpoint") ?? env.PROVISION_API_SERVICE_DESCRIPTOR;
  const controlEndpoint = values.get("control_endpoint") ?? env.CONTROL_API_SERVICE_DESCRIPTOR;
  if (!provisionEndpoint && !controlEndpoint)
    throw new BootError("worker: --provision_endpoint or --control_endpoint is required");
  return {
    id,
    provisionEndpoint,
    controlEndpoint,
    loggingEndpoint: values.get("logging_endpoint") ?? env.LOGGING_API_SERVICE_DESCRIPTOR,
  };
}

/** What the runner's ProvisionService says about the worker `id` (endpoints, pipeline options). */
export async function fetchProvisionInfo(endpoint: string, id: string): Promise<fnApi.IProvisionInfo | undefined> {
  const client = beamClient("org.apache.beam.model.fn_execution.v1.ProvisionService", endpoint);
  try {
    const response = await unary<fnApi.IGetProvisionInfoRequest, fnApi.GetProvisionInfoResponse>(
      client,
      "GetProvisionInfo",
      {},
      workerMetadata(id),
    );
    return response.info ?? undefined;
  } finally {
    client.close();
  }
}

/** Control and logging endpoints: from ProvisionService if the runner gave one, else from the flags. */
export async function resolveEndpoints(flags: WorkerFlags): Promise<WorkerEndpoints> {
  if (!flags.provisionEndpoint)
    return { id: flags.id, controlUrl: flags.controlEndpoint!, loggingUrl: flags.loggingEndpoint };
  const info = await fetchProvisionInfo(flags.provisionEndpoint, flags.id);
  const controlUrl = info?.controlEndpoint?.url || flags.controlEndpoint;
  if (!controlUrl) throw new BootError(`provision info from ${flags.provisionEndpoint} has no control endpoint`);
  return {
    id: flags.id,
    controlUrl,
    loggingUrl: info?.loggingEndpoint?.url || flags.loggingEndpoint,
    pipelineOptions: info?.pipelineOptions ?? undefined,
  };
}
