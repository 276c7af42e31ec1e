// Beam Python's ReadFromKafka / WriteToKafka through `serve` against a broker that requires TLS or SASL, and the
// secrets of those configs kept in: sealed in the payloads a runner stores, absent from every log line (debug
// included), from what Python is told when a job fails, from /metrics and /transforms. Also: a service that refuses
// literal secrets, references resolved on the worker (${file:...}), and Python reaching the service over TLS.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { uniqueTopic } from "../infra/fixtures.js";
import { lastJsonLine, runPython, type PythonResult } from "../infra/python.js";
import { startPrism, type Prism } from "../infra/prism.js";
import { startSecureBroker, type SecureBroker } from "../infra/secure-broker.js";
import { externalPayload } from "../infra/expansion-payload.js";
import { grpcClient, startServeProcess, unaryCall, type ServeProcess } from "../integration/service-fixtures.js";
import { BEAM_KAFKA_URNS } from "../../src/model/kbt-urns.js";
import { expansionApi } from "../../src/model/proto/index.js";
import { array, map, nullable } from "../../src/model/schema.js";

type Config = Record<string, string>;
interface Case {
  readonly name: string;
  readonly config: Config;
  readonly topic: string;
}

const s = suite("xlang security: Python through serve on TLS and SASL listeners", { timeoutMs: 420_000 });
let sb: SecureBroker | undefined;
let prism: Prism | undefined;
let serve: ServeProcess | undefined;
let dir = "";
/** Everything a secret must not appear in that is not read from serve or Prism at the end. */
const pythonOutputs: PythonResult[] = [];

