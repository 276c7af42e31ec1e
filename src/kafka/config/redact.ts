// Masks secrets in config maps before they reach a log line, an error or a metrics label.
import type { KafkaConfigMap } from "./types.js";

export const REDACTED = "[redacted]";

const SECRET_PATTERNS: readonly RegExp[] = [
  /password/i,
  /secret/i,
  /token/i,
  /credential/i,
  /user\.info/i, // schema registry basic auth "user:password"
  /^sasl\.jaas\.config$/i,
  /^ssl\..*key/i, // ssl.keystore.key, ssl.key.password, ssl.key.pem, ... (and, harmlessly, ssl.keystore.location)
];

/** True if the value of this config key may be a secret (passwords, keys, JAAS text). */
export function isSecretConfigKey(key: string): boolean {
  return SECRET_PATTERNS.some((pattern) => pattern.test(key));
}

/** A copy of the map with every secret value replaced by "[redacted]"; other values as strings. */
export function redact(config: KafkaConfigMap): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    out[key] = isSecretConfigKey(key) ? REDACTED : String(value);
  }
  return Object.freeze(out);
}
