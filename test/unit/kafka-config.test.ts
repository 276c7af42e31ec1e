import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { thrown } from "../assertions.js";
import {
  parseConsumerConfig,
  parseProducerConfig,
  parseJaasConfig,
  normalizePem,
  redact,
  isSecretConfigKey,
  type KafkaConfigMap,
  type KafkaLogger,
} from "../../src/kafka/config/index.js";
import { KafkaConfigError, KafkaError } from "../../src/kafka/errors.js";
import { missingCodecReason } from "../../src/kafka/client/index.js";

const s = suite("kafka config");

const B = { "bootstrap.servers": "broker-1:9092" };
const quiet: KafkaLogger = () => undefined;

function recorder(): { logger: KafkaLogger; entries: { level: string; message: string; key: unknown }[] } {
  const entries: { level: string; message: string; key: unknown }[] = [];
  return { logger: (level, message, fields) => entries.push({ level, message, key: fields?.key }), entries };
}

/** Expects a KafkaConfigError naming `key`; returns its message. */
function configError(key: string, fn: () => unknown): string {
  const e = thrown(fn, KafkaConfigError, `a KafkaConfigError for ${key}`);
  assert.is(e.key, key, `error names ${key}: ${e.message}`);
  assert.is(e.code, "KAFKA_CONFIG_INVALID");
  assert.is(e.retriable, false);
  assert.instance(e, KafkaError);
  return e.message;
}

// A syntactically valid PEM body; no parser looks inside it here.
const BODY =
  "MIIBszCCAVmgAwIBAgIUQk9HVVMtQ0VSVElGSUNBVEUtRk9SLVRFU1RTMAoGCCqGSM49BAMCMBQxEjAQBgNVBAMMCWthZmthLWNhMB4XDTI2MTEzMDAwMDAwMFoXDTM2MTEzMDAwMDAwMFowFDESMBAGA1UEAwwJa2Fma2EtY2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQ=";
const CERT = `-----BEGIN CERTIFICATE-----\n${BODY.match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`;
const KEY = `-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n`;

s.test("consumer: defaults are Kafka's, bootstrap.servers is the only required key, the result is frozen", () => {
  const o = parseConsumerConfig(B, { logger: quiet });
  assert.equal(o, {
    bootstrapServers: [{ host: "broker-1", port: 9092 }],
    clientId: "kafka-beam-ts",
    securityProtocol: "PLAINTEXT",
    requestTimeoutMs: 30_000,
    connectionTimeoutMs: 10_000,
    metadataMaxAgeMs: 300_000,
    allowAutoTopicCreation: false,
    retry: { retries: 5, initialBackoffMs: 100, maxBackoffMs: 1_000 },
    kind: "consumer",
    autoOffsetReset: "latest",
    isolationLevel: "read_uncommitted",
    fetchMaxBytes: 52_428_800,
    maxPartitionFetchBytes: 1_048_576,
    fetchMinBytes: 1,
    fetchMaxWaitMs: 500,
    maxPollRecords: 500,
    defaultApiTimeoutMs: 60_000,
    excludeInternalTopics: true,
    checkCrcs: true,
  });
  assert.ok(
    Object.isFrozen(o) &&
      Object.isFrozen(o.bootstrapServers) &&
      Object.isFrozen(o.bootstrapServers[0]) &&
      Object.isFrozen(o.retry),
  );
  configError("bootstrap.servers", () => parseConsumerConfig({}, { logger: quiet }));
});

