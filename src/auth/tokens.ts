/**
 * Bearer token verification with jose (RFC 8725 hardening):
 *  - one mode per deployment, algorithms pinned per mode: JWKS_URL set means
 *    RS256/ES256/EdDSA against the issuer's keys (an HS256 token is refused,
 *    closing algorithm confusion); otherwise HS256 with JWT_SECRET; neither
 *    means every request is refused (fail closed);
 *  - `exp` and `sub` required, `iss`/`aud` checked when configured, 30 s of
 *    clock tolerance, tokens over 8 KiB refused before parsing;
 *  - keys prepared once per isolate: the HMAC CryptoKey is imported once and
 *    the JWKS is fetched once, then refreshed in the background; when the
 *    JWKS endpoint fails, the last good keys keep working, and concurrent
 *    requests share one fetch.
 */
import {
  createLocalJWKSet,
  errors,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type JWTPayload,
  jwtVerify,
} from "jose";
import type { Config } from "../config";
import { ApiError, unauthorized } from "../lib/errors";
import { log } from "../lib/logger";
import { Claims, type Principal, toPrincipal } from "./principal";
import { cachedPrincipal, forgetVerifiedTokens, rememberPrincipal } from "./verified-tokens";

export const MAX_TOKEN_LENGTH = 8192;
const CLOCK_TOLERANCE_S = 30;
const ASYMMETRIC_ALGS = ["RS256", "ES256", "EdDSA", "Ed25519"];
/** A JWKS older than this is refreshed in the background. */
const JWKS_MAX_AGE_MS = 10 * 60_000;
/** After a failed fetch, or an unknown kid, wait this long before fetching again. */
const JWKS_COOLDOWN_MS = 30_000;
const JWKS_TIMEOUT_MS = 3_000;

class KeysUnavailable extends Error {}

type GetKey = (header: JWSHeaderParameters) => Promise<CryptoKey>;

/** A remote JWKS that survives its endpoint failing. One per URL per isolate. */
export class ResilientJwks {
  private keys?: ReturnType<typeof createLocalJWKSet>;

  /** The key set in use; replaced on every refresh (src/auth/verified-tokens.ts relies on that). */
  get current(): object | undefined {
    return this.keys;
  }
  private fetchedAt = 0;
  private failedAt = 0;
  private pending?: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly now: () => number = Date.now,
  ) {}

  private refresh(): Promise<void> {
    this.pending ??= (async () => {
      try {
        const res = await fetch(this.url, {
          headers: { accept: "application/json" },
          signal: AbortSignal.timeout(JWKS_TIMEOUT_MS),
        });
        if (!res.ok) throw new Error(`JWKS endpoint answered ${res.status}`);
        const jwks = (await res.json()) as JSONWebKeySet;
        this.keys = createLocalJWKSet(jwks);
        this.fetchedAt = this.now();
      } catch (err) {
        this.failedAt = this.now();
        throw err;
      } finally {
        this.pending = undefined;
      }
    })();
    return this.pending;
  }

  private coolingDown = () => this.now() - Math.max(this.failedAt, this.fetchedAt) < JWKS_COOLDOWN_MS;

  getKey: GetKey = async (header) => {
    if (!this.keys) {
      if (this.coolingDown() && !this.pending) throw new KeysUnavailable("JWKS fetch failed recently");
      try {
        await this.refresh();
      } catch (err) {
        throw new KeysUnavailable("JWKS unavailable", { cause: err });
      }
    } else if (this.now() - this.fetchedAt > JWKS_MAX_AGE_MS && !this.coolingDown()) {
      // Stale: serve from the cached keys now, refresh for later requests.
      this.refresh().catch((err) => log.warn("jwks refresh failed", { error: String(err) }));
    }
    const keys = this.keys;
    if (!keys) throw new KeysUnavailable("JWKS unavailable");
    try {
      return await keys(header);
    } catch (err) {
      // An unknown kid may be a key the issuer just rotated in: refetch once,
      // at most every cooldown period, so forged kids cannot drive fetches.
      if (err instanceof errors.JWKSNoMatchingKey && !this.coolingDown()) {
        await this.refresh().catch(() => undefined);
        if (this.keys) return this.keys(header);
      }
      throw err;
    }
  };
}

const hmacKeys = new Map<string, Promise<CryptoKey>>();
const remoteKeySets = new Map<string, ResilientJwks>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "verify",
    ]);
    hmacKeys.set(secret, key);
  }
  return key;
}

function remoteKeySet(url: string): ResilientJwks {
  let set = remoteKeySets.get(url);
  if (!set) {
    set = new ResilientJwks(url);
    remoteKeySets.set(url, set);
  }
  return set;
}

/** Test hook: forget per-isolate key caches. */
export function resetKeyCaches() {
  hmacKeys.clear();
  remoteKeySets.clear();
  forgetVerifiedTokens();
}

/** Verifies a bearer token and returns the caller, or throws the ApiError to answer with. */
export async function authenticate(config: Config["auth"], token: string): Promise<Principal> {
  const { jwksUrl, secret } = config;
  if (!jwksUrl && !secret) {
    log.error("no JWT_SECRET or JWKS_URL configured: refusing requests");
    throw new ApiError(500, "auth_not_configured");
  }
  if (token.length > MAX_TOKEN_LENGTH || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) throw unauthorized("token_invalid");

  const options = {
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: CLOCK_TOLERANCE_S,
    requiredClaims: ["exp", "sub"],
  };
  const keySet = jwksUrl ? remoteKeySet(jwksUrl) : undefined;
  const keysNow = () => (keySet ? keySet.current : hmacKey(secret as string));
  const checks = `${options.issuer ?? ""}\n${options.audience ?? ""}`;
  const cached = cachedPrincipal(token, keysNow(), checks);
  if (cached) return cached;
  let payload: JWTPayload;
  try {
    payload = keySet
      ? (await jwtVerify(token, keySet.getKey, { ...options, algorithms: ASYMMETRIC_ALGS })).payload
      : (await jwtVerify(token, await hmacKey(secret as string), { ...options, algorithms: ["HS256"] })).payload;
  } catch (err) {
    if (err instanceof KeysUnavailable) {
      log.error("jwks unavailable", { error: String(err.cause ?? err) });
      throw new ApiError(503, "auth_keys_unavailable", { cause: err, headers: { "Retry-After": "30" } });
    }
    if (err instanceof errors.JOSEError || err instanceof TypeError || err instanceof SyntaxError) {
      throw unauthorized("token_invalid", err);
    }
    throw err;
  }
  const claims = Claims.safeParse(payload);
  if (!claims.success) throw unauthorized("token_invalid", claims.error);
  const principal = toPrincipal(claims.data);
  // The keys it was verified with: the set getKey used (it may have refreshed meanwhile).
  rememberPrincipal(token, keysNow(), checks, ((payload.exp as number) + CLOCK_TOLERANCE_S) * 1000, principal);
  return principal;
}

/** Extracts the token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string {
  if (!header) throw unauthorized("unauthorized");
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw unauthorized("token_invalid");
  return match[1];
}
