// Keys every Kafka client shares: bootstrap servers, identity, security (SASL, TLS), timeouts and retries.
import { moduleForMechanism, parseJaasConfig } from "./jaas.js";
import { normalizePem } from "./pem.js";
import type { ConfigReader } from "./reader.js";
import type {
  BrokerAddress,
  ConnectionOptions,
  OAuthBearerOptions,
  SaslMechanism,
  SaslOptions,
  SecurityProtocol,
  TlsMaterial,
  TlsOptions,
  TlsVersion,
} from "./types.js";

export const DEFAULT_CLIENT_ID = "kafka-beam-ts";

const SECURITY_PROTOCOLS: readonly SecurityProtocol[] = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];
const SASL_MECHANISMS: readonly SaslMechanism[] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];
const UNSUPPORTED_MECHANISMS = new Set(["GSSAPI"]);
/** Kafka's client-credentials login handler (4.x, and 3.x's package): the only Java class OAUTHBEARER takes. */
const OAUTH_LOGIN_HANDLERS = new Set([
  "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
  "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler",
]);
const LOGIN_HANDLER_KEY = "sasl.login.callback.handler.class";
/** A SASL extension's name as Kafka allows it (letters only; "auth" is the token's own). */
const EXTENSION_NAME = /^[A-Za-z]+$/;
const STORE_TYPES = ["PEM", "PKCS12", "JKS"] as const;
const TLS_VERSIONS: readonly TlsVersion[] = ["TLSv1.2", "TLSv1.3"];

const HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\])$/;

/** `host:port[,host:port...]`; IPv6 hosts in brackets. */
export function parseBootstrapServers(
  key: string,
  value: string | undefined,
  fail: (key: string, why: string) => never,
): BrokerAddress[] {
  if (value === undefined || value.trim() === "") fail(key, "is required (host:port[,host:port...])");
  const entries = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (entries.length === 0) fail(key, "is required (host:port[,host:port...])");
  return entries.map((entry) => {
    const withoutScheme = entry.replace(/^[A-Za-z_]+:\/\//, "");
    const colon = withoutScheme.lastIndexOf(":");
    const host = colon > 0 ? withoutScheme.slice(0, colon) : "";
    const portText = colon > 0 ? withoutScheme.slice(colon + 1) : "";
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!HOST.test(host) || !(port >= 1 && port <= 65535)) {
      fail(key, `invalid address ${JSON.stringify(entry)}: expected host:port`);
    }
    return Object.freeze({ host: host.startsWith("[") ? host.slice(1, -1) : host, port });
  });
}

function parseSasl(reader: ConfigReader, protocol: SecurityProtocol): SaslOptions | undefined {
  const mechanismKey = reader.has("sasl.mechanism") ? "sasl.mechanism" : "sasl.mechanisms"; // librdkafka spelling
  const rawMechanism = reader.string(mechanismKey);
  const jaasText = reader.exact("sasl.jaas.config");
  const username = reader.exact("sasl.username");
  const password = reader.exact("sasl.password");
  if (protocol !== "SASL_PLAINTEXT" && protocol !== "SASL_SSL") {
    const why = `no effect with security.protocol=${protocol}`;
    checkLoginHandler(reader, "none");
    reader.noteIgnored({
      [mechanismKey]: why,
      "sasl.jaas.config": why,
      "sasl.username": why,
      "sasl.password": why,
      [LOGIN_HANDLER_KEY]: why,
    });
    return undefined;
  }
  if (rawMechanism !== undefined && UNSUPPORTED_MECHANISMS.has(rawMechanism.toUpperCase())) {
    reader.fail(mechanismKey, `${rawMechanism.toUpperCase()} is not supported: use ${SASL_MECHANISMS.join(", ")}`);
  }
  const mechanism = reader.oneOf(mechanismKey, SASL_MECHANISMS, undefined);
  if (mechanism === undefined) {
    reader.fail(
      "sasl.mechanism",
      `is required with security.protocol=${protocol} (GSSAPI, Java's default, is not supported): set ${SASL_MECHANISMS.join(", ")}`,
    );
  }
  checkLoginHandler(reader, mechanism);
  const hasJaas = jaasText !== undefined && jaasText.trim() !== "";
  if (mechanism === "OAUTHBEARER") {
    if (username !== undefined || password !== undefined) {
      reader.fail("sasl.username", "does not apply to OAUTHBEARER: give the client credentials in sasl.jaas.config");
    }
    return parseOAuthBearer(reader, hasJaas ? jaasText : undefined);
  }
  const hasPlainCredentials = username !== undefined || password !== undefined;
  if (hasJaas && hasPlainCredentials) {
    reader.fail("sasl.jaas.config", "set either sasl.jaas.config or sasl.username/sasl.password, not both");
  }
  if (hasJaas && reader.deferred("sasl.jaas.config")) return Object.freeze({ mechanism, username: "", password: "" });
  if (hasJaas) {
    const login = parseJaasConfig(jaasText);
    if (login.module === "oauthbearer" || login.module !== moduleForMechanism(mechanism)) {
      reader.fail("sasl.jaas.config", `the login module does not match sasl.mechanism=${mechanism}`);
    }
    return Object.freeze({ mechanism, username: login.username, password: login.password });
  }
  if (username === undefined || username === "") {
    reader.fail(
      "sasl.jaas.config",
      `credentials are required with security.protocol=${protocol}: set sasl.jaas.config or sasl.username/sasl.password`,
    );
  }
  if (password === undefined) reader.fail("sasl.password", "is required when sasl.username is set");
  return Object.freeze({ mechanism, username, password });
}

