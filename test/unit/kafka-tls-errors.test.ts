// TLS failures from kafkajs connection errors, by Node's code: the same failure whatever OpenSSL spells it.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { KafkaTlsError } from "../../src/kafka/errors.js";
import { tlsFailure, toKafkaError } from "../../src/kafka/client/kafkajs-errors.js";

const s = suite("kafka: TLS failures by Node error code");

s.test("OpenSSL 3.0 and 3.2+ spellings of an alert are the same failure", () => {
  const cases: [string, string][] = [
    ["ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE", "client-certificate-rejected"], // Node 20 (OpenSSL 3.0)
    ["ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE", "client-certificate-rejected"], // Node 22+ (OpenSSL 3.2+)
    ["ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", "client-certificate-required"],
    ["ERR_SSL_TLSV1_ALERT_UNKNOWN_CA", "client-certificate-rejected"],
    ["SELF_SIGNED_CERT_IN_CHAIN", "untrusted-certificate"],
    ["ERR_TLS_CERT_ALTNAME_INVALID", "hostname-mismatch"],
    ["CERT_HAS_EXPIRED", "certificate-expired"],
    ["ERR_SSL_WRONG_VERSION_NUMBER", "not-tls"],
  ];
  for (const [code, failure] of cases) assert.is(tlsFailure(code, "b:9093")?.failure, failure, code);
  assert.is(tlsFailure("ECONNREFUSED", "b:9093"), undefined, "a refused connection is no TLS failure");
  assert.is(tlsFailure("ERR_SSL_DECRYPTION_FAILED", "b:9093"), undefined, "unknown TLS codes stay retriable");
});

s.test("a kafkajs connection error becomes a non-retriable KafkaTlsError naming the broker and the fix", () => {
  const raw = Object.assign(new Error("Connection error: self-signed certificate in certificate chain"), {
    name: "KafkaJSConnectionError",
    code: "SELF_SIGNED_CERT_IN_CHAIN",
    broker: "127.0.0.1:9093",
  });
  const err = toKafkaError(raw, { what: "fetch" });
  assert.instance(err, KafkaTlsError);
  assert.is(err.retriable, false);
  assert.match(err.message, "127.0.0.1:9093");
  assert.match(err.message, "ssl.truststore");
  const plaintext = Object.assign(
    new Error("Connection error: Client network socket disconnected before secure TLS connection was established"),
    { name: "KafkaJSConnectionError", code: "ECONNRESET", broker: "127.0.0.1:9092" },
  );
  assert.is((toKafkaError(plaintext, { what: "fetch" }) as KafkaTlsError).failure, "not-tls");
});

s.run();