s.test("consumer: every mapped key reaches its option", () => {
  const o = parseConsumerConfig(
    {
      "bootstrap.servers": " a.example:9092, 10.0.0.2:9093 ,[::1]:9094,PLAINTEXT://b:19092",
      "client.id": "reader-7",
      "group.id": "beam-group",
      "auto.offset.reset": "EARLIEST",
      "isolation.level": "read_committed",
      "fetch.max.bytes": "4194304",
      "max.partition.fetch.bytes": 2_097_152,
      "fetch.min.bytes": "1024",
      "fetch.max.wait.ms": "250",
      "max.poll.records": "2000",
      "request.timeout.ms": "15000",
      "socket.connection.setup.timeout.ms": "3000",
      "metadata.max.age.ms": "60000",
      "retry.backoff.ms": "50",
      "retry.backoff.max.ms": "2000",
      "default.api.timeout.ms": "20000",
      "allow.auto.create.topics": "TRUE",
      "exclude.internal.topics": false,
    },
    { logger: quiet },
  );
  assert.equal(o.bootstrapServers, [
    { host: "a.example", port: 9092 },
    { host: "10.0.0.2", port: 9093 },
    { host: "::1", port: 9094 },
    { host: "b", port: 19092 },
  ]);
  assert.equal(
    [
      o.clientId,
      o.groupId,
      o.autoOffsetReset,
      o.isolationLevel,
      o.fetchMaxBytes,
      o.maxPartitionFetchBytes,
      o.fetchMinBytes,
      o.fetchMaxWaitMs,
      o.maxPollRecords,
      o.requestTimeoutMs,
      o.connectionTimeoutMs,
      o.metadataMaxAgeMs,
      o.retry,
      o.defaultApiTimeoutMs,
      o.allowAutoTopicCreation,
      o.excludeInternalTopics,
    ],
    [
      "reader-7",
      "beam-group",
      "earliest",
      "read_committed",
      4_194_304,
      2_097_152,
      1024,
      250,
      2000,
      15_000,
      3000,
      60_000,
      { retries: 5, initialBackoffMs: 50, maxBackoffMs: 2000 },
      20_000,
      true,
      false,
    ],
  );
});

s.test("consumer: invalid values raise KafkaConfigError naming the key", () => {
  for (const bad of ["", "localhost", "host:0", "host:99999", "a b:1", "host:port", ",", "host:-1"]) {
    configError("bootstrap.servers", () => parseConsumerConfig({ "bootstrap.servers": bad }, { logger: quiet }));
  }
  const cases: [string, string][] = [
    ["auto.offset.reset", "smallest"],
    ["auto.offset.reset", "by_duration:P1D"],
    ["isolation.level", "serializable"],
    ["fetch.max.bytes", "lots"],
    ["fetch.max.bytes", "0"],
    ["max.partition.fetch.bytes", "1.5"],
    ["fetch.min.bytes", "-1"],
    ["fetch.max.wait.ms", "9999999999"],
    ["max.poll.records", "0"],
    ["request.timeout.ms", "soon"],
    ["allow.auto.create.topics", "yes"],
    ["security.protocol", "TLS"],
  ];
  for (const [key, value] of cases) {
    const message = configError(key, () => parseConsumerConfig({ ...B, [key]: value }, { logger: quiet }));
    assert.ok(message.includes(JSON.stringify(value)) || value === "", `the message shows the bad value: ${message}`);
  }
});

s.test("unknown keys: a warning once per key and logger; n/a keys: a note; semantics unchanged", () => {
  const { logger, entries } = recorder();
  const config = {
    ...B,
    "fetch.max.bytez": "1",
    "enable.auto.commit": "true",
    "session.timeout.ms": "10000",
    acks: "all",
  };
  const first = parseConsumerConfig(config, { logger });
  parseConsumerConfig(config, { logger });
  assert.equal(
    entries
      .filter((e) => e.level === "warn")
      .map((e) => e.key)
      .sort(),
    ["acks", "fetch.max.bytez"],
  );
  assert.equal(
    entries
      .filter((e) => e.level === "info")
      .map((e) => e.key)
      .sort(),
    ["enable.auto.commit", "session.timeout.ms"],
  );
  assert.ok(entries.find((e) => e.key === "enable.auto.commit")!.message.includes("never auto-committed"));
  assert.equal(first, parseConsumerConfig(B, { logger: quiet }), "ignored keys change nothing");
  const other = recorder();
  parseConsumerConfig(config, { logger: other.logger });
  assert.is(other.entries.filter((e) => e.level === "warn").length, 2, "another logger hears it again");
});

