// Runs the uvu suites, one child process per file, and prints the total as `N passed, N failed`.
// Usage: node dist/test/runner.js [unit|integration|xlang|all ...] [--filter substring]
// Integration and xlang files share one real broker started here (KBT_BOOTSTRAP); xlang also gets the
// Python/Prism/Go toolchain (KBT_PYTHON, KBT_PRISM, KBT_GO_EXAMPLE). A file that hangs is killed and named, never a CI timeout.
import { spawn } from "node:child_process";
import { readdirSync, statSync, readFileSync, rmSync, mkdtempSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { tmpdir } from "node:os";
import { repoRoot } from "./infra/paths.js";
import { startBroker, type Broker } from "./infra/broker.js";
import { xlangToolchain } from "./infra/toolchain.js";

const SUITES = ["unit", "integration", "xlang"] as const;
type SuiteName = (typeof SUITES)[number];

interface FileOutcome {
  file: string;
  passed: string[];
  failed: { name: string; error: string }[];
  skipped: string[];
  seconds: number;
}

const root = repoRoot();
const distTest = resolve(root, "dist/test");
const fileTimeoutMs = Number(process.env.KBT_FILE_TIMEOUT_MS ?? 15 * 60_000);

function parseArgs(argv: string[]): { suites: SuiteName[]; filter: string | undefined } {
  const suites: SuiteName[] = [];
  let filter: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--filter") filter = argv[++i];
    else if (arg === "all") suites.push(...SUITES);
    else if ((SUITES as readonly string[]).includes(arg)) suites.push(arg as SuiteName);
    else {
      console.error(`runner: unknown argument ${arg} (expected ${SUITES.join("|")}|all, --filter TEXT)`);
      process.exit(2);
    }
  }
  return { suites: suites.length ? [...new Set(suites)] : [...SUITES], filter };
}

function testFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.sort().flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith(".test.js") ? [path] : [];
  });
}

function parseResults(resultFile: string): Omit<FileOutcome, "file" | "seconds"> {
  const registered = new Set<string>();
  const passed: string[] = [];
  const failed: { name: string; error: string }[] = [];
  const skipped: string[] = [];
  let text = "";
  try {
    text = readFileSync(resultFile, "utf8");
  } catch {
    /* the file never ran a test */
  }
  for (const line of text.split("\n")) {
    if (!line) continue;
    const entry = JSON.parse(line) as { type: string; suite: string; test: string; ok?: boolean; error?: string };
    const name = `${entry.suite} › ${entry.test}`;
    if (entry.type === "registered") registered.add(name);
    else if (entry.type === "skipped") skipped.push(name);
    else if (entry.type === "result") {
      registered.delete(name);
      if (entry.ok) passed.push(name);
      else failed.push({ name, error: entry.error ?? "" });
    }
  }
  for (const name of registered)
    failed.push({ name, error: "never finished (the process exited or was killed first)" });
  return { passed, failed, skipped };
}

let current: ReturnType<typeof spawn> | undefined;

async function runFile(file: string, env: NodeJS.ProcessEnv): Promise<FileOutcome> {
  const scratch = mkdtempSync(join(tmpdir(), "kbt-run-"));
  const resultFile = join(scratch, "results.jsonl");
  const started = Date.now();
  const child = spawn(process.execPath, ["--enable-source-maps", file], {
    // kafkajs's negative timer delays warn on Node >= 23 (harmless); the launchers in bin/ pass the same flag. Set
    // through NODE_OPTIONS so that every Node process a test starts (serve, workers, children) inherits it.
    env: {
      ...env,
      KBT_RESULT_FILE: resultFile,
      NODE_OPTIONS: `${env.NODE_OPTIONS ?? ""} --disable-warning=TimeoutNegativeWarning`.trim(),
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  current = child;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, fileTimeoutMs);
  const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  clearTimeout(timer);
  current = undefined;
  const outcome = parseResults(resultFile);
  rmSync(scratch, { recursive: true, force: true });
  const rel = relative(distTest, file);
  if (timedOut)
    outcome.failed.push({ name: `${rel}`, error: `killed after ${fileTimeoutMs} ms (KBT_FILE_TIMEOUT_MS)` });
  else if (code !== 0 && outcome.failed.length === 0) {
    outcome.failed.push({
      name: `${rel}`,
      error: `exited with code ${code} without a failed test (crash before or after its tests?)`,
    });
  }
  if (outcome.passed.length + outcome.failed.length === 0 && outcome.skipped.length === 0) {
    outcome.failed.push({ name: `${rel}`, error: "ran no test" });
  }
  return { file: rel, ...outcome, seconds: (Date.now() - started) / 1000 };
}

async function main(): Promise<void> {
  const { suites, filter } = parseArgs(process.argv.slice(2));
  const files = suites.flatMap((s) => testFiles(join(distTest, s))).filter((f) => !filter || f.includes(filter));
  if (files.length === 0) {
    console.error(`runner: no test files for ${suites.join(", ")}${filter ? ` matching ${filter}` : ""}`);
    console.log("0 passed, 1 failed");
    process.exit(1);
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  const needsBroker = files.some((f) => !f.startsWith(join(distTest, "unit")));
  let broker: Broker | undefined;
  const outcomes: FileOutcome[] = [];
  const shutdown = async (signal: string) => {
    current?.kill("SIGKILL");
    await broker?.stop();
    console.error(`runner: stopped by ${signal}`);
    process.exit(130);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));

  try {
    if (needsBroker && !env.KBT_BOOTSTRAP) {
      const t0 = Date.now();
      broker = await startBroker();
      env.KBT_BOOTSTRAP = broker.bootstrap;
      console.log(`runner: Kafka broker at ${broker.bootstrap} (ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
    if (files.some((f) => f.startsWith(join(distTest, "xlang"))) && !env.KBT_PYTHON) {
      const t0 = Date.now();
      Object.assign(env, await xlangToolchain());
      console.log(`runner: xlang toolchain ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    for (const file of files) {
      console.log(`\n── ${relative(distTest, file)}`);
      outcomes.push(await runFile(file, env));
    }
  } catch (err) {
    outcomes.push({
      file: "runner setup",
      passed: [],
      skipped: [],
      seconds: 0,
      failed: [{ name: "runner setup", error: err instanceof Error ? (err.stack ?? err.message) : String(err) }],
    });
  } finally {
    await broker?.stop();
  }

  console.log("\n── summary");
  for (const o of outcomes) {
    console.log(
      `${o.failed.length ? "FAIL" : "ok  "} ${o.file}: ${o.passed.length} passed, ${o.failed.length} failed` +
        `${o.skipped.length ? `, ${o.skipped.length} skipped` : ""} (${o.seconds.toFixed(1)} s)`,
    );
  }
  const failures = outcomes.flatMap((o) => o.failed.map((f) => ({ ...f, file: o.file })));
  for (const f of failures) console.log(`\n✘ ${f.file}: ${f.name}\n${f.error}`);
  const passed = outcomes.reduce((n, o) => n + o.passed.length, 0);
  const skipped = outcomes.reduce((n, o) => n + o.skipped.length, 0);
  console.log(`\n${passed} passed, ${failures.length} failed${skipped ? `, ${skipped} skipped` : ""}`);
  process.exit(failures.length === 0 && passed > 0 ? 0 : 1);
}

await main();
