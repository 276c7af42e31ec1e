// Reads typed values out of a Java-style config map, remembering which keys were used so that the rest can be
// reported once: keys known but without effect here get a note, unknown keys a warning. Invalid values raise a
// KafkaConfigError naming the key; secret values are never echoed.
import { KafkaConfigError } from "../errors.js";
import { isSecretConfigKey } from "./redact.js";
import { hasReference, isConfigProviderKey } from "./references.js";
import type { KafkaConfigMap, KafkaLogger } from "./types.js";

const INT32_MAX = 2_147_483_647;

/** Keys reported once per logger (and per key), so a config parsed for every bundle does not flood the log. */
const reported = new WeakMap<KafkaLogger, Set<string>>();

export function reportOnce(logger: KafkaLogger, key: string, level: "info" | "warn", message: string): void {
  let seen = reported.get(logger);
  if (!seen) reported.set(logger, (seen = new Set()));
  const id = `${level}:${key}`;
  if (seen.has(id)) return;
  seen.add(id);
  logger(level, message, { key });
}

export const consoleLogger: KafkaLogger = (level, message) => {
  if (level === "warn" || level === "error") console.warn(`[kafka] ${message}`);
};

export class ConfigReader {
  private readonly used = new Set<string>();

  constructor(
    private readonly config: KafkaConfigMap,
    readonly logger: KafkaLogger,
    private readonly options: { readonly deferReferences?: boolean } = {},
  ) {}

  /** True if the value holds a `${provider:...}` reference left for the worker to resolve: check it there. */
  deferred(key: string): boolean {
    const value = this.exact(key);
    return this.options.deferReferences === true && value !== undefined && hasReference(value);
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  /** The value as given (trimmed), or undefined if the key is absent; marks the key as used. */
  raw(key: string): string | undefined {
    if (!Object.hasOwn(this.config, key)) return undefined;
    this.used.add(key);
    const value = this.config[key];
    if (value === undefined || value === null) return undefined;
    return typeof value === "string" ? value.trim() : String(value);
  }

  /** The value without trimming (PEM text, passwords keep their exact bytes). */
  exact(key: string): string | undefined {
    if (!Object.hasOwn(this.config, key)) return undefined;
    this.used.add(key);
    const value = this.config[key];
    return value === undefined || value === null ? undefined : String(value);
  }

  string(key: string): string | undefined {
    const value = this.raw(key);
    return value === undefined || value === "" ? undefined : value;
  }

  fail(key: string, problem: string): never {
    throw new KafkaConfigError(key, problem);
  }

  /** Shows a value in an error message unless the key may hold a secret. */
  show(key: string, value: string): string {
    return isSecretConfigKey(key) ? "(value hidden)" : JSON.stringify(value);
  }

  int(key: string, fallback: number, bounds: { min?: number; max?: number } = {}): number {
    const value = this.raw(key);
    if (value === undefined || value === "") return fallback;
    if (!/^[+-]?\d+$/.test(value)) this.fail(key, `expected an integer, got ${this.show(key, value)}`);
    const n = Number(value);
    const min = bounds.min ?? 0;
    const max = bounds.max ?? INT32_MAX;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      this.fail(key, `expected an integer between ${min} and ${max}, got ${this.show(key, value)}`);
    }
    return n;
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.raw(key);
    if (value === undefined || value === "") return fallback;
    const lower = value.toLowerCase();
    if (lower === "true") return true;
    if (lower === "false") return false;
    return this.fail(key, `expected true or false, got ${this.show(key, value)}`);
  }

  /** One of `allowed`, matched case-insensitively and returned in its canonical spelling. */
  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T;
  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: undefined): T | undefined;
  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T | undefined): T | undefined {
    const value = this.raw(key);
    if (value === undefined || value === "") return fallback;
    const match = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
    if (match === undefined) this.fail(key, `expected one of ${allowed.join(", ")}, got ${this.show(key, value)}`);
    return match;
  }

  /** Keys accepted for compatibility that have no effect here: a note each, once. */
  noteIgnored(notes: Readonly<Record<string, string>>): void {
    for (const [key, why] of Object.entries(notes)) {
      if (this.has(key)) reportOnce(this.logger, key, "info", `config key ${key} is accepted and ignored: ${why}`);
    }
  }

  /** Keys that would change behaviour in a way we cannot honour: a KafkaConfigError, not a silent drop. */
  rejectIfSet(rejections: Readonly<Record<string, string>>): void {
    for (const [key, why] of Object.entries(rejections)) {
      if (this.string(key) !== undefined) this.fail(key, why);
    }
  }

  /** Warns once for every key never read. */
  warnUnknown(kind: "consumer" | "producer"): void {
    for (const key of Object.keys(this.config)) {
      if (!this.used.has(key) && !isConfigProviderKey(key)) {
        reportOnce(this.logger, key, "warn", `unknown ${kind} config key ${key}: ignored`);
      }
    }
  }
}
