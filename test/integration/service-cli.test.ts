// The CLI as users run it: --help documents every flag and variable; bad flags and bad environment values stop it
// with one line naming them and exit code 2; `serve` starts and stops on SIGTERM with exit 0 in bounded time.
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { suite } from "../harness.js";
import { repoRoot } from "../infra/paths.js";
import { FLAGS } from "../../service/config.js";
import { kbtFreeEnv, runCli as run, runCommand, startServeProcess, type CliRun as Run } from "./service-fixtures.js";

const launcher = resolve(repoRoot(), "bin/kafka-beam-ts");

function assertUsageError(result: Run, pattern: RegExp, what: string): void {
  assert.is(result.code, 2, `${what}: exit code (stderr: ${result.stderr})`);
  const lines = result.stderr.trimEnd().split("\n");
  assert.is(lines.length, 1, `${what}: one line, got:\n${result.stderr}`);
  assert.match(lines[0]!, pattern, what);
  assert.is(result.stdout, "", `${what}: nothing on stdout`);
}

const s = suite("service: CLI", { timeoutMs: 60_000 });
let scratch = "";
s.before(() => {
  scratch = mkdtempSync(join(tmpdir(), "kbt-cli-"));
});
s.after(() => rmSync(scratch, { recursive: true, force: true }));

s.test("--help documents every command, flag and environment variable; exit 0", async () => {
  const result = await run(["--help"]);
  assert.is(result.code, 0);
  for (const command of ["serve", "worker", "demo", "healthcheck"])
    assert.match(result.stdout, new RegExp(`^  ${command}\\s`, "m"), command);
  for (const spec of FLAGS) {
    assert.ok(result.stdout.includes(spec.flag), spec.flag);
    if (spec.env) assert.ok(result.stdout.includes(`env ${spec.env}`), spec.env);
  }
  for (const fallback of [
    "default 127.0.0.1",
    "default 8097",
    "default 50000",
    "default 8080",
    "default process",
    "default 10000",
  ]) {
    assert.ok(result.stdout.includes(fallback), fallback);
  }
  for (const workerFlag of ["--id=", "--provision_endpoint=", "PROVISION_API_SERVICE_DESCRIPTOR", "KBT_NODE"])
    assert.ok(result.stdout.includes(workerFlag), workerFlag);
  const serveHelp = await run(["serve", "--help"]);
  assert.is(serveHelp.code, 0);
  for (const spec of FLAGS.filter((f) => f.commands.includes("serve")))
    assert.ok(serveHelp.stdout.includes(spec.flag), `serve --help: ${spec.flag}`);
  assert.not.ok(serveHelp.stdout.includes("--records"), "serve --help lists only serve's flags");
});

