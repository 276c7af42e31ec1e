// A broker that requires TLS or SASL, as production brokers do: the native write and read work on every kind of
// listener (TLS with the CA as PEM text and as a file, SASL/PLAIN over TLS, SCRAM-SHA-256/512, OAUTHBEARER with
// tokens from an OAuth server, mutual TLS with a PEM key and a PKCS12 keystore), and what a user gets wrong (a password, a CA, a host name, a missing client
// certificate, the protocol) fails within seconds with an error that says which. A private broker with its own
// certificates (test/infra/secure-broker.ts).
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { rejection } from "../assertions.js";
import { startSecureBroker, type SecureBroker } from "../infra/secure-broker.js";
import { uniqueTopic } from "../infra/fixtures.js";
import { Create, ParDo, Pipeline, type DoFn } from "../../src/pipeline/index.js";
import { LocalRunner } from "../../src/runners/local/index.js";
import {
  closeAllClients,
  KafkaAuthenticationError,
  KafkaTimeoutError,
  KafkaTlsError,
  readFromKafka,
  writeToKafka,
  type TlsFailure,
} from "../../src/kafka/index.js";

type Config = Record<string, string>;

const s = suite("kafka security: TLS and SASL listeners", { timeoutMs: 240_000 });
let sb: SecureBroker | undefined;
s.before(async () => {
  sb = await startSecureBroker();
});
s.after(async () => {
  await closeAllClients();
  await sb?.stop();
});

const PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule";

/**
 * Writes two keyed records to a new topic (created by the broker on first use) and reads them back; `exactlyOnce`:
 * through a transaction (its coordinator's requests, ours included, on the authenticated connections), read committed.
 */
async function roundtrip(config: Config, exactlyOnce = false): Promise<void> {
  const topic = uniqueTopic("secure");
  const records = [
    { key: "k1", value: "v1" },
    { key: "k2", value: "v2" },
  ];
  const write = Pipeline.create();
  write.apply(Create.of(records)).apply(
    writeToKafka({
      producerConfig: config,
      topic,
      keySerializer: "string",
      valueSerializer: "string",
      ...(exactlyOnce ? { exactlyOnce: { numShards: 1, sinkGroupId: `sink-${topic}` } } : {}),
    }),
  );
  assert.is(await write.run(new LocalRunner()).waitUntilFinish(60_000), "DONE");

  const seen: string[] = [];
  const collect: DoFn<{ key: string | null; value: string | null }, never> = {
    process(kv) {
      seen.push(`${kv.key}=${kv.value}`);
    },
  };
  const read = Pipeline.create();
  read
    .apply(
      readFromKafka<string, string>({
        consumerConfig: {
          ...config,
          "auto.offset.reset": "earliest",
          ...(exactlyOnce ? { "isolation.level": "read_committed" } : {}),
        },
        topics: [topic],
        keyDeserializer: "string",
        valueDeserializer: "string",
        maxNumRecords: records.length,
      }),
    )
    .apply(ParDo.of(collect));
  assert.is(await read.run(new LocalRunner()).waitUntilFinish(60_000), "DONE");
  assert.equal(seen.sort(), ["k1=v1", "k2=v2"]);
}

/** The error a write with `config` fails with, and how long it took. */
async function failedWrite(config: Config): Promise<{ error: Error; ms: number }> {
  const started = Date.now();
  const p = Pipeline.create();
  p.apply(Create.of([{ key: "k", value: "v" }])).apply(
    writeToKafka({
      producerConfig: config,
      topic: uniqueTopic("refused"),
      keySerializer: "string",
      valueSerializer: "string",
    }),
  );
  const error = (await rejection(p.run(new LocalRunner()).waitUntilFinish(120_000))) as Error;
  return { error, ms: Date.now() - started };
}

/** The error a bounded read with `config` fails with, and how long it took. */
async function failedRead(config: Config): Promise<{ error: Error; ms: number }> {
  const started = Date.now();
  const p = Pipeline.create();
  p.apply(readFromKafka({ consumerConfig: config, topics: [uniqueTopic("refused")], maxNumRecords: 1 }));
  const error = (await rejection(p.run(new LocalRunner()).waitUntilFinish(120_000))) as Error;
  return { error, ms: Date.now() - started };
}

const FAST_MS = 15_000;

async function assertTlsFailure(config: Config, failure: TlsFailure): Promise<void> {
  for (const attempt of [failedWrite, failedRead]) {
    const { error, ms } = await attempt(config);
    assert.instance(error, KafkaTlsError, `${attempt.name}: ${error.name}: ${error.message}`);
    assert.is((error as KafkaTlsError).failure, failure, error.message);
    assert.is((error as KafkaTlsError).code, "KAFKA_TLS_FAILED");
    assert.ok(ms < FAST_MS, `${attempt.name} failed after ${ms} ms, not fast`);
    console.log(`  SECURITY ${failure}: ${attempt.name} failed in ${ms} ms`);
  }
}

