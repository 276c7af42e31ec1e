// The parts a cross-language Kafka test needs, started in the suite's `before` and stopped in its `after`: the shared
// broker, Prism, and our service (`serve`, process environment by default).
import type { Suite } from "../harness.js";
import { brokerBootstrap, releaseBroker } from "./fixtures.js";
import { startPrism, type Prism } from "./prism.js";
import { startServe, type RunningCli } from "./service.js";

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
    get bootstrap() { return bootstrap; },
    get prism() { return started(prism, "Prism"); },
    get service() { return started(service, "service"); },
    logs: () => `--- prism/worker output ---\n${prism?.output().slice(-6000) ?? ""}\n--- service ---\n${service?.output().slice(-3000) ?? ""}`,
  };
}
