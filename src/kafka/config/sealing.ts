// Secrets sealed for the trip through a runner: the expansion service replaces each literal secret in a Kafka config
// (passwords, private keys, JAAS text) with `${kbt-sealed:v1:<token>}`, AES-256-GCM under a key that never leaves the
// service and its workers (a file, KBT_SECRETS_KEY_FILE). The pipeline proto, the runner's job store and UIs then
// hold ciphertext; the worker opens it when it creates a client (references.ts). The config key is bound in as
// associated data, so a token moved to another key does not open.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KafkaConfigError } from "../errors.js";
import { isSecretConfigKey } from "./redact.js";
import type { KafkaConfigMap } from "./types.js";

export const SEALED_PROVIDER = "kbt-sealed";
/** The environment variable naming the key file, for `serve` and the workers it (or a runner) starts. */
export const SECRETS_KEY_FILE_ENV = "KBT_SECRETS_KEY_FILE";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const TOKEN = new RegExp(`^\\$\\{${SEALED_PROVIDER}:${VERSION}:([A-Za-z0-9_-]+)\\}$`);

/** Keys whose value is itself a secret (not a file location or a store type, which are not). */
export function holdsSecretValue(key: string): boolean {
  return (
    isSecretConfigKey(key) &&
    !/\.(location|type)$/.test(key) &&
    !key.endsWith(".certificate.chain") &&
    !key.startsWith("config.providers")
  );
}

/** True for a value that is a literal secret: a secret-holding key whose value holds no `${...}` reference. */
export function isLiteralSecret(key: string, value: string): boolean {
  return holdsSecretValue(key) && value !== "" && !/\$\{[^}]*:[^}]*\}/.test(value);
}

export class SecretSealer {
  private readonly key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== KEY_BYTES) throw new Error(`a sealing key has ${KEY_BYTES} bytes, got ${key.length}`);
    this.key = Buffer.from(key);
  }

  seal(configKey: string, value: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(configKey, "utf8"));
    const sealed = Buffer.concat([iv, cipher.update(value, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `\${${SEALED_PROVIDER}:${VERSION}:${sealed.toString("base64url")}}`;
  }

  unseal(configKey: string, token: string): string {
    const match = TOKEN.exec(token);
    if (!match) throw new KafkaConfigError(configKey, `a malformed ${SEALED_PROVIDER} reference`);
    const bytes = Buffer.from(match[1]!, "base64url");
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(configKey, "utf8"));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString("utf8");
    } catch {
      throw new KafkaConfigError(
        configKey,
        `was sealed with another key than this worker's (${SECRETS_KEY_FILE_ENV}): give the expansion service and its workers the same key file`,
      );
    }
  }

  /** A copy of `config` with every literal secret sealed; references and other values unchanged. */
  sealConfig(config: KafkaConfigMap): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) {
      const text = String(value);
      out[key] = isLiteralSecret(key, text) ? this.seal(key, text) : text;
    }
    return out;
  }
}

/** Reads a key file: 32 raw bytes, or their base64 or hex text. */
export function readSealingKey(path: string): Buffer {
  const bytes = readFileSync(path);
  if (bytes.length === KEY_BYTES) return bytes;
  const text = bytes.toString("utf8").trim();
  const decoded = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, "hex") : Buffer.from(text, "base64");
  if (decoded.length !== KEY_BYTES) {
    throw new Error(`${path}: a sealing key file holds ${KEY_BYTES} bytes (raw, base64 or hex)`);
  }
  return decoded;
}

/** A new random key in a file only this user can read (mode 0600, in a 0700 directory); returns its path. */
export function writeNewSealingKey(): string {
  const dir = mkdtempSync(join(tmpdir(), "kbt-secrets-"));
  const path = join(dir, "sealing.key");
  writeFileSync(path, `${randomBytes(KEY_BYTES).toString("base64")}\n`, { mode: 0o600 });
  chmodSync(dir, 0o700);
  return path;
}

const fromEnv = new Map<string, SecretSealer>();

/** The sealer of this process's key file (KBT_SECRETS_KEY_FILE), read once; undefined if the variable is unset. */
export function sealerFromEnv(env: NodeJS.ProcessEnv = process.env): SecretSealer | undefined {
  const path = env[SECRETS_KEY_FILE_ENV];
  if (path === undefined || path === "") return undefined;
  let sealer = fromEnv.get(path);
  if (!sealer) {
    try {
      sealer = new SecretSealer(readSealingKey(path));
    } catch (err) {
      throw new KafkaConfigError(
        SECRETS_KEY_FILE_ENV,
        `cannot read the sealing key ${path}: ${(err as Error).message}`,
      );
    }
    fromEnv.set(path, sealer);
  }
  return sealer;
}
