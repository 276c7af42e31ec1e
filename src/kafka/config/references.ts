// Kafka's config-provider references, `${provider:[path:]key}`, resolved where a client is created (the worker), so
// that a pipeline (and the payloads a runner stores) carries the reference, not the secret. As in Kafka, a provider
// must be declared: `config.providers=env,file` plus `config.providers.<name>.class` naming one of Kafka's providers
// (EnvVarConfigProvider, FileConfigProvider, DirectoryConfigProvider), optionally `...param.allowed.paths`.
// Our sealed provider (sealing.ts) needs no declaration: the expansion service writes those references itself.
import { readFileSync } from "node:fs";
import { isAbsolute, join, resolve, sep } from "node:path";
import { KafkaConfigError } from "../errors.js";
import { SEALED_PROVIDER, sealerFromEnv, type SecretSealer } from "./sealing.js";
import type { KafkaConfigMap, KafkaLogger } from "./types.js";

/** Kafka's reference syntax (ConfigTransformer): provider, optional path, key. */
const REFERENCE = /\$\{([^}]*?):(?:([^}]*?):)?([^}]*?)\}/g;

const PROVIDER_CLASSES = {
  "org.apache.kafka.common.config.provider.EnvVarConfigProvider": "env",
  "org.apache.kafka.common.config.provider.FileConfigProvider": "file",
  "org.apache.kafka.common.config.provider.DirectoryConfigProvider": "directory",
} as const;
type ProviderKind = (typeof PROVIDER_CLASSES)[keyof typeof PROVIDER_CLASSES];

/** `config.providers` and its `config.providers.<name>.*` settings: known keys, never sent to Kafka. */
export function isConfigProviderKey(key: string): boolean {
  return key === "config.providers" || key.startsWith("config.providers.");
}

/** True if the value holds a `${provider:...}` reference. */
export function hasReference(value: string): boolean {
  REFERENCE.lastIndex = 0;
  return REFERENCE.test(value);
}

interface Provider {
  readonly kind: ProviderKind;
  readonly allowedPaths: readonly string[] | undefined;
}

export interface ResolveDeps {
  /** Opens `${kbt-sealed:...}` values (default: the key file in KBT_SECRETS_KEY_FILE); asked only when one occurs. */
  readonly sealer?: () => SecretSealer | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly readFile?: (path: string) => string;
  readonly logger?: KafkaLogger;
}

function declaredProviders(config: KafkaConfigMap): Map<string, Provider> {
  const providers = new Map<string, Provider>();
  const names = String(config["config.providers"] ?? "")
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
  for (const name of names) {
    const classKey = `config.providers.${name}.class`;
    const className = config[classKey];
    if (className === undefined) throw new KafkaConfigError(classKey, `is required: config.providers names ${name}`);
    const kind = (PROVIDER_CLASSES as Record<string, ProviderKind>)[String(className).trim()];
    if (kind === undefined) {
      throw new KafkaConfigError(classKey, `supported providers are ${Object.keys(PROVIDER_CLASSES).join(", ")}`);
    }
    const allowed = config[`config.providers.${name}.param.allowed.paths`];
    const allowedPaths =
      allowed === undefined
        ? undefined
        : String(allowed)
            .split(",")
            .map((p) => p.trim())
            .filter((p) => p !== "")
            .map((p) => resolve(p));
    providers.set(name, { kind, allowedPaths });
  }
  return providers;
}

/** Java properties text → map (`key=value` or `key: value`; `#`/`!` comments; no line continuations). */
function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    const at = line.search(/[=:]/);
    if (at < 0) out.set(line, "");
    else out.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return out;
}

/**
 * A copy of `config` with every reference to a declared (or the sealed) provider replaced by its value. Errors name
 * the config key and the reference, never a resolved value. References to undeclared providers stay as written, as
 * in Kafka, with a warning when they look like one of Kafka's.
 */
export function resolveReferences(config: KafkaConfigMap, deps: ResolveDeps = {}): Record<string, string> {
  const providers = declaredProviders(config);
  const env = deps.env ?? process.env;
  const readFile = deps.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    const text = String(value);
    if (isConfigProviderKey(key) || !text.includes("${")) {
      out[key] = text;
      continue;
    }
    out[key] = text.replace(REFERENCE, (whole, name: string, path: string | undefined, ref: string) => {
      if (name === SEALED_PROVIDER) {
        const sealer = (deps.sealer ?? sealerFromEnv)();
        if (!sealer) {
          throw new KafkaConfigError(
            key,
            "was sealed by the expansion service, and this worker has no key to open it: give the worker the " +
              "service's key file (KBT_SECRETS_KEY_FILE, serve --secrets-key-file)",
          );
        }
        return sealer.unseal(key, whole);
      }
      const provider = providers.get(name);
      if (provider === undefined) {
        if (name in { env: 1, file: 1, directory: 1 }) {
          deps.logger?.(
            "warn",
            `${key} holds a \${${name}:...} reference but config.providers does not declare ${name}: used as written`,
          );
        }
        return whole;
      }
      const where = `${key} (\${${name}:${path === undefined ? "" : `${path}:`}${ref}})`;
      if (provider.kind === "env") {
        const found = env[path === undefined ? ref : `${path}:${ref}`];
        if (found === undefined) throw new KafkaConfigError(key, `${where}: the environment variable is not set`);
        return found;
      }
      if (path === undefined || path === "") {
        throw new KafkaConfigError(key, `${where}: a ${provider.kind} reference needs a path: \${${name}:path:key}`);
      }
      const target = provider.kind === "directory" ? join(path, ref) : path;
      checkAllowed(key, where, target, provider);
      let contents: string;
      try {
        contents = readFile(target);
      } catch (err) {
        throw new KafkaConfigError(key, `${where}: cannot read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
      }
      if (provider.kind === "directory") return contents;
      const found = parseProperties(contents).get(ref);
      if (found === undefined) throw new KafkaConfigError(key, `${where}: no such key in the file`);
      return found;
    });
  }
  return out;
}

function checkAllowed(key: string, where: string, target: string, provider: Provider): void {
  if (!isAbsolute(target)) throw new KafkaConfigError(key, `${where}: the path must be absolute`);
  if (provider.allowedPaths === undefined) return;
  const full = resolve(target);
  if (!provider.allowedPaths.some((allowed) => full === allowed || full.startsWith(allowed + sep))) {
    throw new KafkaConfigError(key, `${where}: the path is outside the provider's allowed.paths`);
  }
}
