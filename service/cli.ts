// The CLI (package.json `bin`, bin/kafka-beam-ts): `serve`, `worker`, `demo`, `healthcheck`. See `--help`.
// Exit codes: 0 done, 1 failure, 2 bad flag or environment value (one line on stderr naming it).
import { BootError } from "../src/harness/index.js";
import { closeAllClients, verifyKafkaClient } from "../src/kafka/index.js";
import { prepareWorkerDescriptor, workerDoFns } from "./worker-code.js";
import {
  COMMANDS,
  ConfigError,
  helpText,
  parseDemoConfig,
  parseHealthcheckConfig,
  parseServeConfig,
  type Command,
} from "./config.js";
import { runDemo } from "./demo.js";
import { batchedStdout, jsonLogger } from "./log.js";
import { BindError, packageVersion, startServices } from "./serve.js";
import { runWorker } from "./worker.js";

/** Exits once stdout and stderr have flushed (a pipe drops what process.exit() cuts off). */
function finish(code: number): void {
  process.exitCode = code;
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

/** finish(), and unwinds the caller up to main() (only for code under main's await, not in callbacks). */
function exit(code: number): never {
  finish(code);
  throw new ExitSignal(code);
}

class ExitSignal extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

function usageError(command: string | undefined, message: string): never {
  const who = command ? `kafka-beam-ts ${command}` : "kafka-beam-ts";
  process.stderr.write(`${who}: ${message} (see ${who} --help)\n`);
  return exit(2);
}

async function serve(args: readonly string[]): Promise<void> {
  const config = parseServeConfig(args);
  const logger = jsonLogger(config.logLevel, batchedStdout());
  let running: Awaited<ReturnType<typeof startServices>>;
  try {
    running = await startServices(config, {
      logger,
      dofns: workerDoFns,
      prepareDescriptor: prepareWorkerDescriptor,
      closeKafkaClients: closeAllClients,
    });
  } catch (err) {
    if (err instanceof BindError) {
      logger.error("cannot start", { error: err.message });
      exit(1);
    }
    throw err;
  }
  const service = running;
  // A crash still leaves one structured line (the process then exits as Node decides).
  process.on("uncaughtExceptionMonitor", (error, origin) =>
    logger.error("crash", { origin, error: error.stack ?? String(error) }),
  );
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      logger.warn("second signal: exiting now", { signal });
      finish(1);
      return;
    }
    void service.stop(signal).then(
      (clean) => finish(clean ? 0 : 1),
      (err: unknown) => {
        logger.error("shutdown failed", { error: err });
        finish(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  const parent = config.parentPid;
  if (parent !== undefined) {
    // Started on demand (the Python package): outlive the launcher by at most a second, even if it was killed.
    const watch = setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch {
        clearInterval(watch);
        logger.info("parent process is gone: stopping", { parentPid: parent });
        onSignal("SIGTERM");
      }
    }, 1000);
    watch.unref();
  }
}

async function healthcheck(args: readonly string[]): Promise<void> {
  const config = parseHealthcheckConfig(args);
  try {
    const response = await fetch(config.url, { signal: AbortSignal.timeout(config.timeoutMs) });
    if (response.ok) exit(0);
    process.stderr.write(`kafka-beam-ts healthcheck: ${config.url} answered ${response.status}\n`);
  } catch (err) {
    if (err instanceof ExitSignal) throw err;
    process.stderr.write(`kafka-beam-ts healthcheck: ${config.url}: ${(err as Error).message}\n`);
  }
  exit(1);
}

async function main(argv: readonly string[]): Promise<void> {
  // A docker environment starts our image with only the boot flags (`--id=... --provision_endpoint=...`): a worker.
  const bootFlagsOnly = argv[0]?.startsWith("--") === true && argv.some((a) => /^--(id|worker_id)(=|$)/.test(a));
  const [command, ...args] = bootFlagsOnly ? ["worker", ...argv] : argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(helpText());
    return;
  }
  if (command === "--version" || command === "-v") {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  if (!(COMMANDS as readonly string[]).includes(command))
    usageError(undefined, `unknown command ${JSON.stringify(command)}; commands: ${COMMANDS.join(", ")}`);
  const cmd = command as Command;
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(helpText(cmd));
    return;
  }
  try {
    // A kafkajs whose internals moved fails here, naming what, not in the middle of a pipeline.
    if (cmd !== "healthcheck") await verifyKafkaClient();
    switch (cmd) {
      case "serve":
        return await serve(args);
      case "worker":
        await runWorker(args);
        return exit(0);
      case "demo": {
        const config = parseDemoConfig(args);
        return exit(await runDemo(config, (line) => process.stdout.write(`${line}\n`)));
      }
      case "healthcheck":
        return await healthcheck(args);
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof BootError) usageError(cmd, err.message.replace(/^worker: /, ""));
    throw err;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ExitSignal) return;
  process.stderr.write(`kafka-beam-ts: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  finish(1);
});