/**
 * Java login handlers cannot run here; Kafka's client-credentials one is what OAUTHBEARER does anyway (without SASL
 * it has no effect, as in Java).
 */
function checkLoginHandler(reader: ConfigReader, mechanism: SaslMechanism | "none"): void {
  const handler = reader.string(LOGIN_HANDLER_KEY);
  if (handler === undefined) return;
  if (OAUTH_LOGIN_HANDLERS.has(handler) && (mechanism === "OAUTHBEARER" || mechanism === "none")) return;
  reader.fail(
    LOGIN_HANDLER_KEY,
    mechanism === "OAUTHBEARER"
      ? `only Kafka's OAuthBearerLoginCallbackHandler (client credentials at sasl.oauthbearer.token.endpoint.url) is supported`
      : "Java callback handlers cannot run here: use PLAIN or SCRAM credentials, or OAUTHBEARER with a token endpoint",
  );
}

/**
 * OAUTHBEARER as KIP-768 configures it: tokens from sasl.oauthbearer.token.endpoint.url (client credentials grant),
 * clientId / clientSecret / scope / extension_<name> in the OAuthBearerLoginModule entry, or Kafka 4.1's
 * sasl.oauthbearer.client.credentials.client.id / .client.secret and sasl.oauthbearer.scope (which win).
 */
