// A small OAuth 2 authorization server for tests, as brokers meet one in production: the client credentials grant
// at /token, answering RS256 JWTs, and their verification key at /jwks (what the broker's
// OAuthBearerValidatorCallbackHandler fetches). It counts the tokens it hands out.
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface OAuthServer {
  readonly tokenUrl: string;
  readonly jwksUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  // Counted by the server as it answers:
  /** Tokens handed out so far. */
  tokensIssued: number;
  /** Times the verification keys were fetched (by the broker). */
  jwksFetches: number;
  /** The scope of the last token request ("" for none). */
  lastScope: string;
  // Set by a test:
  /** The lifetime of the next tokens, in seconds (default 3600). */
  lifetimeSeconds: number;
  /** Signs the next tokens with a key the JWKS does not list (the broker must refuse them). */
  signWithUnknownKey: boolean;
  /** Answers the next this many token requests 503 (an endpoint having a bad moment). */
  unavailableFor: number;
  /** Hands out opaque tokens (not JWTs): their lifetime is the answer's expires_in alone. */
  opaqueTokens: boolean;
  close(): Promise<void>;
}

export async function startOAuthServer(): Promise<OAuthServer> {
  const clientId = "kbt-pipeline";
  const clientSecret = `secret-${randomBytes(8).toString("hex")}`;
  const key = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = "kbt-test-key";
  const jwk = { ...key.publicKey.export({ format: "jwk" }), kid, use: "sig", alg: "RS256" };
  // The object returned: its counters and settings are what the handlers count in and read.
  let state!: OAuthServer;

  const jwt = (scope: string): string => {
    const now = Math.floor(Date.now() / 1000);
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const unsigned = `${part({ alg: "RS256", typ: "JWT", kid })}.${part({
      iss: "kbt-test-idp",
      sub: clientId,
      iat: now,
      exp: now + state.lifetimeSeconds,
      ...(scope ? { scope } : {}),
    })}`;
    const signer = state.signWithUnknownKey ? stranger.privateKey : key.privateKey;
    return `${unsigned}.${sign("sha256", Buffer.from(unsigned), signer).toString("base64url")}`;
  };

  const server = createServer((req, res) => {
    const reply = (status: number, body: object) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && req.url === "/jwks") {
      state.jwksFetches++;
      return reply(200, { keys: [jwk] });
    }
    if (req.method !== "POST" || req.url !== "/token") return reply(404, { error: "not_found" });
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    req.on("end", () => {
      const form = new URLSearchParams(body);
      const expected = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`;
      if (req.headers.authorization !== expected) {
        return reply(401, { error: "invalid_client", error_description: "client authentication failed" });
      }
      if (form.get("grant_type") !== "client_credentials") return reply(400, { error: "unsupported_grant_type" });
      if (state.unavailableFor > 0) {
        state.unavailableFor--;
        return reply(503, { error: "temporarily_unavailable" });
      }
      state.tokensIssued++;
      state.lastScope = form.get("scope") ?? "";
      const token = state.opaqueTokens ? `opaque-${randomBytes(8).toString("hex")}` : jwt(state.lastScope);
      reply(200, { access_token: token, token_type: "Bearer", expires_in: state.lifetimeSeconds });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state = {
    tokenUrl: `${base}/token`,
    jwksUrl: `${base}/jwks`,
    clientId,
    clientSecret,
    tokensIssued: 0,
    jwksFetches: 0,
    lastScope: "",
    lifetimeSeconds: 3600,
    signWithUnknownKey: false,
    unavailableFor: 0,
    opaqueTokens: false,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return state;
}
