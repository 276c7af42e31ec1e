// The SASL/OAUTHBEARER exchange (RFC 7628, as Kafka's broker runs it), for kafkajs connections. kafkajs's own takes
// the broker's error challenge (a refused token: {"status":"invalid_token",...}) for success and leaves the
// connection half-authenticated (every request then fails with ILLEGAL_SASL_STATE); this one answers the challenge
// as the RFC asks (%x01) and fails the connection with the broker's reason, so a refused token fails at once.
import kafkajs from "kafkajs";
import type { OAuthBearerOptions } from "../config/index.js";
import { oauthBearerProvider } from "./oauth-token.js";

// kafkajs's error (its types declare no message argument): toKafkaError makes it our KafkaAuthenticationError.
const SaslAuthenticationError = kafkajs.KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;
const SEPARATOR = "\u0001";

/** kafkajs's SaslAuthenticate hook, as its authentication providers receive it. */
interface SaslExchange {
  readonly host: string;
  readonly port: number;
  saslAuthenticate(exchange: {
    request: { encode(): Promise<Buffer> };
    response?: { decode(bytes: Buffer): Promise<Buffer>; parse(bytes: Buffer): Promise<Buffer> };
  }): Promise<Buffer | undefined>;
}

/** SaslAuthenticate carries bytes as int32 length + bytes, both ways. */
function lengthPrefixed(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + bytes.length);
  out.writeInt32BE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

const rawAuthBytes = {
  decode: async (bytes: Buffer) => (bytes.length >= 4 ? bytes.subarray(4, 4 + bytes.readInt32BE(0)) : bytes),
  parse: async (bytes: Buffer) => bytes,
};

/** The client's first (and only) message: the GS2 header, the token, the extensions (RFC 7628 §3.1). */
function initialResponse(token: string, extensions: Readonly<Record<string, string>>): Buffer {
  const pairs = Object.entries(extensions).map(([name, value]) => `${SEPARATOR}${name}=${value}`);
  return Buffer.from(`n,,${SEPARATOR}auth=Bearer ${token}${pairs.join("")}${SEPARATOR}${SEPARATOR}`);
}

/** kafkajs `sasl.authenticationProvider` for OAUTHBEARER with tokens from the configured endpoint. */
export function oauthBearerAuthenticationProvider(options: OAuthBearerOptions) {
  const token = oauthBearerProvider(options);
  return ({ host, port, saslAuthenticate }: SaslExchange) => ({
    authenticate: async (): Promise<void> => {
      const { value, extensions } = await token();
      const challenge = await saslAuthenticate({
        request: { encode: async () => lengthPrefixed(initialResponse(value, extensions)) },
        response: rawAuthBytes,
      });
      if (!challenge || challenge.length === 0) return; // accepted
      // Refused: the challenge is the broker's error as JSON; the exchange ends once the client answers %x01.
      const reason = challenge.toString("utf8").slice(0, 300);
      try {
        await saslAuthenticate({ request: { encode: async () => lengthPrefixed(Buffer.from(SEPARATOR)) } });
      } catch {
        // the broker's final failure, expected
      }
      const error = new SaslAuthenticationError(
        `SASL OAUTHBEARER authentication failed: the OAUTHBEARER token was refused: ${reason}`,
      );
      Object.assign(error, { broker: `${host}:${port}` });
      throw error;
    },
  });
}
