// Config-provider references (`${env:...}`, `${file:...}`, `${directory:...}`) resolved where a client is made,
// deferred where a spec is validated; literal secrets sealed for the trip through a runner, and refused on request.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { thrown } from "../assertions.js";
import { KafkaConfigError } from "../../src/kafka/errors.js";
import { parseConsumerConfig, parseProducerConfig } from "../../src/kafka/config/index.js";
import { resolveReferences } from "../../src/kafka/config/references.js";
import {
  holdsSecretValue,
  isLiteralSecret,
  readSealingKey,
  SecretSealer,
  writeNewSealingKey,
} from "../../src/kafka/config/sealing.js";
import { protectedSpec } from "../../src/expansion/secrets.js";
import { ExpansionError } from "../../src/expansion/index.js";
import { readSpecFromOptions } from "../../src/kafka/read/spec.js";
import { writeSpecFromOptions } from "../../src/kafka/write/spec.js";

const s = suite("kafka config: references and sealed secrets");
const dir = mkdtempSync(join(tmpdir(), "kbt-config-secrets-"));
s.after(() => rmSync(dir, { recursive: true, force: true }));

const ENV_PROVIDER = {
  "config.providers": "env",
  "config.providers.env.class": "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
};
const FILE_PROVIDER = {
  "config.providers": "file,directory",
  "config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider",
  "config.providers.directory.class": "org.apache.kafka.common.config.provider.DirectoryConfigProvider",
};
const SCRAM = {
  "bootstrap.servers": "127.0.0.1:9092",
  "security.protocol": "SASL_PLAINTEXT",
  "sasl.mechanism": "SCRAM-SHA-256",
  "sasl.username": "bob",
};

s.test("${env:VAR} resolves from the worker's environment, also inside JAAS text", () => {
  const config = {
    ...ENV_PROVIDER,
    "sasl.jaas.config":
      'org.apache.kafka.common.security.scram.ScramLoginModule required username="bob" password="${env:KBT_T_PW}";',
  };
  const out = resolveReferences(config, { env: { KBT_T_PW: "s3cr3t" } });
  assert.match(out["sasl.jaas.config"]!, 'password="s3cr3t"');
  const err = thrown(() => resolveReferences(config, { env: {} }), KafkaConfigError, "an unset variable");
  assert.is(err.key, "sasl.jaas.config");
  assert.match(err.message, "${env:KBT_T_PW}");
});

s.test("${file:path:key} reads a properties file; ${directory:dir:name} a file's contents; allowed.paths", () => {
  const props = join(dir, "creds.properties");
  writeFileSync(props, "# comment\nuser = bob\npassword=p=w:1\n");
  writeFileSync(join(dir, "token"), "abc\n");
  const config = {
    ...FILE_PROVIDER,
    "sasl.password": `\${file:${props}:password}`,
    "sasl.username": `\${directory:${dir}:token}`,
  };
  const out = resolveReferences(config);
  assert.is(out["sasl.password"], "p=w:1");
  assert.is(out["sasl.username"], "abc\n");
  const missing = thrown(
    () => resolveReferences({ ...config, "sasl.password": `\${file:${props}:nope}` }),
    KafkaConfigError,
    "a missing key",
  );
  assert.match(missing.message, "no such key");
  const outside = thrown(
    () => resolveReferences({ ...config, "config.providers.file.param.allowed.paths": "/nowhere" }),
    KafkaConfigError,
    "a path outside allowed.paths",
  );
  assert.match(outside.message, "allowed.paths");
});

s.test(
  "references to undeclared providers stay as written, with a warning; unknown provider classes are errors",
  () => {
    const warnings: string[] = [];
    const out = resolveReferences({ "sasl.password": "${env:X}" }, { logger: (_l, m) => warnings.push(m) });
    assert.is(out["sasl.password"], "${env:X}");
    assert.match(warnings.join("\n"), "config.providers does not declare env");
    const err = thrown(
      () => resolveReferences({ "config.providers": "vault", "config.providers.vault.class": "com.example.Vault" }),
      KafkaConfigError,
      "an unsupported provider",
    );
    assert.is(err.key, "config.providers.vault.class");
  },
);

