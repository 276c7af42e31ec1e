// Runs a Python script of test/xlang/python with the pinned Beam venv (KBT_PYTHON), bounded in time.
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { repoRoot } from "./paths.js";

export interface PythonResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Where a pipeline of kafka_pipelines.py finds our expansion service, the runner's job service and Kafka. */
export interface PipelineEndpoints {
  readonly expansion: string;
  readonly jobEndpoint: string;
  readonly bootstrap: string;
}

/** Runs test/xlang/python/kafka_pipelines.py in `mode` against `at`, with the mode's own flags. */
export function runKafkaPipeline(
  mode: string,
  at: PipelineEndpoints,
  args: readonly string[],
  timeoutMs: number,
): Promise<PythonResult> {
  return runPython(
    "kafka_pipelines.py",
    [mode, "--expansion", at.expansion, "--job-endpoint", at.jobEndpoint, "--bootstrap", at.bootstrap, ...args],
    timeoutMs,
  );
}

export async function runPython(script: string, args: string[], timeoutMs: number): Promise<PythonResult> {
  const python = process.env.KBT_PYTHON;
  if (!python) throw new Error("KBT_PYTHON is not set: run through test/runner.ts (xlang) or scripts/setup-xlang.sh");
  const path = resolve(repoRoot(), "test/xlang/python", script);
  const started = Date.now();
  let resultAt: number | undefined;
  return new Promise((done) => {
    const child = execFile(
      python,
      [path, ...args],
      {
        timeout: timeoutMs,
        killSignal: "SIGKILL",
        maxBuffer: 64 << 20,
        env: { ...process.env, PYTHONUNBUFFERED: "1" },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        // A slow run says where its time went (pipeline, or the interpreter's exit), in the test output.
        const tookMs = Date.now() - started;
        if (tookMs > SLOW_RUN_MS) {
          const result =
            resultAt === undefined
              ? "no result line"
              : `result line after ${((resultAt - started) / 1000).toFixed(1)} s`;
          console.log(`  (python ${script} ${args[0] ?? ""}: ${(tookMs / 1000).toFixed(1)} s, ${result})`);
        }
        done({ code, stdout, stderr: err?.killed ? `${stderr}\n(killed after ${timeoutMs} ms)` : stderr });
      },
    );
    child.stdout?.on("data", (chunk: Buffer) => {
      if (resultAt === undefined && chunk.includes('{"')) resultAt = Date.now();
    });
  });
}

const SLOW_RUN_MS = 90_000;

/** The last line of stdout parsed as JSON: the scripts print their result that way. */
export function lastJsonLine<T>(result: PythonResult): T {
  const lines = result.stdout.trim().split("\n");
  const last = lines[lines.length - 1] ?? "";
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(
      `python exited ${result.code} without a JSON result line.\nstdout:\n${result.stdout.slice(-4000)}\nstderr:\n${result.stderr.slice(-8000)}`,
    );
  }
}

/** A row of kafka_pipelines.py's read-metadata mode: Beam's ReadFromKafka(with_metadata=True) row, as JSON. */
export interface MetadataRow {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string;
  readonly value: string;
  readonly headers: [string, string][];
  readonly timestampTypeId: number;
  readonly timestampTypeName: string;
}