function parseOAuthBearer(reader: ConfigReader, jaasText: string | undefined): OAuthBearerOptions {
  const endpointKey = "sasl.oauthbearer.token.endpoint.url";
  const endpoint = reader.string(endpointKey);
  if (endpoint === undefined) {
    reader.fail(
      endpointKey,
      "is required with sasl.mechanism=OAUTHBEARER (tokens come from an OAuth token endpoint, client credentials grant; Kafka's unsecured test tokens are not supported)",
    );
  }
  if (!reader.deferred(endpointKey)) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      reader.fail(endpointKey, `expected an http(s) URL, got ${reader.show(endpointKey, endpoint)}`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      reader.fail(endpointKey, `${url.protocol} URLs are not supported: give the token endpoint's http(s) URL`);
    }
  }
  const timeoutMs =
    reader.int("sasl.login.connect.timeout.ms", 10_000, { min: 1 }) +
    reader.int("sasl.login.read.timeout.ms", 10_000, { min: 1 });
  reader.noteIgnored({
    "sasl.oauthbearer.scope.claim.name": "the broker validates the token's claims",
    "sasl.oauthbearer.sub.claim.name": "the broker validates the token's claims",
    "sasl.login.refresh.window.factor": "a token is renewed at 80% of its lifetime",
    "sasl.login.refresh.window.jitter": "a token is renewed at 80% of its lifetime",
    "sasl.login.refresh.min.period.seconds": "a token is renewed at 80% of its lifetime",
    "sasl.login.refresh.buffer.seconds": "a token is renewed at 80% of its lifetime",
  });
  const options = new Map<string, string>();
  const deferred = jaasText !== undefined && reader.deferred("sasl.jaas.config");
  if (jaasText !== undefined && !deferred) {
    const login = parseJaasConfig(jaasText);
    if (login.module !== "oauthbearer") {
      reader.fail("sasl.jaas.config", "the login module does not match sasl.mechanism=OAUTHBEARER");
    }
    for (const [name, value] of login.options) options.set(name, value);
  }
  const clientId = reader.string("sasl.oauthbearer.client.credentials.client.id") ?? options.get("clientId");
  const clientSecret = reader.exact("sasl.oauthbearer.client.credentials.client.secret") ?? options.get("clientSecret");
  const scope = reader.string("sasl.oauthbearer.scope") ?? options.get("scope");
  if (!deferred && (clientId === undefined || clientId === "" || clientSecret === undefined || clientSecret === "")) {
    reader.fail(
      "sasl.jaas.config",
      'OAUTHBEARER needs client credentials: OAuthBearerLoginModule required clientId="..." clientSecret="..."; (or sasl.oauthbearer.client.credentials.client.id and .client.secret)',
    );
  }
  const extensions: Record<string, string> = {};
  for (const [name, value] of options) {
    if (!name.startsWith("extension_")) continue;
    const extension = name.slice("extension_".length);
    if (!EXTENSION_NAME.test(extension) || extension === "auth") {
      reader.fail("sasl.jaas.config", `SASL extension name ${JSON.stringify(extension)}: letters only, and not "auth"`);
    }
    extensions[extension] = value;
  }
  return Object.freeze({
    mechanism: "OAUTHBEARER",
    tokenEndpointUrl: endpoint,
    clientId: clientId ?? "",
    clientSecret: clientSecret ?? "",
    ...(scope !== undefined && scope !== "" ? { scope } : {}),
    extensions: Object.freeze(extensions),
    tokenRequestTimeoutMs: timeoutMs,
  });
}

/** One TLS material slot that several keys may fill; two of them at once is an error. */
function pick(
  reader: ConfigReader,
  candidates: readonly [key: string, material: TlsMaterial | undefined][],
): TlsMaterial | undefined {
  const given = candidates.filter(([, material]) => material !== undefined);
  if (given.length > 1) {
    reader.fail(
      given[1]![0],
      `conflicts with ${given[0]![0]}: set only one of ${candidates.map(([k]) => k).join(", ")}`,
    );
  }
  return given[0]?.[1];
}

function inlinePem(reader: ConfigReader, key: string, kind: "certificate" | "private key"): TlsMaterial | undefined {
  const text = reader.exact(key);
  if (text === undefined || text.trim() === "") return undefined;
  const pem = reader.deferred(key) ? text : normalizePem(key, text, kind);
  return Object.freeze({ source: "inline" as const, pem });
}

function file(reader: ConfigReader, key: string, format: "PEM" | "PKCS12" | "auto"): TlsMaterial | undefined {
  const path = reader.string(key);
  return path === undefined ? undefined : Object.freeze({ source: "file" as const, path, format, configKey: key });
}

