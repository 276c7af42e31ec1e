// `serve`: the expansion service (and, with the harness, the worker pool) on gRPC.
import * as grpc from "@grpc/grpc-js";
import { resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { addExpansionService, kafkaTransformDefinitions, TransformRegistry, type EnvironmentConfig } from "../src/expansion/index.js";

export interface ServeOptions {
  readonly host: string;
  readonly expansionPort: number;
  readonly environment: EnvironmentConfig;
}

export interface RunningService {
  readonly expansionPort: number;
  stop(): Promise<void>;
}

/** Absolute path of the worker launcher runners execute (bin/kafka-beam-ts-worker of this installation). */
export function workerLauncherPath(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "../../bin/kafka-beam-ts-worker");
}

export function defaultProcessEnvironment(): EnvironmentConfig {
  return { kind: "process", command: workerLauncherPath(), env: { KBT_NODE: process.execPath } };
}

function bind(server: grpc.Server, address: string): Promise<number> {
  return new Promise((done, fail) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? fail(err) : done(port)));
  });
}

export async function startServices(options: ServeOptions, log: (line: string) => void): Promise<RunningService> {
  const server = new grpc.Server({ "grpc.max_receive_message_length": -1, "grpc.max_send_message_length": -1 });
  const registry = new TransformRegistry(kafkaTransformDefinitions());
  addExpansionService(server, { registry, environment: options.environment }, {
    onExpand: (urn, outcome, millis, error) =>
      log(JSON.stringify({ msg: "expand", urn, outcome, ms: Math.round(millis * 10) / 10, ...(error ? { error: error.message } : {}) })),
  });
  const expansionPort = await bind(server, `${options.host}:${options.expansionPort}`);
  log(JSON.stringify({ msg: "expansion service listening", address: `${options.host}:${expansionPort}`, environment: options.environment.kind }));
  return {
    expansionPort,
    stop: () => new Promise<void>((done) => server.tryShutdown(() => done())),
  };
}