s.test("keys naming Java classes that would change behaviour are refused", () => {
  configError("interceptor.classes", () =>
    parseConsumerConfig({ ...B, "interceptor.classes": "com.acme.Audit" }, { logger: quiet }),
  );
  configError("sasl.login.callback.handler.class", () =>
    parseConsumerConfig({ ...B, "sasl.login.callback.handler.class": "com.acme.Handler" }, { logger: quiet }),
  );
  configError("partitioner.class", () =>
    parseProducerConfig({ ...B, "partitioner.class": "com.acme.Partitioner" }, { logger: quiet }),
  );
  parseProducerConfig(
    { ...B, "partitioner.class": "org.apache.kafka.clients.producer.internals.DefaultPartitioner" },
    { logger: quiet },
  );
  configError("partitioner.ignore.keys", () =>
    parseProducerConfig({ ...B, "partitioner.ignore.keys": "true" }, { logger: quiet }),
  );
});

s.test("jaas: PLAIN and SCRAM modules, quoting and escapes; problems name sasl.jaas.config, never the password", () => {
  assert.equal(
    parseJaasConfig(
      'org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="s3cr=t;x";',
    ),
    { module: "plain", username: "alice", password: "s3cr=t;x" },
  );
  assert.equal(
    parseJaasConfig(
      '  org.apache.kafka.common.security.scram.ScramLoginModule   REQUIRED\n  username="bob"\n  password="quote\\"back\\\\slash" ;  ',
    ),
    { module: "scram", username: "bob", password: 'quote"back\\slash' },
  );
  assert.equal(
    parseJaasConfig(
      "org.apache.kafka.common.security.plain.PlainLoginModule optional username=carol password=pw tokenauth=false;",
    ),
    { module: "plain", username: "carol", password: "pw" },
  );
  const secret = "hunter2-secret";
  const bad = [
    `org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="${secret}"`,
    `org.apache.kafka.common.security.plain.PlainLoginModule required username="a";`,
    `org.apache.kafka.common.security.plain.PlainLoginModule username="a" password="${secret}";`,
    `com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true password="${secret}";`,
    `org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="${secret};`,
    `org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="${secret}"; org.x.Other required;`,
    `org.apache.kafka.common.security.plain.PlainLoginModule required username "a" password="${secret}";`,
  ];
  for (const text of bad) {
    const message = configError("sasl.jaas.config", () => parseJaasConfig(text));
    assert.not.ok(message.includes(secret), message);
  }
});

const OAUTH_MODULE = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";
const OAUTH = {
  ...B,
  "security.protocol": "SASL_SSL",
  "sasl.mechanism": "OAUTHBEARER",
  "sasl.oauthbearer.token.endpoint.url": "https://idp.example.com/oauth2/token",
};

s.test(
  "sasl OAUTHBEARER: KIP-768's client credentials from the JAAS entry, extensions, timeouts; 4.1's keys win",
  () => {
    const o = parseConsumerConfig(
      {
        ...OAUTH,
        "sasl.login.callback.handler.class":
          "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
        "sasl.jaas.config": `${OAUTH_MODULE} required clientId="svc" clientSecret="s3cret" scope="kafka" extension_logicalCluster="lkc-1" extension_identityPoolId="pool-2";`,
        "sasl.login.read.timeout.ms": "5000",
      },
      { logger: quiet },
    );
    assert.equal(o.sasl, {
      mechanism: "OAUTHBEARER",
      tokenEndpointUrl: "https://idp.example.com/oauth2/token",
      clientId: "svc",
      clientSecret: "s3cret",
      scope: "kafka",
      extensions: { logicalCluster: "lkc-1", identityPoolId: "pool-2" },
      tokenRequestTimeoutMs: 15_000,
    });
    const newer = parseConsumerConfig(
      {
        ...OAUTH,
        "sasl.login.callback.handler.class":
          "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler", // 3.x's package
        "sasl.jaas.config": `${OAUTH_MODULE} required clientId="old" clientSecret="old";`,
        "sasl.oauthbearer.client.credentials.client.id": "svc",
        "sasl.oauthbearer.client.credentials.client.secret": "s3cret",
      },
      { logger: quiet },
    );
    assert.equal(
      newer.sasl?.mechanism === "OAUTHBEARER" && [newer.sasl.clientId, newer.sasl.clientSecret, newer.sasl.scope],
      ["svc", "s3cret", undefined],
    );
  },
);

