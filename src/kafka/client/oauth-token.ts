// SASL/OAUTHBEARER tokens: the OAuth 2 client credentials grant at the configured token endpoint, as Java's
// OAuthBearerLoginCallbackHandler asks for them (KIP-768): POST grant_type=client_credentials[&scope=...] with the
// client id and secret as HTTP Basic authentication. One token serves every connection of the process with the same
// credentials, and is renewed once 80% of its lifetime has passed, behind while it is still good (kafkajs asks at
// each (re)authentication).
import type { OAuthBearerOptions } from "../config/index.js";
import { KafkaAuthenticationError } from "../errors.js";

export interface OAuthBearerToken {
  readonly value: string;
  readonly extensions: Readonly<Record<string, string>>;
}

/** Java's sasl.login.refresh.window.factor default. */
const RENEW_AT_LIFETIME_FRACTION = 0.8;
const ATTEMPTS = 3;
const RETRY_BACKOFF_MS = 100;

interface Held {
  readonly token: OAuthBearerToken;
  readonly renewAt: number;
  readonly expiresAt: number;
}

class TokenSource {
  private held: Held | undefined;
  private asking: Promise<OAuthBearerToken> | undefined;

  constructor(private readonly options: OAuthBearerOptions) {}

  token(): Promise<OAuthBearerToken> {
    const held = this.held;
    const now = Date.now();
    if (held && now < held.renewAt) return Promise.resolve(held.token);
    this.asking ??= this.ask().finally(() => {
      this.asking = undefined;
    });
    if (held && now < held.expiresAt) {
      // Renewal is due but the token is still good: use it and renew behind (as Java's refresh thread does); if
      // the endpoint is down, the next call asks again.
      this.asking.catch(() => undefined);
      return Promise.resolve(held.token);
    }
    return this.asking;
  }

  private async ask(): Promise<OAuthBearerToken> {
    const started = Date.now();
    const { value, lifetimeMs } = await requestToken(this.options);
    const token = { value, extensions: this.options.extensions };
    this.held = {
      token,
      renewAt: started + lifetimeMs * RENEW_AT_LIFETIME_FRACTION,
      expiresAt: started + lifetimeMs,
    };
    return token;
  }
}

const sources = new Map<string, TokenSource>();

/** The process's token source for these credentials (kafkajs's oauthBearerProvider). */
export function oauthBearerProvider(options: OAuthBearerOptions): () => Promise<OAuthBearerToken> {
  const key = JSON.stringify([options.tokenEndpointUrl, options.clientId, options.clientSecret, options.scope ?? null]);
  let source = sources.get(key);
  if (!source) {
    source = new TokenSource(options);
    sources.set(key, source);
  }
  const shared = source;
  return () => shared.token();
}

function failure(options: OAuthBearerOptions, detail: string, cause?: unknown): KafkaAuthenticationError {
  return new KafkaAuthenticationError(`the OAuth token endpoint ${options.tokenEndpointUrl}`, detail, cause);
}

/** One token and its lifetime; server errors and lost connections are asked again, twice. */
async function requestToken(options: OAuthBearerOptions): Promise<{ value: string; lifetimeMs: number }> {
  const body = new URLSearchParams({ grant_type: "client_credentials" });
  if (options.scope !== undefined) body.set("scope", options.scope);
  const basic = Buffer.from(`${options.clientId}:${options.clientSecret}`).toString("base64");
  let lastError: KafkaAuthenticationError | undefined;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, RETRY_BACKOFF_MS * 2 ** (attempt - 2)));
    let response: Response;
    try {
      response = await fetch(options.tokenEndpointUrl, {
        method: "POST",
        headers: {
          authorization: `Basic ${basic}`,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body,
        signal: AbortSignal.timeout(options.tokenRequestTimeoutMs),
      });
    } catch (err) {
      lastError = failure(options, `no answer (${(err as Error).message})`, err);
      continue;
    }
    const text = await response.text().catch(() => "");
    if (response.status >= 500) {
      lastError = failure(options, `HTTP ${response.status}${oauthError(text)}`);
      continue;
    }
    if (!response.ok)
      throw failure(
        options,
        `HTTP ${response.status}${oauthError(text)} (check the client id and secret, and the scope)`,
      );
    return parseTokenResponse(options, text);
  }
  throw lastError!;
}

/** The OAuth error an endpoint explains a refusal with (RFC 6749 5.2: error, error_description), if any. */
function oauthError(text: string): string {
  try {
    const json = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    if (typeof json.error !== "string") return "";
    return `: ${json.error}${typeof json.error_description === "string" ? ` (${json.error_description.slice(0, 200)})` : ""}`;
  } catch {
    return "";
  }
}

function parseTokenResponse(options: OAuthBearerOptions, text: string): { value: string; lifetimeMs: number } {
  let json: { access_token?: unknown; expires_in?: unknown };
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    throw failure(options, "the answer is not JSON");
  }
  const value = json.access_token;
  if (typeof value !== "string" || value === "") throw failure(options, "the answer has no access_token");
  // The token's own expiry when it is a JWT (the broker checks that one), else the endpoint's expires_in.
  const expiresAt = jwtExpiry(value);
  if (expiresAt !== undefined) return { value, lifetimeMs: Math.max(0, expiresAt - Date.now()) };
  if (typeof json.expires_in === "number" && json.expires_in > 0) return { value, lifetimeMs: json.expires_in * 1000 };
  throw failure(options, "the token says nothing of its lifetime (no JWT exp claim, no expires_in)");
}

/** A JWT's exp claim in ms, or undefined when the token is not a JWT with one. */
function jwtExpiry(token: string): number | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as { exp?: unknown };
    return typeof claims.exp === "number" ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
