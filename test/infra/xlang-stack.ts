// The parts a cross-language Kafka test needs, started in the suite's `before` and stopped in its `after`: the shared
// broker, Prism, and our service (`serve`, process environment by default).
import type { Suite } from "../harness.js";
import { brokerBootstrap, releaseBroker } from "./fixtures.js";
import { startPrism, type Prism } from "./prism.js";
import { startServe, type RunningCli } from "./service.js";
import { startBroker, type Broker } from "./broker.js";
import { startJobServer, type Engine, type JobServer } from "./job-server.js";

export interface XlangStack {
  readonly bootstrap: string;
  readonly prism: Prism;
  readonly service: RunningCli;
  /** The last output of Prism (and the SDK workers it started) and of the service, for failure messages. */
  logs(): string;
}

/** Registers the hooks on `s`; the returned stack is usable inside tests (after `before` ran). */
export function useXlangStack(s: Suite, serveArgs: string[] = []): XlangStack {
  let bootstrap = "";
  let prism: Prism | undefined;
  let service: RunningCli | undefined;
  s.before(async () => {
    bootstrap = await brokerBootstrap();
    prism = await startPrism();
    service = await startServe(serveArgs);
  });
  s.after(async () => {
    await Promise.all([prism?.stop(), service?.stop()]);
    await releaseBroker();
  });
  const started = <T>(part: T | undefined, name: string): T => {
    if (part === undefined) throw new Error(`the xlang stack's ${name} is not started (used outside a test?)`);
    return part;
  };
  return {
    get bootstrap() {
      return bootstrap;
    },
    get prism() {
      return started(prism, "Prism");
    },
    get service() {
      return started(service, "service");
    },
    logs: () =>
      `--- prism/worker output ---\n${prism?.output().slice(-6000) ?? ""}\n--- service ---\n${service?.output().slice(-3000) ?? ""}`,
  };
}

/** Where the expanded transforms run: our process environment (a worker per runner request) or `serve`'s pool. */
export type WorkerEnvironment = "process" | "external";

export interface EngineStack {
  readonly bootstrap: string;
  readonly jobServer: JobServer;
  /** The `serve` whose expansions name this environment. */
  service(environment: WorkerEnvironment): RunningCli;
  logs(): string;
}

/**
 * A real engine's job server (Flink or Spark, embedded) with a broker of the suite's own, as a new user meets it:
 * never warmed by a consumer group, topics auto-created with `brokerProperties` (e.g. num.partitions), and one
 * `serve` per worker environment.
 */
export function useEngineStack(s: Suite, engine: Engine, brokerProperties: Record<string, string> = {}): EngineStack {
  let broker: Broker | undefined;
  let jobServer: JobServer | undefined;
  const services = new Map<WorkerEnvironment, RunningCli>();
  s.before(async () => {
    const [b, j, processServe, externalServe] = await Promise.all([
      startBroker({ warm: false, properties: brokerProperties }),
      startJobServer(engine),
      startServe([]),
      startServe(["--environment", "external"]),
    ]);
    broker = b;
    jobServer = j;
    services.set("process", processServe).set("external", externalServe);
  });
  s.after(async () => {
    await Promise.all([jobServer?.stop(), ...[...services.values()].map((x) => x.stop())]);
    await broker?.stop();
  });
  const started = <T>(part: T | undefined, name: string): T => {
    if (part === undefined) throw new Error(`the ${engine} stack's ${name} is not started (used outside a test?)`);
    return part;
  };
  return {
    get bootstrap() {
      return started(broker, "broker").bootstrap;
    },
    get jobServer() {
      return started(jobServer, "job server");
    },
    service: (environment) => started(services.get(environment), `${environment} service`),
    logs: () =>
      `--- ${engine} job server ---\n${jobServer?.output().slice(-8000) ?? ""}\n` +
      [...services].map(([env, x]) => `--- serve (${env}) ---\n${x.output().slice(-3000)}`).join("\n"),
  };
}
