// managed: Python's managed.Read/Write send a transform identifier and its config as YAML text (or a local
// config_url file); expanded as the identified SchemaTransform.
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { ExpansionError, invalidArgument } from "../errors.js";
import { describe, readSchemaTransformConfig, type ConfigField, type SchemaTransformDefinition } from "./config.js";
import { SCHEMA_TRANSFORM_IDS } from "./ids.js";

const MANAGED_FIELDS: readonly ConfigField[] = [
  { name: "config", kind: "string", description: "YAML string config used to build the underlying IO." },
  {
    name: "config_url",
    kind: "string",
    description: "Path of a local YAML config file used to build the underlying IO (no remote URLs).",
  },
  {
    name: "transform_identifier",
    kind: "string",
    required: true,
    description: "Identifier of the underlying IO to instantiate.",
  },
];

const MAX_CONFIG_FILE_BYTES = 1 << 20;

/** The text of a config_url: a local path or file: URL; remote schemes are refused. */
function readConfigUrl(url: string): string {
  let path = url;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url)?.[1];
  if (scheme !== undefined) {
    if (scheme.toLowerCase() !== "file") {
      throw invalidArgument(
        "config_url",
        `only local files can be read by kafka-beam-ts, got a ${scheme}:// URL; pass the YAML as config instead`,
      );
    }
    try {
      path = fileURLToPath(url);
    } catch (err) {
      throw invalidArgument("config_url", `not a valid file URL: ${(err as Error).message}`, err);
    }
  }
  try {
    const stats = statSync(path);
    // A device (/dev/zero reads until memory runs out), a FIFO (blocks the event loop) or a directory is no config.
    if (!stats.isFile()) throw invalidArgument("config_url", `${path} is not a regular file`);
    const size = stats.size;
    if (size > MAX_CONFIG_FILE_BYTES)
      throw invalidArgument(
        "config_url",
        `${path} is ${size} bytes; a config file may have at most ${MAX_CONFIG_FILE_BYTES}`,
      );
    return readFileSync(path, "utf8");
  } catch (err) {
    if (err instanceof ExpansionError) throw err;
    throw invalidArgument(
      "config_url",
      `cannot read ${path} on the expansion service's machine: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      err,
    );
  }
}

/** Parses YAML as Python's yaml.dump and Java's SnakeYAML write it (YAML 1.1); null (Python's `config=None`) → null. */
function parseConfigYaml(field: string, text: string): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    // logLevel "error": the library's warnings (an unknown tag, ...) go to stderr quoting the config's source line,
    // which may hold a password; errors still throw.
    parsed = parseYaml(text, { version: "1.1", intAsBigInt: true, uniqueKeys: true, logLevel: "error" });
  } catch (err) {
    throw invalidArgument(field, `not valid YAML: ${(err as Error).message.split("\n")[0]}`, err);
  }
  if (parsed === null || parsed === undefined) return null;
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw invalidArgument(field, `expected a YAML mapping of config fields, got ${describe(parsed)}`);
  }
  return parsed as Record<string, unknown>;
}

/** The managed transform over these definitions. */
export function managedDefinition(underlying: readonly SchemaTransformDefinition[]): SchemaTransformDefinition {
  const byId = new Map(underlying.map((d) => [d.identifier, d]));
  return {
    identifier: SCHEMA_TRANSFORM_IDS.MANAGED,
    description:
      `Managed transform: expands one of ${[...byId.keys()].join(", ")} from a YAML config ` +
      "(Python's apache_beam.transforms.managed.Read/Write).",
    fields: MANAGED_FIELDS,
    inputs: [],
    outputs: [],
    expand(config, ctx) {
      const id = config.get("transform_identifier") as string;
      const target = byId.get(id);
      if (!target)
        throw invalidArgument(
          "transform_identifier",
          `${JSON.stringify(id)} is not served here; supported: ${[...byId.keys()].join(", ")}`,
        );
      const text = config.get("config") as string | undefined;
      const url = config.get("config_url") as string | undefined;
      let yaml = text !== undefined && text.trim() !== "" ? parseConfigYaml("config", text) : null;
      if (url !== undefined && url !== "") {
        if (yaml !== null) throw invalidArgument("config_url", "give config or config_url, not both");
        yaml = parseConfigYaml("config_url", readConfigUrl(url));
      }
      if (yaml === null)
        throw invalidArgument("config", `give the ${id} config as YAML (config) or a local file (config_url)`);
      return target.expand(readSchemaTransformConfig(target, Object.entries(yaml)), ctx);
    },
  };
}