s.test("sasl OAUTHBEARER: what a token endpoint needs is required, by key, never echoing the secret", () => {
  const jaas = `${OAUTH_MODULE} required clientId="svc" clientSecret="s3cret";`;
  const base = { ...OAUTH, "sasl.jaas.config": jaas };
  const { "sasl.oauthbearer.token.endpoint.url": _, ...noEndpoint } = base;
  const cases: [string, Record<string, string>, string][] = [
    ["sasl.oauthbearer.token.endpoint.url", noEndpoint, "unsecured test tokens are not supported"],
    [
      "sasl.oauthbearer.token.endpoint.url",
      { ...base, "sasl.oauthbearer.token.endpoint.url": "file:///tmp/token.jwt" },
      "file: URLs",
    ],
    [
      "sasl.oauthbearer.token.endpoint.url",
      { ...base, "sasl.oauthbearer.token.endpoint.url": "not a url" },
      "http(s) URL",
    ],
    [
      "sasl.jaas.config",
      { ...base, "sasl.jaas.config": `${OAUTH_MODULE} required clientId="svc";` },
      "client credentials",
    ],
    [
      "sasl.jaas.config",
      {
        ...base,
        "sasl.jaas.config":
          'org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="s3cret";',
      },
      "does not match",
    ],
    [
      "sasl.jaas.config",
      {
        ...base,
        "sasl.jaas.config": `${OAUTH_MODULE} required clientId="svc" clientSecret="s3cret" extension_auth="x";`,
      },
      'not "auth"',
    ],
    [
      "sasl.login.callback.handler.class",
      { ...base, "sasl.login.callback.handler.class": "com.acme.TokenHandler" },
      "OAuthBearerLoginCallbackHandler",
    ],
    ["sasl.username", { ...base, "sasl.username": "u" }, "does not apply"],
  ];
  for (const [key, config, why] of cases) {
    const message = configError(key, () => parseConsumerConfig(config, { logger: quiet }));
    assert.ok(message.includes(why), `${key}: ${message}`);
    assert.not.ok(message.includes("s3cret"), message);
  }
  // Kafka's OAuth handler with a password mechanism is refused too; without SASL it has no effect (as in Java).
  configError("sasl.login.callback.handler.class", () =>
    parseConsumerConfig(
      {
        ...B,
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "u",
        "sasl.password": "p",
        "sasl.login.callback.handler.class":
          "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
      },
      { logger: quiet },
    ),
  );
  parseConsumerConfig(
    {
      ...B,
      "sasl.login.callback.handler.class":
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
    },
    { logger: quiet },
  );
});