function parseTls(reader: ConfigReader, protocol: SecurityProtocol): TlsOptions | undefined {
  const sslKeys = [
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.certificates",
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.key.password",
    "ssl.ca.location",
    "ssl.ca.pem",
    "ssl.certificate.location",
    "ssl.certificate.pem",
    "ssl.key.location",
    "ssl.key.pem",
    "ssl.endpoint.identification.algorithm",
    "enable.ssl.certificate.verification",
    "ssl.enabled.protocols",
    "ssl.protocol",
  ];
  if (protocol !== "SSL" && protocol !== "SASL_SSL") {
    const notes: Record<string, string> = {};
    for (const key of sslKeys) notes[key] = `no effect with security.protocol=${protocol}`;
    reader.noteIgnored(notes);
    return undefined;
  }

  // Trust: Kafka's ssl.truststore.* (PEM text or a file) or librdkafka's ssl.ca.*.
  const truststoreType = reader.oneOf("ssl.truststore.type", STORE_TYPES, undefined);
  if (truststoreType === "JKS" || truststoreType === "PKCS12") {
    reader.fail(
      "ssl.truststore.type",
      `${truststoreType} truststores cannot be read by Node: export the CA certificates as PEM ` +
        "(keytool -exportcert -rfc) and pass them in ssl.truststore.certificates or a PEM file with ssl.truststore.type=PEM",
    );
  }
  const trustedCertificates = pick(reader, [
    ["ssl.truststore.certificates", inlinePem(reader, "ssl.truststore.certificates", "certificate")],
    ["ssl.truststore.location", file(reader, "ssl.truststore.location", truststoreType === "PEM" ? "PEM" : "auto")],
    ["ssl.ca.pem", inlinePem(reader, "ssl.ca.pem", "certificate")],
    ["ssl.ca.location", file(reader, "ssl.ca.location", "PEM")],
  ]);
  reader.noteIgnored({ "ssl.truststore.password": "PEM truststores have no password" });

  // Client identity (mutual TLS): a PEM chain and key, a PEM keystore file holding both, or a PKCS#12 keystore.
  const keystoreType = reader.oneOf("ssl.keystore.type", STORE_TYPES, undefined);
  if (keystoreType === "JKS") {
    reader.fail(
      "ssl.keystore.type",
      "JKS keystores cannot be read by Node: convert to PKCS12 (keytool -importkeystore) or PEM",
    );
  }
  const keystoreFile = file(reader, "ssl.keystore.location", keystoreType ?? "auto");
  const clientCertificateChain = pick(reader, [
    ["ssl.keystore.certificate.chain", inlinePem(reader, "ssl.keystore.certificate.chain", "certificate")],
    ["ssl.keystore.location", keystoreFile],
    ["ssl.certificate.pem", inlinePem(reader, "ssl.certificate.pem", "certificate")],
    ["ssl.certificate.location", file(reader, "ssl.certificate.location", "PEM")],
  ]);
  const clientKey = pick(reader, [
    ["ssl.keystore.key", inlinePem(reader, "ssl.keystore.key", "private key")],
    ["ssl.keystore.location", keystoreFile],
    ["ssl.key.pem", inlinePem(reader, "ssl.key.pem", "private key")],
    ["ssl.key.location", file(reader, "ssl.key.location", "PEM")],
  ]);
  if ((clientCertificateChain === undefined) !== (clientKey === undefined)) {
    reader.fail(
      clientKey === undefined ? "ssl.keystore.key" : "ssl.keystore.certificate.chain",
      "a client certificate chain and its private key must be given together",
    );
  }
  // A PKCS#12 keystore is protected by ssl.keystore.password; a PEM key by ssl.key.password.
  const keystorePassword = reader.exact("ssl.keystore.password");
  const keyPassword = reader.exact("ssl.key.password") ?? (keystoreFile ? keystorePassword : undefined);

  const algorithm = reader.raw("ssl.endpoint.identification.algorithm");
  if (algorithm !== undefined && algorithm !== "" && algorithm.toLowerCase() !== "https") {
    reader.fail(
      "ssl.endpoint.identification.algorithm",
      `expected "https" or "" (disabled), got ${JSON.stringify(algorithm)}`,
    );
  }
  const verifyHostname = algorithm === undefined || algorithm.toLowerCase() === "https";
  const verifyCertificate = reader.bool("enable.ssl.certificate.verification", true);

  let protocols: TlsVersion[] | undefined;
  const enabled = reader.string("ssl.enabled.protocols");
  if (enabled !== undefined) {
    protocols = enabled
      .split(",")
      .map((p) => p.trim())
      .filter((p) => p !== "")
      .map((p) => {
        const match = TLS_VERSIONS.find((v) => v.toLowerCase() === p.toLowerCase());
        if (!match)
          reader.fail(
            "ssl.enabled.protocols",
            `unsupported protocol ${JSON.stringify(p)} (use ${TLS_VERSIONS.join(", ")})`,
          );
        return match;
      });
  }
  reader.noteIgnored({ "ssl.protocol": "Node negotiates the TLS version; restrict it with ssl.enabled.protocols" });

  const tls: TlsOptions = {
    verifyHostname,
    verifyCertificate,
    ...(trustedCertificates ? { trustedCertificates } : {}),
    ...(clientCertificateChain ? { clientCertificateChain } : {}),
    ...(clientKey ? { clientKey } : {}),
    ...(keyPassword !== undefined ? { keyPassword } : {}),
    ...(protocols ? { protocols: Object.freeze(protocols) } : {}),
  };
  return Object.freeze(tls);
}

