// The cross-language toolchain (Python venv with apache-beam, Prism, the Go example), installed or found by
// scripts/setup-xlang.sh, as the KBT_ variables the infra reads: for the test runner and the benches alike.
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "./paths.js";

const VARIABLES: Readonly<Record<string, string>> = {
  python: "KBT_PYTHON",
  prism: "KBT_PRISM",
  go_example: "KBT_GO_EXAMPLE",
};

/** Runs scripts/setup-xlang.sh; returns KBT_PYTHON, KBT_PRISM and KBT_GO_EXAMPLE from its `key=value` lines. */
export async function xlangToolchain(): Promise<Record<string, string>> {
  const { stdout } = await promisify(execFile)("bash", [resolve(repoRoot(), "scripts/setup-xlang.sh")], {
    maxBuffer: 1 << 20,
  });
  const env: Record<string, string> = {};
  for (const line of stdout.trim().split("\n")) {
    const [key, value] = line.split("=", 2);
    const variable = key === undefined ? undefined : VARIABLES[key];
    if (variable && value) env[variable] = value;
  }
  return env;
}

/** The same, set in this process's environment (for benches that start Prism and Python themselves). */
export async function useXlangToolchain(): Promise<void> {
  Object.assign(process.env, await xlangToolchain());
}