s.test("sasl: jaas or sasl.username/password, a supported mechanism required", () => {
  const jaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="svc" password="pw";';
  const o = parseConsumerConfig(
    { ...B, "security.protocol": "sasl_ssl", "sasl.mechanism": "SCRAM-SHA-512", "sasl.jaas.config": jaas },
    { logger: quiet },
  );
  assert.equal(
    [o.securityProtocol, o.sasl],
    ["SASL_SSL", { mechanism: "SCRAM-SHA-512", username: "svc", password: "pw" }],
  );
  assert.equal(o.tls, { verifyHostname: true, verifyCertificate: true });
  const plain = parseConsumerConfig(
    {
      ...B,
      "security.protocol": "SASL_PLAINTEXT",
      "sasl.mechanisms": "PLAIN",
      "sasl.username": "u",
      "sasl.password": "p",
    },
    { logger: quiet },
  );
  assert.equal([plain.sasl, plain.tls], [{ mechanism: "PLAIN", username: "u", password: "p" }, undefined]);

  const sasl = { ...B, "security.protocol": "SASL_SSL" };
  configError("sasl.mechanism", () => parseConsumerConfig({ ...sasl, "sasl.jaas.config": jaas }, { logger: quiet }));
  assert.ok(
    configError("sasl.mechanism", () =>
      parseConsumerConfig({ ...sasl, "sasl.mechanism": "GSSAPI" }, { logger: quiet }),
    ).includes("not supported"),
  );
  configError("sasl.oauthbearer.token.endpoint.url", () =>
    parseConsumerConfig({ ...sasl, "sasl.mechanism": "OAUTHBEARER" }, { logger: quiet }),
  );
  configError("sasl.jaas.config", () =>
    parseConsumerConfig({ ...sasl, "sasl.mechanism": "PLAIN", "sasl.jaas.config": jaas }, { logger: quiet }),
  );
  configError("sasl.jaas.config", () => parseConsumerConfig({ ...sasl, "sasl.mechanism": "PLAIN" }, { logger: quiet }));
  configError("sasl.jaas.config", () =>
    parseConsumerConfig(
      {
        ...sasl,
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.jaas.config": jaas,
        "sasl.username": "x",
        "sasl.password": "y",
      },
      { logger: quiet },
    ),
  );
  configError("sasl.password", () =>
    parseConsumerConfig({ ...sasl, "sasl.mechanism": "PLAIN", "sasl.username": "x" }, { logger: quiet }),
  );

  const { logger, entries } = recorder();
  const ignored = parseConsumerConfig({ ...B, "sasl.mechanism": "PLAIN", "sasl.jaas.config": jaas }, { logger });
  assert.is(ignored.sasl, undefined);
  assert.equal(entries.map((e) => [e.level, e.key]).sort(), [
    ["info", "sasl.jaas.config"],
    ["info", "sasl.mechanism"],
  ]);
});

s.test("tls: PEM text in config (Kafka's and librdkafka's keys), normalised; or file paths read later", () => {
  const ssl = { ...B, "security.protocol": "SSL" };
  const inline = parseConsumerConfig(
    {
      ...ssl,
      "ssl.truststore.type": "PEM",
      "ssl.truststore.certificates": CERT,
      "ssl.keystore.type": "PEM",
      "ssl.keystore.certificate.chain": CERT.replace(/\n/g, " "), // folded onto one line on its way through YAML
      "ssl.keystore.key": KEY.replace(/\n/g, "\\n"), // escaped newlines
      "ssl.key.password": "key-pass",
      "ssl.endpoint.identification.algorithm": "",
      "ssl.enabled.protocols": "TLSv1.3, TLSv1.2",
    },
    { logger: quiet },
  );
  assert.equal(inline.tls, {
    verifyHostname: false,
    verifyCertificate: true,
    trustedCertificates: { source: "inline", pem: CERT },
    clientCertificateChain: { source: "inline", pem: CERT },
    clientKey: { source: "inline", pem: KEY },
    keyPassword: "key-pass",
    protocols: ["TLSv1.3", "TLSv1.2"],
  });

  const files = parseConsumerConfig(
    {
      ...ssl,
      "ssl.truststore.type": "PEM",
      "ssl.truststore.location": "/etc/kafka/ca.pem",
      "ssl.keystore.type": "PKCS12",
      "ssl.keystore.location": "/etc/kafka/client.p12",
      "ssl.keystore.password": "store-pass",
    },
    { logger: quiet },
  );
  const keystore = {
    source: "file",
    path: "/etc/kafka/client.p12",
    format: "PKCS12",
    configKey: "ssl.keystore.location",
  };
  assert.equal(files.tls, {
    verifyHostname: true,
    verifyCertificate: true,
    trustedCertificates: {
      source: "file",
      path: "/etc/kafka/ca.pem",
      format: "PEM",
      configKey: "ssl.truststore.location",
    },
    clientCertificateChain: keystore,
    clientKey: keystore,
    keyPassword: "store-pass",
  });

  const rdkafka = parseConsumerConfig(
    {
      ...ssl,
      "ssl.ca.pem": CERT,
      "ssl.certificate.location": "/c.pem",
      "ssl.key.location": "/k.pem",
      "enable.ssl.certificate.verification": "false",
    },
    { logger: quiet },
  );
  assert.equal(rdkafka.tls, {
    verifyHostname: true,
    verifyCertificate: false,
    trustedCertificates: { source: "inline", pem: CERT },
    clientCertificateChain: { source: "file", path: "/c.pem", format: "PEM", configKey: "ssl.certificate.location" },
    clientKey: { source: "file", path: "/k.pem", format: "PEM", configKey: "ssl.key.location" },
  });
  const unset = parseConsumerConfig({ ...ssl, "ssl.truststore.location": "/ca" }, { logger: quiet });
  assert.equal(unset.tls!.trustedCertificates, {
    source: "file",
    path: "/ca",
    format: "auto",
    configKey: "ssl.truststore.location",
  });
});