s.test("parsing resolves on the worker and defers when validating a spec (no variable needed there)", () => {
  const config = { ...SCRAM, ...ENV_PROVIDER, "sasl.password": "${env:KBT_T_UNSET_ON_THIS_MACHINE}" };
  readSpecFromOptions({ consumerConfig: config, topics: ["t"] }); // validation: no error
  writeSpecFromOptions({ producerConfig: config, topic: "t" });
  thrown(() => parseConsumerConfig(config, { logger: () => undefined }), KafkaConfigError, "an unset variable");
  process.env.KBT_T_SET = "pw";
  try {
    const options = parseProducerConfig(
      { ...config, "sasl.password": "${env:KBT_T_SET}" },
      { logger: () => undefined },
    );
    assert.is(options.sasl?.mechanism !== "OAUTHBEARER" && options.sasl?.password, "pw");
  } finally {
    delete process.env.KBT_T_SET;
  }
  // A whole JAAS text or PEM key given by reference is checked on the worker, not at validation.
  readSpecFromOptions({
    consumerConfig: {
      ...SCRAM,
      "sasl.username": undefined as unknown as string,
      "sasl.jaas.config": "${env:JAAS}",
      ...ENV_PROVIDER,
    },
    topics: ["t"],
  });
});

s.test("sealing: round trip per config key; another key or another config key does not open it", () => {
  const sealer = new SecretSealer(Buffer.alloc(32, 7));
  const token = sealer.seal("sasl.password", "hunter2");
  assert.match(token, /^\$\{kbt-sealed:v1:[A-Za-z0-9_-]+\}$/);
  assert.not.match(token, "hunter2");
  assert.is(sealer.unseal("sasl.password", token), "hunter2");
  assert.is(resolveReferences({ "sasl.password": token }, { sealer: () => sealer })["sasl.password"], "hunter2");
  thrown(() => sealer.unseal("ssl.key.password", token), KafkaConfigError, "a token moved to another key");
  const other = new SecretSealer(Buffer.alloc(32, 8));
  const err = thrown(() => other.unseal("sasl.password", token), KafkaConfigError, "another service's key");
  assert.match(err.message, "same key file");
  const noKey = thrown(
    () => resolveReferences({ "sasl.password": token }, { sealer: () => undefined }),
    KafkaConfigError,
    "a worker without the key",
  );
  assert.match(noKey.message, "KBT_SECRETS_KEY_FILE");
});

s.test("which values are literal secrets: passwords, keys, JAAS; not locations, types, chains or references", () => {
  for (const key of [
    "sasl.password",
    "sasl.jaas.config",
    "ssl.key.password",
    "ssl.keystore.key",
    "ssl.keystore.password",
  ])
    assert.ok(holdsSecretValue(key), key);
  for (const key of [
    "ssl.keystore.location",
    "ssl.keystore.type",
    "ssl.keystore.certificate.chain",
    "bootstrap.servers",
  ])
    assert.not.ok(holdsSecretValue(key), key);
  assert.ok(isLiteralSecret("sasl.password", "pw"));
  assert.not.ok(isLiteralSecret("sasl.password", "${env:PW}"));
  assert.not.ok(isLiteralSecret("sasl.jaas.config", 'x required password="${file:/p:pw}";'));
});

s.test("protectedSpec: seal keeps references and plain values; refuse names the key; pass is identity", () => {
  const keyFile = writeNewSealingKey();
  const sealer = new SecretSealer(readSealingKey(keyFile));
  rmSync(dirname(keyFile), { recursive: true });
  const seal = { literalSecrets: "seal", sealer } as const;
  const spec = readSpecFromOptions({ consumerConfig: { ...SCRAM, "sasl.password": "pw-literal" }, topics: ["t"] });
  const sealed = protectedSpec(spec, seal);
  assert.is(sealed.consumerConfig["bootstrap.servers"], "127.0.0.1:9092");
  assert.match(sealed.consumerConfig["sasl.password"]!, /^\$\{kbt-sealed:v1:/);
  assert.is(protectedSpec(spec, seal), sealed, "one protected spec per spec and policy");
  const unsealed = parseConsumerConfig(sealed.consumerConfig, { sealer: () => sealer }).sasl;
  assert.is(unsealed?.mechanism !== "OAUTHBEARER" && unsealed?.password, "pw-literal");
  const refused = thrown(() => protectedSpec(spec, { literalSecrets: "refuse" }), ExpansionError, "a refusal");
  assert.match(refused.message, "consumer_config['sasl.password']");
  assert.not.match(refused.message, "pw-literal");
  const write = writeSpecFromOptions({ producerConfig: { ...SCRAM, "sasl.password": "pw-literal" }, topic: "t" });
  assert.match(protectedSpec(write, { literalSecrets: "seal", sealer }).producerConfig["sasl.password"]!, "kbt-sealed");
  assert.is(protectedSpec(write, { literalSecrets: "pass" }), write);
});

s.run();