s.before(async () => {
  dir = mkdtempSync(join(tmpdir(), "kbt-xlang-secure-"));
  [sb, prism, serve] = await Promise.all([
    startSecureBroker(),
    startPrism(),
    startServeProcess(["--log-level", "debug"]),
  ]);
});
s.after(async () => {
  await Promise.all([prism?.stop(), serve?.stop()]);
  await sb?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule";
const OAUTH_MODULE = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";
const TRUSTSTORE_PASSWORD = "kbt-truststore-secret-7f3a"; // no effect on a PEM truststore; it must not leak either

/** One case per kind of listener, each config holding some of the secrets (together: every secret field). */
function listenerCases(): Case[] {
  const b = sb!;
  const tls = b.tls;
  // A properties file read by FileConfigProvider on the worker: the payload holds only the reference.
  const credentials = join(dir, "scram.properties");
  writeFileSync(credentials, `password=${b.scram512User.password}\n`, { mode: 0o600 });
  const cases: Omit<Case, "topic">[] = [
    {
      name: "ssl-ca-pem-text",
      config: {
        "bootstrap.servers": b.ssl,
        "security.protocol": "SSL",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.certificates": tls.caPem,
        "ssl.truststore.password": TRUSTSTORE_PASSWORD,
      },
    },
    {
      name: "ssl-ca-file",
      config: { "bootstrap.servers": b.ssl, "security.protocol": "SSL", "ssl.truststore.location": tls.caFile },
    },
    {
      name: "sasl-ssl-plain",
      config: {
        "bootstrap.servers": b.saslSsl,
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "sasl.jaas.config": `${PLAIN_MODULE} required username="${b.plainUser.username}" password="${b.plainUser.password}";`,
        "ssl.truststore.location": tls.caFile,
      },
    },
    {
      name: "scram-sha-256",
      config: {
        "bootstrap.servers": b.saslPlaintext,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": b.scram256User.username,
        "sasl.password": b.scram256User.password,
      },
    },
    {
      name: "scram-sha-512-file-reference",
      config: {
        "bootstrap.servers": b.saslPlaintext,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": b.scram512User.username,
        "sasl.password": `\${file:${credentials}:password}`,
        "config.providers": "file",
        "config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider",
      },
    },
    {
      name: "oauthbearer",
      config: {
        "bootstrap.servers": b.oauthBearer,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "OAUTHBEARER",
        "sasl.oauthbearer.token.endpoint.url": b.oauth.tokenUrl,
        "sasl.jaas.config": `${OAUTH_MODULE} required clientId="${b.oauth.clientId}" clientSecret="${b.oauth.clientSecret}";`,
      },
    },
    {
      name: "mtls-pem-key",
      config: {
        "bootstrap.servers": b.mutualTls,
        "security.protocol": "SSL",
        "ssl.truststore.location": tls.caFile,
        "ssl.keystore.type": "PEM",
        "ssl.keystore.certificate.chain": tls.clientCertPem,
        "ssl.keystore.key": tls.clientKeyPem,
        "ssl.key.password": tls.clientKeyPassword,
      },
    },
    {
      name: "mtls-pkcs12",
      config: {
        "bootstrap.servers": b.mutualTls,
        "security.protocol": "SSL",
        "ssl.truststore.location": tls.caFile,
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": tls.clientKeystore,
        "ssl.keystore.password": tls.clientKeyPassword,
      },
    },
  ];
  return cases.map((c) => ({ ...c, topic: uniqueTopic(`secure-${c.name}`) }));
}

/** The secret values the cases carry, and a line of the client's private key (its body, not the PEM armour). */
function secrets(): string[] {
  const b = sb!;
  const keyBody = b.tls.clientKeyPem.split("\n").find((l) => l.length > 40 && !l.startsWith("-----"))!;
  return [
    b.plainUser.password,
    b.scram256User.password,
    b.scram512User.password,
    b.oauth.clientSecret,
    b.tls.clientKeyPassword,
    TRUSTSTORE_PASSWORD,
    keyBody,
    "not-the-password-9d2c",
  ];
}

function assertNoSecret(where: string, text: string): void {
  for (const secret of secrets()) {
    assert.not.ok(text.includes(secret), `a secret (${secret.slice(0, 4)}…) appears in ${where}`);
  }
}

/** Runs `parse`; a failure names the case and carries the tail of serve's and Prism's output. */
function withContext<T>(name: string, result: PythonResult, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new Error(
      `${name}: ${(err as Error).message}\n--- serve ---\n${serve!.output().slice(-4000)}\n--- prism ---\n${prism!.output().slice(-4000)}\n(python exit ${result.code})`,
    );
  }
}

async function python(mode: string, cases: readonly Case[], timeoutMs = 200_000): Promise<PythonResult> {
  const file = join(dir, `cases-${cases[0]!.name}.json`);
  writeFileSync(file, JSON.stringify(cases));
  const result = await runPython(
    "security_pipelines.py",
    [mode, "--expansion", serve!.expansion, "--job-endpoint", prism!.jobEndpoint, "--cases", file],
    timeoutMs,
  );
  pythonOutputs.push(result);
  return result;
}

const EXPECTED = Array.from({ length: 5 }, (_, i) => [`key-${i}`, `value-${i}`]);

s.test(
  "Python writes and reads back on every listener: TLS, SASL_SSL/PLAIN, SCRAM-256/512, OAUTHBEARER, mutual TLS",
  async () => {
    // One Python process per case: a case that fails is named, and cannot hold up the others.
    for (const c of listenerCases()) {
      const result = await python("roundtrip", [c], 120_000);
      const { results } = withContext(c.name, result, () =>
        lastJsonLine<{ results: Record<string, string[][]> }>(result),
      );
      assert.equal(results[c.name], EXPECTED, c.name);
    }
  },
);

s.test("a wrong password: the job fails and Python is told why (authentication), with no secret", async () => {
  const wrong: Case = {
    name: "wrong-password",
    topic: uniqueTopic("secure-wrong"),
    config: {
      "bootstrap.servers": sb!.saslPlaintext,
      "security.protocol": "SASL_PLAINTEXT",
      "sasl.mechanism": "SCRAM-SHA-256",
      "sasl.username": sb!.scram256User.username,
      "sasl.password": "not-the-password-9d2c",
    },
  };
  const started = Date.now();
  const { error } = lastJsonLine<{ error: string | null }>(await python("fail", [wrong]));
  assert.ok(error, "the write failed");
  assert.match(error!, /KafkaAuthenticationError|SASL authentication/);
  assertNoSecret("the error Python got", error!);
  assert.ok(Date.now() - started < 120_000, "failed within the bound");
});

s.test("expansion responses carry sealed secrets, never the values; references as written", async () => {
  const client = grpcClient("org.apache.beam.model.expansion.v1.ExpansionService", serve!.expansion);
  try {
    for (const c of listenerCases()) {
      const response = await unaryCall<expansionApi.IExpansionResponse>(client, "Expand", readRequest(c.config));
      assert.is(response.error ?? "", "", `${c.name}: ${response.error}`);
      const bytes = Buffer.from(expansionApi.ExpansionResponse.encode(response).finish()).toString("latin1");
      assertNoSecret(`the expansion response of ${c.name}`, bytes);
      if (c.name === "scram-sha-256") assert.ok(bytes.includes("${kbt-sealed:v1:"), "the password is sealed");
      if (c.name === "scram-sha-512-file-reference") assert.ok(bytes.includes("${file:"), "the reference is kept");
    }
  } finally {
    client.close();
  }
});

s.test("secrets appear in no log line (debug included), no Python output, /metrics or /transforms", async () => {
  for (const path of ["/metrics", "/transforms"]) {
    const { status, body } = await serve!.get(path);
    assert.is(status, 200);
    assertNoSecret(path, body);
  }
  assertNoSecret("serve's log", serve!.output());
  assert.match(serve!.output(), /"level":"debug"/, "the log was at debug level");
  assertNoSecret("Prism's and the workers' output", prism!.output());
  for (const r of pythonOutputs) assertNoSecret("Python's output", r.stdout + r.stderr);
});

s.test("--literal-secrets refuse: INVALID_ARGUMENT naming the key; references expand", async () => {
  const refusing = await startServeProcess(["--literal-secrets", "refuse"]);
  const client = grpcClient("org.apache.beam.model.expansion.v1.ExpansionService", refusing.expansion);
  try {
    const cases = listenerCases();
    const literal = cases.find((c) => c.name === "scram-sha-256")!;
    const refused = await unaryCall(client, "Expand", readRequest(literal.config)).catch((e: grpc.ServiceError) => e);
    assert.is((refused as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
    assert.match((refused as grpc.ServiceError).details, "consumer_config['sasl.password']");
    assertNoSecret("the refusal", (refused as grpc.ServiceError).details);
    const reference = cases.find((c) => c.name === "scram-sha-512-file-reference")!;
    const ok = await unaryCall<expansionApi.IExpansionResponse>(client, "Expand", readRequest(reference.config));
    assert.is(ok.error ?? "", "");
  } finally {
    client.close();
    await refusing.stop();
  }
});

s.test("Python reaches a serve started with --tls-cert/--tls-key over TLS and runs the roundtrip", async () => {
  const tls = sb!.tls;
  const secure = await startServeProcess(["--tls-cert", tls.serverCertFile, "--tls-key", tls.serverKeyFile]);
  try {
    const c: Case = {
      name: "grpc-tls",
      topic: uniqueTopic("secure-grpc-tls"),
      config: { "bootstrap.servers": sb!.broker.bootstrap },
    };
    const file = join(dir, "grpc-tls.json");
    writeFileSync(file, JSON.stringify([c]));
    const result = await runPython(
      "security_pipelines.py",
      [
        "roundtrip",
        "--expansion",
        secure.expansion.replace(/^127\.0\.0\.1:/, "localhost:"),
        "--expansion-ca",
        tls.caFile,
        "--job-endpoint",
        prism!.jobEndpoint,
        "--cases",
        file,
      ],
      200_000,
    );
    const { results } = lastJsonLine<{ results: Record<string, string[][]> }>(result);
    assert.equal(results[c.name], EXPECTED);
    assert.match(secure.output(), /"msg":"expand"/, "the expansions went to the TLS service");
  } finally {
    await secure.stop();
  }
});

const readFields = {
  consumer_config: map("string", "string"),
  topics: array("string"),
  key_deserializer: "string",
  value_deserializer: "string",
  max_num_records: nullable("int64"),
} as const;

function readRequest(config: Config): expansionApi.IExpansionRequest {
  const bytes = "org.apache.kafka.common.serialization.ByteArrayDeserializer";
  const payload = externalPayload(readFields, {
    consumer_config: new Map(Object.entries(config)),
    topics: ["events"],
    key_deserializer: bytes,
    value_deserializer: bytes,
    max_num_records: 5n,
  });
  return {
    namespace: "ns1",
    transform: { uniqueName: "Read", spec: { urn: BEAM_KAFKA_URNS.READ_WITHOUT_METADATA, payload } },
    components: {},
  };
}

s.run();