s.test("tls: unusable stores, conflicts and bad PEM are errors naming the key, without echoing key material", () => {
  const ssl = {
    ...B,
    "security.protocol": "SASL_SSL",
    "sasl.mechanism": "PLAIN",
    "sasl.username": "u",
    "sasl.password": "p",
  };
  assert.ok(
    configError("ssl.truststore.type", () =>
      parseConsumerConfig(
        { ...ssl, "ssl.truststore.type": "JKS", "ssl.truststore.location": "/t.jks" },
        { logger: quiet },
      ),
    ).includes("PEM"),
  );
  configError("ssl.keystore.type", () =>
    parseConsumerConfig({ ...ssl, "ssl.keystore.type": "JKS", "ssl.keystore.location": "/k.jks" }, { logger: quiet }),
  );
  configError("ssl.ca.pem", () =>
    parseConsumerConfig({ ...ssl, "ssl.truststore.certificates": CERT, "ssl.ca.pem": CERT }, { logger: quiet }),
  );
  configError("ssl.truststore.certificates", () =>
    parseConsumerConfig({ ...ssl, "ssl.truststore.certificates": "not a certificate" }, { logger: quiet }),
  );
  configError("ssl.keystore.certificate.chain", () =>
    parseConsumerConfig({ ...ssl, "ssl.keystore.key": KEY }, { logger: quiet }),
  );
  configError("ssl.keystore.key", () =>
    parseConsumerConfig({ ...ssl, "ssl.keystore.certificate.chain": CERT }, { logger: quiet }),
  );
  const leaked = configError("ssl.keystore.key", () =>
    parseConsumerConfig(
      { ...ssl, "ssl.keystore.certificate.chain": CERT, "ssl.keystore.key": "super-secret-key-bytes" },
      { logger: quiet },
    ),
  );
  assert.not.ok(leaked.includes("super-secret"));
  configError("ssl.endpoint.identification.algorithm", () =>
    parseConsumerConfig({ ...ssl, "ssl.endpoint.identification.algorithm": "ldaps" }, { logger: quiet }),
  );
  configError("ssl.enabled.protocols", () =>
    parseConsumerConfig({ ...ssl, "ssl.enabled.protocols": "TLSv1.1" }, { logger: quiet }),
  );
  configError("enable.ssl.certificate.verification", () =>
    parseConsumerConfig({ ...ssl, "enable.ssl.certificate.verification": "maybe" }, { logger: quiet }),
  );

  const { logger, entries } = recorder();
  const plaintext = parseConsumerConfig({ ...B, "ssl.truststore.certificates": CERT }, { logger });
  assert.is(plaintext.tls, undefined);
  assert.equal(
    entries.map((e) => [e.level, e.key]),
    [["info", "ssl.truststore.certificates"]],
  );
});