s.test("bad flags and bad environment values: one line naming the flag or variable, exit 2", async () => {
  const missing = join(scratch, "missing.pem");
  const notPem = join(scratch, "not.pem");
  writeFileSync(notPem, "hello\n");
  const cases: { args: string[]; env?: Record<string, string>; error: RegExp }[] = [
    {
      args: ["serve", "--expansion-port", "http"],
      error: /^kafka-beam-ts serve: --expansion-port="http": expected a port number 0-65535/,
    },
    { args: ["serve", "--worker-pool-port=70000"], error: /--worker-pool-port="70000": expected a port number/ },
    { args: ["serve", "--http-port", "-1"], error: /--http-port="-1": expected a port number/ },
    { args: ["serve", "--http-port"], error: /--http-port needs a value \(PORT\)/ },
    {
      args: ["serve", "--expansion-port", "9000", "--http-port", "9000"],
      error: /--http-port and --expansion-port are both 9000/,
    },
    {
      args: ["serve", "--environment", "k8s"],
      error: /--environment="k8s": expected one of process, external, docker/,
    },
    {
      args: ["serve", "--environment", "docker"],
      error: /--environment docker needs --docker-image \(or KBT_DOCKER_IMAGE\)/,
    },
    {
      args: ["serve", "--environment", "external", "--external-address", "pool"],
      error: /--external-address="pool": expected HOST:PORT/,
    },
    {
      args: ["serve", "--log-level", "verbose"],
      error: /--log-level="verbose": expected one of debug, info, warn, error/,
    },
    {
      args: ["serve", "--shutdown-timeout-ms", "soon"],
      error: /--shutdown-timeout-ms="soon": expected milliseconds from 0 to 3600000/,
    },
    { args: ["serve", "--host", "not a host"], error: /--host="not a host": expected an IP address or a host name/ },
    {
      args: ["serve", "--tls-cert", missing],
      error: /--tls-cert is set but --tls-key \(KBT_TLS_KEY\) is not: TLS needs both/,
    },
    {
      args: ["serve", "--tls-cert", missing, "--tls-key", missing],
      error: /--tls-cert=".*missing\.pem": cannot read the file \(ENOENT\)/,
    },
    {
      args: ["serve", "--tls-cert", notPem, "--tls-key", notPem],
      error: /--tls-cert=".*not\.pem": not a PEM certificate/,
    },
    { args: ["serve", "--port", "1"], error: /unknown flag --port \(serve takes --host, --expansion-port,/ },
    { args: ["serve", "extra"], error: /unexpected argument "extra"/ },
    {
      args: ["serve"],
      env: { KBT_EXPANSION_PORT: "eighty" },
      error: /^kafka-beam-ts serve: KBT_EXPANSION_PORT="eighty": expected a port number/,
    },
    { args: ["serve"], env: { KBT_HTTP_PORT: "99999" }, error: /KBT_HTTP_PORT="99999": expected a port number/ },
    {
      args: ["serve"],
      env: { KBT_ENVIRONMENT: "lambda" },
      error: /KBT_ENVIRONMENT="lambda": expected one of process, external, docker/,
    },
    { args: ["serve"], env: { KBT_LOG_LEVEL: "loud" }, error: /KBT_LOG_LEVEL="loud": expected one of/ },
    {
      args: ["serve"],
      env: { KBT_SHUTDOWN_TIMEOUT_MS: "1.5" },
      error: /KBT_SHUTDOWN_TIMEOUT_MS="1.5": expected milliseconds/,
    },
    {
      args: ["serve"],
      env: { KBT_TLS_KEY: missing },
      error: /KBT_TLS_KEY is set but --tls-cert \(KBT_TLS_CERT\) is not/,
    },
    {
      args: ["demo"],
      env: { KBT_BOOTSTRAP: "localhost" },
      error: /^kafka-beam-ts demo: KBT_BOOTSTRAP="localhost": expected HOST:PORT/,
    },
    { args: ["demo", "--records", "0"], error: /--records="0": expected a record count from 1 to 10000000/ },
    { args: ["demo", "--partitions", "many"], error: /--partitions="many": expected a partition count/ },
    { args: ["healthcheck", "--http-port", "0"], error: /--http-port="0": expected the port serve listens on/ },
    { args: ["worker"], error: /^kafka-beam-ts worker: --id is required/ },
    { args: ["worker", "--id='w1'"], error: /--provision_endpoint or --control_endpoint is required/ },
    { args: ["--id=w1"], error: /^kafka-beam-ts worker: --provision_endpoint or --control_endpoint is required/ },
    { args: ["launch"], error: /^kafka-beam-ts: unknown command "launch"; commands: serve, worker, demo, healthcheck/ },
  ];
  const results = await Promise.all(cases.map((c) => run(c.args, kbtFreeEnv(c.env))));
  for (const [i, c] of cases.entries())
    assertUsageError(results[i]!, c.error, `${c.args.join(" ")} ${JSON.stringify(c.env ?? {})}`);
});

s.test("a flag wins over its environment variable; an empty variable counts as unset", async () => {
  const service = await startServeProcess([], { env: kbtFreeEnv({ KBT_EXPANSION_PORT: "bad", KBT_LOG_LEVEL: "" }) });
  await service.stop();
});

s.test("serve: starts on free ports, logs them as JSON, stops on SIGTERM with exit 0 in bounded time", async () => {
  const service = await startServeProcess(["--shutdown-timeout-ms", "3000"]);
  try {
    const lines = service.logLines();
    assert.is(lines.length, service.output().trim().split("\n").length, `every line is JSON:\n${service.output()}`);
    const serving = service.serving;
    for (const key of ["expansion", "workerPool", "http"] as const) {
      assert.match(String(serving[key]), /^127\.0\.0\.1:[1-9]\d*$/, `${key} reports the actual port`);
    }
    assert.is(serving.environment, "process");
    assert.is(serving.tls, false);
    assert.is(serving.shutdownTimeoutMs, 3000);
    // test/infra/service.ts (xlang tests) finds the expansion address with this exact line.
    assert.match(service.output(), new RegExp(`"msg":"expansion service listening","address":"${service.expansion}"`));
    for (const line of lines) {
      assert.type(line.time, "string");
      assert.ok(["debug", "info", "warn", "error"].includes(String(line.level)));
    }
    const t0 = Date.now();
    service.signal("SIGTERM");
    const code = await service.exited;
    assert.is(code, 0, service.output());
    assert.ok(Date.now() - t0 < 3_000, `stopped in ${Date.now() - t0} ms`);
    assert.match(service.output(), /"msg":"shutting down","reason":"SIGTERM"/);
    assert.match(service.output(), /"msg":"stopped"/);
  } finally {
    await service.stop();
  }
});

s.test("serve: SIGINT stops it too; a port already taken is one error line and exit 1", async () => {
  const first = await startServeProcess();
  try {
    const port = first.expansion.split(":")[1]!;
    const clash = await run(["serve", "--expansion-port", port, "--worker-pool-port", "0", "--http-port", "0"]);
    assert.is(clash.code, 1, clash.stdout + clash.stderr);
    assert.match(
      clash.stdout,
      new RegExp(
        `"level":"error","msg":"cannot start","error":"cannot listen on 127\\.0\\.0\\.1:${port} \\(--expansion-port\\)`,
      ),
    );
    first.signal("SIGINT");
    assert.is(await first.exited, 0);
  } finally {
    await first.stop();
  }
});

s.test("bin/kafka-beam-ts is the same CLI (what runners and the image run)", async () => {
  const result = await runCommand(launcher, ["--version"]);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, /^\d+\.\d+\.\d+/);
});

s.run();
