// OAUTHBEARER on the client side, against a local OAuth server (test/infra/oauth-server.ts, no broker): tokens by the
// client credentials grant, shared and renewed at 80% of their lifetime; the token endpoint's refusals and outages;
// the SASL exchange's bytes (RFC 7628) and a broker's refusal answered and reported. (With a broker:
// integration/security.)
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { rejection } from "../assertions.js";
import { startOAuthServer, type OAuthServer } from "../infra/oauth-server.js";
import { oauthBearerAuthenticationProvider } from "../../src/kafka/client/oauth-authenticator.js";
import { oauthBearerProvider } from "../../src/kafka/client/oauth-token.js";
import type { OAuthBearerOptions } from "../../src/kafka/config/index.js";
import { KafkaAuthenticationError } from "../../src/kafka/errors.js";

const s = suite("kafka OAUTHBEARER: tokens and the SASL exchange");
let idp: OAuthServer;
s.before(async () => {
  idp = await startOAuthServer();
});
s.after(async () => {
  await idp?.close();
});

/** Options for the local server; each scope is a token of its own (tokens are shared per credentials and scope). */
function options(scope: string, secret = idp.clientSecret): OAuthBearerOptions {
  return {
    mechanism: "OAUTHBEARER",
    tokenEndpointUrl: idp.tokenUrl,
    clientId: idp.clientId,
    clientSecret: secret,
    scope,
    extensions: { logicalCluster: "lkc-1" },
    tokenRequestTimeoutMs: 5_000,
  };
}

function claims(jwt: string): { sub: string; scope: string; exp: number } {
  return JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8"));
}

s.test("one token for every provider of the same credentials and scope", async () => {
  const before = idp.tokensIssued;
  const a = await oauthBearerProvider(options("shared"))();
  const b = await Promise.all([oauthBearerProvider(options("shared"))(), oauthBearerProvider(options("shared"))()]);
  assert.is(idp.tokensIssued - before, 1);
  assert.equal([b[0].value, b[1].value], [a.value, a.value]);
  assert.equal(a.extensions, { logicalCluster: "lkc-1" });
  assert.equal([claims(a.value).sub, claims(a.value).scope], [idp.clientId, "shared"]);
});

s.test("renewed at 80% of its lifetime; used until it expires while the endpoint is down", async () => {
  // Opaque tokens live exactly expires_in from their request (a JWT's exp has whole seconds).
  Object.assign(idp, { opaqueTokens: true, lifetimeSeconds: 2 });
  try {
    const before = idp.tokensIssued;
    const a = await oauthBearerProvider(options("renew"))();
    assert.is((await oauthBearerProvider(options("renew"))()).value, a.value);
    await new Promise((r) => setTimeout(r, 1_700)); // past 80% of 2 s: a still serves, b is asked for behind
    assert.is((await oauthBearerProvider(options("renew"))()).value, a.value);
    await new Promise((r) => setTimeout(r, 50));
    const b = await oauthBearerProvider(options("renew"))();
    assert.is(idp.tokensIssued - before, 2);
    assert.is.not(b.value, a.value);
    await new Promise((r) => setTimeout(r, 1_700)); // renewal of b due while the endpoint is down: b still serves
    idp.unavailableFor = 3;
    assert.is((await oauthBearerProvider(options("renew"))()).value, b.value);
    await new Promise((r) => setTimeout(r, 600)); // b expired, the renewal behind failed
    assert.is(idp.unavailableFor, 0);
    idp.unavailableFor = 3;
    assert.match(((await rejection(oauthBearerProvider(options("renew"))())) as Error).message, "HTTP 503");
    assert.is(idp.tokensIssued - before, 2);
  } finally {
    Object.assign(idp, { opaqueTokens: false, lifetimeSeconds: 3600, unavailableFor: 0 });
  }
});

s.test("a wrong secret fails at once with the endpoint's error, never the secret; a 503 is asked again", async () => {
  const before = idp.tokensIssued;
  const refused = await rejection(oauthBearerProvider(options("wrong", "not-the-secret"))());
  assert.instance(refused, KafkaAuthenticationError);
  const message = (refused as Error).message;
  assert.match(message, `the OAuth token endpoint ${idp.tokenUrl}`);
  assert.match(message, "HTTP 401: invalid_client (client authentication failed)");
  assert.not.match(message, "not-the-secret");
  assert.not.match(message, idp.clientSecret);
  idp.unavailableFor = 2;
  const token = await oauthBearerProvider(options("flaky"))();
  assert.is(claims(token.value).scope, "flaky");
  assert.is(idp.unavailableFor, 0);
  assert.is(idp.tokensIssued - before, 1);
  idp.unavailableFor = 3; // more than the attempts
  const down = await rejection(oauthBearerProvider(options("down"))());
  assert.match((down as Error).message, "HTTP 503: temporarily_unavailable");
  idp.unavailableFor = 0;
});

/** A SaslAuthenticate stand-in: records what the client sends, answers `challenges` in turn (length-prefixed). */
function broker(challenges: Buffer[]) {
  const sent: Buffer[] = [];
  return {
    sent,
    host: "broker-1",
    port: 9093,
    saslAuthenticate: async ({
      request,
      response,
    }: {
      request: { encode(): Promise<Buffer> };
      response?: { decode(b: Buffer): Promise<Buffer>; parse(b: Buffer): Promise<Buffer> };
    }) => {
      sent.push(await request.encode());
      const challenge = challenges.shift() ?? Buffer.alloc(0);
      const framed = Buffer.concat([Buffer.from([0, 0, 0, challenge.length]), challenge]);
      return response ? response.parse(await response.decode(framed)) : undefined;
    },
  };
}

s.test(
  "the SASL exchange: RFC 7628's initial response; a refusal is answered with %x01 and fails with its reason",
  async () => {
    const accepted = broker([]);
    await oauthBearerAuthenticationProvider(options("sasl"))(accepted).authenticate();
    const token = (await oauthBearerProvider(options("sasl"))()).value;
    const first = accepted.sent[0]!;
    assert.is(first.readInt32BE(0), first.length - 4);
    assert.is(first.subarray(4).toString(), `n,,\u0001auth=Bearer ${token}\u0001logicalCluster=lkc-1\u0001\u0001`);
    assert.is(accepted.sent.length, 1);

    const refusing = broker([Buffer.from('{"status":"invalid_token"}')]);
    const error = await rejection(oauthBearerAuthenticationProvider(options("sasl"))(refusing).authenticate());
    assert.is((error as Error).name, "KafkaJSSASLAuthenticationError");
    assert.match((error as Error).message, 'the OAUTHBEARER token was refused: {"status":"invalid_token"}');
    assert.is((error as { broker?: string }).broker, "broker-1:9093");
    assert.equal([...refusing.sent[1]!], [0, 0, 0, 1, 1]);
  },
);

s.run();
