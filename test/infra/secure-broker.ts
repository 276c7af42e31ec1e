// A broker that requires what production brokers require, one listener per way in: TLS, SASL/PLAIN over TLS,
// SASL/SCRAM (SHA-256 and SHA-512) over plain TCP, SASL/OAUTHBEARER with JWTs from an OAuth server (oauth-server.ts,
// verified by the broker against its JWKS), mutual TLS, and a TLS listener whose certificate names another host.
// Certificates are made per run (tls-material.ts); SCRAM credentials are added at format time (KRaft).
import { startBroker, type Broker, type BrokerOptions } from "./broker.js";
import { startOAuthServer, type OAuthServer } from "./oauth-server.js";
import { makeTlsMaterial, type TlsMaterial } from "./tls-material.js";

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface SecureBroker {
  readonly broker: Broker;
  readonly tls: TlsMaterial;
  /** host:port per listener. */
  readonly ssl: string;
  readonly saslSsl: string;
  readonly saslPlaintext: string;
  /** SASL_PLAINTEXT with OAUTHBEARER: tokens from `oauth`. */
  readonly oauthBearer: string;
  readonly oauth: OAuthServer;
  readonly mutualTls: string;
  readonly wrongHost: string;
  /** PLAIN on saslSsl; SCRAM-SHA-256 and SCRAM-SHA-512 on saslPlaintext. */
  readonly plainUser: Credentials;
  readonly scram256User: Credentials;
  readonly scram512User: Credentials;
  stop(): Promise<void>;
}

const PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule";
const SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule";
const OAUTH_MODULE = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";
const OAUTH_VALIDATOR = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler";

export async function startSecureBroker(options: Pick<BrokerOptions, "warm"> = {}): Promise<SecureBroker> {
  const tls = await makeTlsMaterial();
  const oauth = await startOAuthServer();
  const plainUser = { username: "alice", password: "alice-plain-secret" };
  const scram256User = { username: "bob", password: "bob-scram256-secret" };
  const scram512User = { username: "carol", password: "carol-scram512-secret" };
  const keystore = (path: string) => ({ type: "PKCS12", location: path, password: tls.storePassword });
  const sslProperties = (prefix: string, store: ReturnType<typeof keystore>) => ({
    [`${prefix}ssl.keystore.type`]: store.type,
    [`${prefix}ssl.keystore.location`]: store.location,
    [`${prefix}ssl.keystore.password`]: store.password,
    [`${prefix}ssl.key.password`]: store.password,
  });
  let broker: Broker;
  try {
    broker = await startBroker({
      ...options,
      listeners: [
        { name: "SSL", protocol: "SSL" },
        { name: "SASL_SSL", protocol: "SASL_SSL" },
        { name: "SASL_PLAINTEXT", protocol: "SASL_PLAINTEXT" },
        { name: "OAUTH", protocol: "SASL_PLAINTEXT" },
        { name: "MTLS", protocol: "SSL" },
        { name: "WRONG_HOST", protocol: "SSL" },
      ],
      properties: {
        ...sslProperties("", keystore(tls.serverKeystore)),
        ...sslProperties("listener.name.wrong_host.", keystore(tls.wrongHostKeystore)),
        "listener.name.mtls.ssl.client.auth": "required",
        "listener.name.mtls.ssl.truststore.type": "PEM",
        "listener.name.mtls.ssl.truststore.location": tls.caFile,
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_ssl.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_ssl.plain.sasl.jaas.config": `${PLAIN_MODULE} required user_${plainUser.username}="${plainUser.password}";`,
        "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": `${SCRAM_MODULE} required;`,
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": `${SCRAM_MODULE} required;`,
        "listener.name.oauth.sasl.enabled.mechanisms": "OAUTHBEARER",
        "listener.name.oauth.oauthbearer.sasl.jaas.config": `${OAUTH_MODULE} required;`,
        "listener.name.oauth.oauthbearer.sasl.server.callback.handler.class": OAUTH_VALIDATOR,
        // (listener-prefixed only: mechanism-prefixed keys are read for the JAAS entry and the handler class alone)
        "listener.name.oauth.sasl.oauthbearer.jwks.endpoint.url": oauth.jwksUrl,
        // Kafka 4.1's default validator (DefaultJwtValidator, made without a key resolver by the handler) checks
        // claims but no signature: name the broker's own, which verifies against the JWKS.
        "listener.name.oauth.sasl.oauthbearer.jwt.validator.class":
          "org.apache.kafka.common.security.oauthbearer.BrokerJwtValidator",
      },
      // Kafka 4 fetches only the OAuth URLs listed here.
      systemProperties: { "org.apache.kafka.sasl.oauthbearer.allowed.urls": oauth.jwksUrl },
      formatArgs: [
        "--add-scram",
        `SCRAM-SHA-256=[name=${scram256User.username},password=${scram256User.password}]`,
        "--add-scram",
        `SCRAM-SHA-512=[name=${scram512User.username},password=${scram512User.password}]`,
      ],
    });
  } catch (err) {
    tls.remove();
    await oauth.close();
    throw err;
  }
  const at = (name: string) => broker.listeners[name]!;
  return {
    broker,
    tls,
    ssl: at("SSL"),
    saslSsl: at("SASL_SSL"),
    saslPlaintext: at("SASL_PLAINTEXT"),
    oauthBearer: at("OAUTH"),
    oauth,
    mutualTls: at("MTLS"),
    wrongHost: at("WRONG_HOST"),
    plainUser,
    scram256User,
    scram512User,
    stop: async () => {
      await broker.stop();
      tls.remove();
      await oauth.close();
    },
  };
}