s.test("TLS: the CA as PEM text in the config, and as a file", async () => {
  const tls = sb!.tls;
  await roundtrip({
    "bootstrap.servers": sb!.ssl,
    "security.protocol": "SSL",
    "ssl.truststore.type": "PEM",
    "ssl.truststore.certificates": tls.caPem,
  });
  await roundtrip({ "bootstrap.servers": sb!.ssl, "security.protocol": "SSL", "ssl.truststore.location": tls.caFile });
});

s.test("SASL_SSL with PLAIN, credentials in sasl.jaas.config", async () => {
  const { username, password } = sb!.plainUser;
  await roundtrip({
    "bootstrap.servers": sb!.saslSsl,
    "security.protocol": "SASL_SSL",
    "sasl.mechanism": "PLAIN",
    "sasl.jaas.config": `${PLAIN_MODULE} required username="${username}" password="${password}";`,
    "ssl.truststore.location": sb!.tls.caFile,
  });
});

s.test("SASL_PLAINTEXT with SCRAM-SHA-256 and SCRAM-SHA-512, at least once and exactly once", async () => {
  for (const [mechanism, user] of [
    ["SCRAM-SHA-256", sb!.scram256User],
    ["SCRAM-SHA-512", sb!.scram512User],
  ] as const) {
    const config = {
      "bootstrap.servers": sb!.saslPlaintext,
      "security.protocol": "SASL_PLAINTEXT",
      "sasl.mechanism": mechanism,
      "sasl.username": user.username,
      "sasl.password": user.password,
    };
    await roundtrip(config);
    await roundtrip(config, true);
  }
});

const OAUTH_MODULE = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";

/** OAUTHBEARER as KIP-768 configures it: the token endpoint, the client credentials in the JAAS entry. */
function oauthConfig(secret: string, scope: string): Config {
  return {
    "bootstrap.servers": sb!.oauthBearer,
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanism": "OAUTHBEARER",
    "sasl.login.callback.handler.class": "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
    "sasl.oauthbearer.token.endpoint.url": sb!.oauth.tokenUrl,
    "sasl.jaas.config": `${OAUTH_MODULE} required clientId="${sb!.oauth.clientId}" clientSecret="${secret}" scope="${scope}" extension_traceId="kbt";`,
  };
}

s.test(
  "SASL_PLAINTEXT with OAUTHBEARER: JWTs from the token endpoint, verified by the broker; one token for all",
  async () => {
    const issued = sb!.oauth.tokensIssued;
    await roundtrip(oauthConfig(sb!.oauth.clientSecret, "kafka.read kafka.write"));
    await roundtrip(oauthConfig(sb!.oauth.clientSecret, "kafka.read kafka.write"), true);
    // Kafka 4.1's keys for the same credentials (and no JAAS entry at all).
    await roundtrip({
      "bootstrap.servers": sb!.oauthBearer,
      "security.protocol": "SASL_PLAINTEXT",
      "sasl.mechanism": "OAUTHBEARER",
      "sasl.oauthbearer.token.endpoint.url": sb!.oauth.tokenUrl,
      "sasl.oauthbearer.client.credentials.client.id": sb!.oauth.clientId,
      "sasl.oauthbearer.client.credentials.client.secret": sb!.oauth.clientSecret,
      "sasl.oauthbearer.scope": "kafka.read kafka.write",
    });
    // Every connection of the three pipelines (producers, readers, the transaction's) shared one token.
    assert.is(sb!.oauth.tokensIssued - issued, 1);
    assert.is(sb!.oauth.lastScope, "kafka.read kafka.write");
    assert.ok(sb!.oauth.jwksFetches >= 1, "the broker verified the token against the server's keys");
  },
);

s.test(
  "OAUTHBEARER: a wrong client secret fails at once, naming the token endpoint's answer, not the secret",
  async () => {
    for (const attempt of [failedWrite, failedRead]) {
      const { error, ms } = await attempt(oauthConfig("not-the-secret", "kafka"));
      assert.instance(error, KafkaAuthenticationError, `${attempt.name}: ${error.name}: ${error.message}`);
      assert.match(error.message, sb!.oauth.tokenUrl);
      assert.match(error.message, "HTTP 401: invalid_client");
      assert.not.match(error.message, "not-the-secret");
      assert.ok(ms < FAST_MS, `${attempt.name} failed after ${ms} ms, not fast`);
      console.log(`  SECURITY oauth-wrong-secret: ${attempt.name} failed in ${ms} ms`);
    }
  },
);

