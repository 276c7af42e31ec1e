import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";

/** The repository root, found from this compiled file (dist/test/infra) or its source (test/infra). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`repoRoot: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}
