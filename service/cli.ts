// The CLI: `serve`, `worker`, `demo`. See `--help`.
import { runDemo } from "./demo.js";
import { startServices, defaultProcessEnvironment } from "./serve.js";
import { runWorker } from "./worker.js";

const HELP = `kafka-beam-ts — Kafka connector for Apache Beam in TypeScript

Usage: kafka-beam-ts <command> [flags]

Commands:
  demo [--bootstrap host:port] [--records N]
        Write sample records and read them back. Without --bootstrap, starts a local Kafka broker.
`;

function flagValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith("--")) usageError(`${name} needs a value`);
  return value;
}

function usageError(message: string): never {
  process.stderr.write(`kafka-beam-ts: ${message} (see --help)\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (!command || command === "--help" || command === "-h") {
    process.stdout.write(HELP);
    return;
  }
  switch (command) {
    case "demo": {
      const records = Number(flagValue(args, "--records") ?? "10");
      if (!Number.isInteger(records) || records <= 0) usageError("--records must be a positive integer");
      await runDemo({ bootstrap: flagValue(args, "--bootstrap") ?? process.env.KBT_BOOTSTRAP, records }, (l) => console.log(l));
      return;
    }
    case "worker":
      await runWorker(args);
      process.exit(0);
    case "serve": {
      const host = flagValue(args, "--host") ?? process.env.KBT_HOST ?? "127.0.0.1";
      const expansionPort = Number(flagValue(args, "--expansion-port") ?? process.env.KBT_EXPANSION_PORT ?? "8097");
      if (!Number.isInteger(expansionPort) || expansionPort < 0 || expansionPort > 65535) usageError("--expansion-port must be a port number");
      const running = await startServices({ host, expansionPort, environment: defaultProcessEnvironment() }, (l) => console.log(l));
      const stop = () => void running.stop().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      return;
    }
    default:
      usageError(`unknown command ${command}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