s.test(
  "OAUTHBEARER: a token the broker cannot verify (a key not in its JWKS) fails with KafkaAuthenticationError",
  async () => {
    sb!.oauth.signWithUnknownKey = true;
    try {
      // Another scope: a token of its own, not the one the first test's connections share.
      const { error, ms } = await failedWrite(oauthConfig(sb!.oauth.clientSecret, "kafka.other"));
      assert.instance(error, KafkaAuthenticationError, `${error.name}: ${error.message}`);
      assert.match(
        error.message,
        `SASL authentication with ${sb!.oauthBearer} failed: the OAUTHBEARER token was refused`,
      );
      assert.match(error.message, "invalid_token");
      assert.ok(ms < FAST_MS, `failed after ${ms} ms, not fast`);
      console.log(`  SECURITY oauth-unverifiable-token: failedWrite failed in ${ms} ms: ${error.message}`);
    } finally {
      sb!.oauth.signWithUnknownKey = false;
    }
  },
);

s.test("mutual TLS: an encrypted PEM key with its chain, and a PKCS12 keystore", async () => {
  const tls = sb!.tls;
  const base = {
    "bootstrap.servers": sb!.mutualTls,
    "security.protocol": "SSL",
    "ssl.truststore.location": tls.caFile,
  };
  await roundtrip({
    ...base,
    "ssl.keystore.type": "PEM",
    "ssl.keystore.certificate.chain": tls.clientCertPem,
    "ssl.keystore.key": tls.clientKeyPem,
    "ssl.key.password": tls.clientKeyPassword,
  });
  await roundtrip({
    ...base,
    "ssl.keystore.type": "PKCS12",
    "ssl.keystore.location": tls.clientKeystore,
    "ssl.keystore.password": tls.clientKeyPassword,
  });
});

s.test("a wrong password fails at once with KafkaAuthenticationError, naming the mechanism", async () => {
  const config = {
    "bootstrap.servers": sb!.saslPlaintext,
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanism": "SCRAM-SHA-256",
    "sasl.username": sb!.scram256User.username,
    "sasl.password": "not-the-password",
  };
  for (const attempt of [failedWrite, failedRead]) {
    const { error, ms } = await attempt(config);
    assert.instance(error, KafkaAuthenticationError, `${attempt.name}: ${error.name}: ${error.message}`);
    assert.match(error.message, "SCRAM-SHA-256");
    assert.not.match(error.message, "not-the-password");
    assert.ok(ms < FAST_MS, `${attempt.name} failed after ${ms} ms, not fast`);
    console.log(`  SECURITY wrong-password: ${attempt.name} failed in ${ms} ms`);
  }
});

s.test("a certificate from another CA fails fast: untrusted-certificate", async () => {
  await assertTlsFailure(
    { "bootstrap.servers": sb!.ssl, "security.protocol": "SSL", "ssl.truststore.certificates": sb!.tls.rogueCaPem },
    "untrusted-certificate",
  );
});

s.test("a certificate naming another host fails fast: hostname-mismatch; disabling the check connects", async () => {
  const config = {
    "bootstrap.servers": sb!.wrongHost,
    "security.protocol": "SSL",
    "ssl.truststore.location": sb!.tls.caFile,
  };
  await assertTlsFailure(config, "hostname-mismatch");
  await roundtrip({ ...config, "ssl.endpoint.identification.algorithm": "" });
});

s.test("a listener requiring a client certificate refuses none fast: client-certificate-rejected", async () => {
  await assertTlsFailure(
    { "bootstrap.servers": sb!.mutualTls, "security.protocol": "SSL", "ssl.truststore.location": sb!.tls.caFile },
    "client-certificate-rejected",
  );
});

s.test("TLS to a plaintext listener fails fast: not-tls", async () => {
  await assertTlsFailure(
    {
      "bootstrap.servers": sb!.broker.bootstrap,
      "security.protocol": "SSL",
      "ssl.truststore.location": sb!.tls.caFile,
    },
    "not-tls",
  );
});

s.test("plaintext to a TLS listener: bounded by max.block.ms, the error points at security.protocol", async () => {
  // The listener hangs up without a word, as during a broker restart: retried, as Kafka's client does, until the bound.
  const { error, ms } = await failedWrite({ "bootstrap.servers": sb!.ssl, "max.block.ms": "4000" });
  assert.instance(error, KafkaTimeoutError, `${error.name}: ${error.message}`);
  assert.match(error.message, "security.protocol");
  assert.ok(ms < FAST_MS, `failed after ${ms} ms`);
});

s.run();