export interface ConnectionDefaults {
  readonly requestTimeoutMs: number;
}

/** The keys every client shares; topic auto-creation differs between consumers and producers. */
export type SharedConnectionOptions = Omit<ConnectionOptions, "allowAutoTopicCreation">;

/** Parses the keys every client shares. */
export function parseConnection(reader: ConfigReader, defaults: ConnectionDefaults): SharedConnectionOptions {
  const bootstrapServers = Object.freeze(
    parseBootstrapServers("bootstrap.servers", reader.raw("bootstrap.servers"), (k, why) => reader.fail(k, why)),
  );
  const clientId = reader.string("client.id") ?? DEFAULT_CLIENT_ID;
  const securityProtocol = reader.oneOf("security.protocol", SECURITY_PROTOCOLS, "PLAINTEXT");
  const sasl = parseSasl(reader, securityProtocol);
  const tls = parseTls(reader, securityProtocol);
  const initialBackoffMs = reader.int("retry.backoff.ms", 100);
  const options: SharedConnectionOptions = {
    bootstrapServers,
    clientId,
    securityProtocol,
    ...(tls ? { tls } : {}),
    ...(sasl ? { sasl } : {}),
    requestTimeoutMs: reader.int("request.timeout.ms", defaults.requestTimeoutMs, { min: 1 }),
    connectionTimeoutMs: reader.int("socket.connection.setup.timeout.ms", 10_000, { min: 1 }),
    metadataMaxAgeMs: reader.int("metadata.max.age.ms", 300_000),
    retry: Object.freeze({
      retries: 5,
      initialBackoffMs,
      maxBackoffMs: Math.max(initialBackoffMs, reader.int("retry.backoff.max.ms", 1_000)),
    }),
  };
  reader.noteIgnored({
    "receive.buffer.bytes": "socket buffers are left to the OS",
    "send.buffer.bytes": "socket buffers are left to the OS",
    "connections.max.idle.ms": "idle clients are closed by the client cache instead",
    "reconnect.backoff.ms": "reconnects follow retry.backoff.ms",
    "reconnect.backoff.max.ms": "reconnects follow retry.backoff.max.ms",
    "socket.connection.setup.timeout.max.ms": "socket.connection.setup.timeout.ms is used as is",
    "client.dns.lookup": "Node resolves names with the system resolver",
    "metrics.sample.window.ms": "metrics are reported by the connector",
    "metrics.num.samples": "metrics are reported by the connector",
    "metrics.recording.level": "metrics are reported by the connector",
    "metric.reporters": "metrics are reported by the connector",
    "auto.include.jmx.reporter": "there is no JMX in Node",
    "ssl.keymanager.algorithm": "Node's TLS uses OpenSSL",
    "ssl.trustmanager.algorithm": "Node's TLS uses OpenSSL",
    "ssl.secure.random.implementation": "Node's TLS uses OpenSSL",
    "ssl.cipher.suites": "Java cipher suite names do not apply to OpenSSL; Node's defaults are used",
  });
  reader.rejectIfSet({
    "sasl.client.callback.handler.class": "Java callback handlers cannot run here: use PLAIN or SCRAM credentials",
    "sasl.login.class": "Java login classes cannot run here: use PLAIN or SCRAM credentials",
    "interceptor.classes": "Java interceptors cannot run here",
    "security.providers": "Java security providers cannot run here",
  });
  return options;
}