s.test("normalizePem: re-wraps blocks that lost their line breaks, keeps several blocks", () => {
  const two = `${CERT}${CERT}`;
  assert.is(normalizePem("k", two.replace(/\n/g, ""), "certificate"), `${CERT}${CERT}`);
  assert.is(normalizePem("k", `junk before\n${KEY}\ntrailing`, "private key"), KEY);
  configError("k", () => normalizePem("k", KEY, "certificate"));
  const rsa =
    "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----";
  assert.is(normalizePem("k", rsa, "private key"), `${rsa}\n`, "legacy encrypted blocks are left as written");
});

s.test("producer: defaults, every key, idempotence rules like Kafka's", () => {
  const o = parseProducerConfig(B, { logger: quiet });
  assert.equal(
    [
      o.kind,
      o.acks,
      o.compression,
      o.lingerMs,
      o.batchSize,
      o.idempotent,
      o.transactionalId,
      o.transactionTimeoutMs,
      o.maxInFlightRequests,
      o.deliveryTimeoutMs,
      o.maxRequestSize,
      o.retry.retries,
      o.requestTimeoutMs,
      o.maxBlockMs,
      o.allowAutoTopicCreation,
    ],
    [
      "producer",
      -1,
      "none",
      5,
      1_048_576,
      true,
      undefined,
      60_000,
      5,
      120_000,
      1_048_576,
      2_147_483_647,
      30_000,
      60_000,
      true,
    ],
  );
  assert.is(
    parseConsumerConfig(B, { logger: quiet }).allowAutoTopicCreation,
    false,
    "a read of a missing topic does not create it",
  );
  assert.ok(!("transactionalId" in o), "absent options are absent, not undefined");
  const all = parseProducerConfig(
    {
      ...B,
      acks: "1",
      "compression.type": "gzip",
      "linger.ms": "20",
      "batch.size": "65536",
      "enable.idempotence": "false",
      "max.in.flight.requests.per.connection": "10",
      retries: "3",
      "delivery.timeout.ms": "60000",
      "max.request.size": "2097152",
      "transaction.timeout.ms": "30000",
      "request.timeout.ms": "10000",
      "max.block.ms": "5000",
    },
    { logger: quiet },
  );
  assert.equal(
    [
      all.acks,
      all.compression,
      all.lingerMs,
      all.batchSize,
      all.idempotent,
      all.maxInFlightRequests,
      all.retry.retries,
      all.deliveryTimeoutMs,
      all.maxRequestSize,
      all.transactionTimeoutMs,
      all.requestTimeoutMs,
      all.maxBlockMs,
    ],
    [1, "gzip", 20, 65_536, false, 10, 3, 60_000, 2_097_152, 30_000, 10_000, 5_000],
  );
  assert.is(parseProducerConfig({ ...B, acks: "0" }, { logger: quiet }).acks, 0);
  assert.is(parseProducerConfig({ ...B, acks: "-1" }, { logger: quiet }).acks, -1);
  assert.is(
    parseProducerConfig({ ...B, acks: "1" }, { logger: quiet }).idempotent,
    false,
    "implicitly off when acks rules it out",
  );
  assert.is(
    parseProducerConfig({ ...B, "max.in.flight.requests.per.connection": "6" }, { logger: quiet }).idempotent,
    false,
  );
  const tx = parseProducerConfig({ ...B, "transactional.id": "sink-shard-3" }, { logger: quiet });
  assert.equal([tx.transactionalId, tx.idempotent], ["sink-shard-3", true]);

  configError("acks", () => parseProducerConfig({ ...B, acks: "2" }, { logger: quiet }));
  configError("acks", () => parseProducerConfig({ ...B, acks: "1", "enable.idempotence": "true" }, { logger: quiet }));
  configError("acks", () => parseProducerConfig({ ...B, acks: "0", "transactional.id": "t" }, { logger: quiet }));
  configError("max.in.flight.requests.per.connection", () =>
    parseProducerConfig(
      { ...B, "max.in.flight.requests.per.connection": "6", "enable.idempotence": "true" },
      { logger: quiet },
    ),
  );
  configError("retries", () => parseProducerConfig({ ...B, retries: "0", "transactional.id": "t" }, { logger: quiet }));
  configError("enable.idempotence", () =>
    parseProducerConfig({ ...B, "enable.idempotence": "false", "transactional.id": "t" }, { logger: quiet }),
  );
  configError("delivery.timeout.ms", () =>
    parseProducerConfig({ ...B, "delivery.timeout.ms": "1000" }, { logger: quiet }),
  );
  configError("linger.ms", () => parseProducerConfig({ ...B, "linger.ms": "-5" }, { logger: quiet }));
  configError("batch.size", () => parseProducerConfig({ ...B, "batch.size": "0" }, { logger: quiet }));
  configError("max.block.ms", () => parseProducerConfig({ ...B, "max.block.ms": "-1" }, { logger: quiet }));
});

