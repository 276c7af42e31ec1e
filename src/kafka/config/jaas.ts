// `sasl.jaas.config` as Kafka reads it: one login module entry,
//   <module class> <required|requisite|sufficient|optional> [name=value ...];
// values are double-quoted (backslash escapes \" and \\) or bare words. The PLAIN and SCRAM modules carry a username
// and password, the OAUTHBEARER module its client credentials options; anything else is a KafkaConfigError. Error
// messages never echo option values.
import { KafkaConfigError } from "../errors.js";
import type { SaslMechanism } from "./types.js";

const KEY = "sasl.jaas.config";
const PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule";
const SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule";
const OAUTHBEARER_MODULE = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";
const CONTROL_FLAGS = new Set(["required", "requisite", "sufficient", "optional"]);

export type JaasLogin =
  | { readonly module: "plain" | "scram"; readonly username: string; readonly password: string }
  /** OAuthBearerLoginModule: its options as written (clientId, clientSecret, scope, extension_<name>, ...). */
  | { readonly module: "oauthbearer"; readonly options: ReadonlyMap<string, string> };

type Token = { kind: "word"; text: string } | { kind: "quoted"; text: string } | { kind: "punct"; text: "=" | ";" };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "=" || c === ";") {
      tokens.push({ kind: "punct", text: c });
      i++;
      continue;
    }
    if (c === '"') {
      let value = "";
      i++;
      for (;;) {
        if (i >= text.length) throw new KafkaConfigError(KEY, "unterminated quoted value");
        const d = text[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === "\\" && i + 1 < text.length) {
          const next = text[i + 1]!;
          value += next === "n" ? "\n" : next === "t" ? "\t" : next;
          i += 2;
          continue;
        }
        value += d;
        i++;
      }
      tokens.push({ kind: "quoted", text: value });
      continue;
    }
    let word = "";
    while (i < text.length && !/[\s=;"]/.test(text[i]!)) word += text[i++];
    tokens.push({ kind: "word", text: word });
  }
  return tokens;
}

/** Parses one login module entry and returns its credentials. */
export function parseJaasConfig(text: string): JaasLogin {
  const tokens = tokenize(text);
  const moduleToken = tokens.shift();
  if (moduleToken?.kind !== "word") {
    throw new KafkaConfigError(KEY, "expected a login module class name");
  }
  const flag = tokens.shift();
  if (flag?.kind !== "word" || !CONTROL_FLAGS.has(flag.text.toLowerCase())) {
    throw new KafkaConfigError(
      KEY,
      `expected a control flag (required, requisite, sufficient, optional) after ${moduleToken.text}`,
    );
  }
  const options = new Map<string, string>();
  for (;;) {
    const next = tokens.shift();
    if (!next) throw new KafkaConfigError(KEY, "missing ';' at the end of the login module entry");
    if (next.kind === "punct" && next.text === ";") break;
    if (next.kind !== "word") throw new KafkaConfigError(KEY, "expected an option name");
    const eq = tokens.shift();
    const value = tokens.shift();
    if (eq?.kind !== "punct" || eq.text !== "=" || !value || value.kind === "punct") {
      throw new KafkaConfigError(KEY, `option ${next.text} must be written ${next.text}="value"`);
    }
    options.set(next.text, value.text);
  }
  if (tokens.length > 0) {
    throw new KafkaConfigError(KEY, "only one login module entry is supported");
  }

  if (moduleToken.text === OAUTHBEARER_MODULE) return { module: "oauthbearer", options };
  let module: "plain" | "scram";
  if (moduleToken.text === PLAIN_MODULE) module = "plain";
  else if (moduleToken.text === SCRAM_MODULE) module = "scram";
  else {
    throw new KafkaConfigError(
      KEY,
      `login module ${moduleToken.text} is not supported (use ${PLAIN_MODULE}, ${SCRAM_MODULE} or ${OAUTHBEARER_MODULE})`,
    );
  }
  const username = options.get("username");
  const password = options.get("password");
  if (username === undefined || username === "")
    throw new KafkaConfigError(KEY, "the login module has no username option");
  if (password === undefined) throw new KafkaConfigError(KEY, "the login module has no password option");
  return { module, username, password };
}

/** The module a mechanism needs: PLAIN goes with PlainLoginModule, SCRAM-* with ScramLoginModule, OAUTHBEARER with OAuthBearerLoginModule. */
export function moduleForMechanism(mechanism: SaslMechanism): JaasLogin["module"] {
  return mechanism === "PLAIN" ? "plain" : mechanism === "OAUTHBEARER" ? "oauthbearer" : "scram";
}