s.test("producer: every Kafka codec by default; one the process lacks (availableCodecs) is refused, by name", () => {
  for (const codec of ["gzip", "snappy", "lz4", "zstd"]) {
    assert.is(
      parseProducerConfig({ ...B, "compression.type": codec.toUpperCase() }, { logger: quiet }).compression,
      codec,
    );
  }
  assert.ok(
    configError("compression.type", () =>
      parseProducerConfig(
        { ...B, "compression.type": "zstd" },
        { logger: quiet, availableCodecs: ["snappy", "lz4"], missingCodecReason },
      ),
    ).includes("zstd: this Node (v") && missingCodecReason("zstd").includes("Node >= 22.15"),
  );
  assert.ok(
    configError("compression.type", () =>
      parseProducerConfig({ ...B, "compression.type": "lz4" }, { logger: quiet, availableCodecs: [] }),
    ).includes("lz4: not available in this process"),
  );
  assert.is(
    parseProducerConfig({ ...B, "compression.type": "gzip" }, { logger: quiet, availableCodecs: [] }).compression,
    "gzip",
  );
  configError("compression.type", () => parseProducerConfig({ ...B, "compression.type": "brotli" }, { logger: quiet }));
  const { logger, entries } = recorder();
  parseProducerConfig(
    { ...B, "key.serializer": "org.apache.kafka.common.serialization.ByteArraySerializer", "fetch.max.bytes": "1" },
    { logger },
  );
  assert.equal(entries.map((e) => [e.level, e.key]).sort(), [
    ["info", "key.serializer"],
    ["warn", "fetch.max.bytes"],
  ]);
});

s.test("redact: secrets masked for logs, everything else kept as text", () => {
  const config: KafkaConfigMap = {
    "bootstrap.servers": "b:9092",
    "sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";',
    "sasl.password": "p",
    "ssl.keystore.key": KEY,
    "ssl.key.password": "kp",
    "ssl.keystore.password": "sp",
    "ssl.truststore.password": "tp",
    "basic.auth.user.info": "u:p",
    "client.secret": "cs",
    "fetch.max.bytes": 1024,
    "group.id": "g",
  };
  assert.equal(redact(config), {
    "bootstrap.servers": "b:9092",
    "sasl.jaas.config": "[redacted]",
    "sasl.password": "[redacted]",
    "ssl.keystore.key": "[redacted]",
    "ssl.key.password": "[redacted]",
    "ssl.keystore.password": "[redacted]",
    "ssl.truststore.password": "[redacted]",
    "basic.auth.user.info": "[redacted]",
    "client.secret": "[redacted]",
    "fetch.max.bytes": "1024",
    "group.id": "g",
  });
  assert.ok(isSecretConfigKey("SSL.KEY.PEM") && isSecretConfigKey("sasl.oauthbearer.client.secret"));
  assert.not.ok(isSecretConfigKey("ssl.truststore.certificates") || isSecretConfigKey("security.protocol"));
});

s.run();
