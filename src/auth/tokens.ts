/**
 * Bearer token verification with jose (RFC 8725 hardening):
 *  - one mode per deployment, algorithms pinned per mode: JWKS_URL set means
 *    RS256/ES256/EdDSA against the issuer's keys (an HS256 token is refused,
 *    closing algorithm confusion); otherwise HS256 with JWT_SECRET;
 *  - `exp` and `sub` required, `iss`/`aud` checked when configured, 30 s of
 *    clock tolerance, tokens over 8 KiB refused before parsing;
 *  - JWKS mode requires JWT_ISSUER and JWT_AUDIENCE, HS256 a JWT_SECRET of at
 *    least 32 bytes; otherwise every request is refused (fail closed);
 *  - keys prepared once per isolate: the HMAC CryptoKey is imported once and
 *    the JWKS is fetched once, then refreshed in the background (waitUntil);
 *    when the JWKS endpoint fails, the last good keys keep working for at
 *    most an hour (then 503). See ResilientJwks for what requests share.
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
/**
 * Keys older than this are not used at all: a key the issuer revoked must not
 * keep working while its JWKS endpoint is down. Past it, requests fetch the
 * set themselves and answer 503 if they cannot.
 */
export const JWKS_MAX_STALE_MS = 60 * 60_000;
/** After a failed fetch, or an unknown kid, wait this long before fetching again. */
const JWKS_COOLDOWN_MS = 30_000;
const JWKS_TIMEOUT_MS = 3_000;
/**
 * A request that finds another request's fetch in flight waits for its
 * outcome this long (polling the shared data), then fetches for itself.
 */
const JWKS_WAIT_FOR_OTHER_MS = 1_000;
const JWKS_POLL_MS = 20;

/** The minimum HS256 key (RFC 7518 3.2: a key at least as long as the hash output). */
export const MIN_SECRET_BYTES = 32;

/** Schedules work that must outlive the response (ExecutionContext.waitUntil). */
export type WaitUntil = (promise: Promise<unknown>) => void;

class KeysUnavailable extends Error {}

type GetKey = (header: JWSHeaderParameters) => Promise<CryptoKey>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A remote JWKS that survives its endpoint failing. One per URL per isolate.
 *
 * Only data is shared between requests (the keys and when they were fetched,
 * when a fetch failed, when one started), never a promise: on Workers, I/O
 * belongs to the request that started it, and a promise another request
 * awaits may never settle once that request has ended or been cancelled. So
 * every fetch is awaited only by the request that made it; a request that
 * finds one in flight polls the shared data for a short while and then
 * fetches for itself. The background refresh runs under the request's
 * `waitUntil`, so it completes after the response is sent.
 */
export class ResilientJwks {
  private keys?: ReturnType<typeof createLocalJWKSet>;

  private fetchedAt = 0;
  private failedAt = 0;
  private startedAt = 0;

  /**
   * The key set in use; replaced on every refresh (src/auth/verified-tokens.ts
   * relies on that), and undefined once too old to use, so that no token
   * verified with it is served from that cache either.
   */
  get current(): object | undefined {
    return this.usable();
  }

  constructor(
    private readonly url: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** One fetch, by and for the calling request; its outcome is recorded as data. */
  private async fetchKeys(): Promise<void> {
    const started = this.now();
    this.startedAt = started;
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
    }
  }

  private usable = () => (this.keys && this.now() - this.fetchedAt <= JWKS_MAX_STALE_MS ? this.keys : undefined);
  private coolingDown = () => this.now() - Math.max(this.failedAt, this.fetchedAt) < JWKS_COOLDOWN_MS;
  /** Another request's fetch started and has not recorded an outcome (it may never: see the class comment). */
  private inFlight = () =>
    this.startedAt > Math.max(this.fetchedAt, this.failedAt) && this.now() - this.startedAt < JWKS_TIMEOUT_MS;

  /** Usable keys for this request, fetched by it if need be; KeysUnavailable otherwise. */
  private async load(): Promise<ReturnType<typeof createLocalJWKSet>> {
    // Counted in polls, not by the clock, so a frozen clock cannot make it wait forever.
    for (let i = 0; i < JWKS_WAIT_FOR_OTHER_MS / JWKS_POLL_MS && this.inFlight(); i++) await sleep(JWKS_POLL_MS);
    let keys = this.usable();
    if (keys) return keys;
    if (this.coolingDown() && this.failedAt > this.fetchedAt) throw new KeysUnavailable("JWKS fetch failed recently");
    try {
      await this.fetchKeys();
    } catch (err) {
      // Another request may have succeeded meanwhile.
      keys = this.usable();
      if (keys) return keys;
      throw new KeysUnavailable("JWKS unavailable", { cause: err });
    }
    keys = this.usable();
    if (!keys) throw new KeysUnavailable("JWKS unavailable");
    return keys;
  }

  /** The key resolver for one request; `waitUntil` keeps its background refresh alive. */
  resolver(waitUntil: WaitUntil): GetKey {
    return async (header) => {
      const cached = this.usable();
      const keys = cached ?? (await this.load());
      if (cached && this.now() - this.fetchedAt > JWKS_MAX_AGE_MS && !this.coolingDown() && !this.inFlight()) {
        // Aging: serve from the cached keys now, refresh for later requests.
        waitUntil(this.fetchKeys().catch((err) => log.warn("jwks refresh failed", { error: String(err) })));
      }
      try {
        return await keys(header);
      } catch (err) {
        // An unknown kid may be a key the issuer just rotated in: refetch once,
        // at most every cooldown period, so forged kids cannot drive fetches.
        if (err instanceof errors.JWKSNoMatchingKey && !this.coolingDown() && !this.inFlight()) {
          await this.fetchKeys().catch(() => undefined);
          const fresh = this.usable();
          if (fresh) return fresh(header);
        }
        throw err;
      }
    };
  }
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

/**
 * Why this configuration cannot verify tokens safely, or undefined when it
 * can. Refused (fail closed): no key at all; JWKS_URL without JWT_ISSUER and
 * JWT_AUDIENCE (an issuer's keys sign tokens for every service it serves:
 * without both checks, any of them would be accepted here, RFC 8725
 * 3.9-3.11); a JWT_SECRET shorter than 32 bytes (RFC 7518 3.2).
 */
export function authMisconfiguration(config: Config["auth"]): string | undefined {
  if (config.jwksUrl) {
    if (!config.issuer || !config.audience) {
      return "JWKS_URL is set without JWT_ISSUER and JWT_AUDIENCE: refusing requests";
    }
    return undefined;
  }
  if (!config.secret) return "no JWT_SECRET or JWKS_URL configured: refusing requests";
  if (new TextEncoder().encode(config.secret).byteLength < MIN_SECRET_BYTES) {
    return `JWT_SECRET is shorter than ${MIN_SECRET_BYTES} bytes: refusing requests`;
  }
  return undefined;
}

/**
 * Verifies a bearer token and returns the caller, or throws the ApiError to
 * answer with. `waitUntil` carries the JWKS background refresh past the response.
 */
export async function authenticate(config: Config["auth"], token: string, waitUntil: WaitUntil): Promise<Principal> {
  const misconfigured = authMisconfiguration(config);
  if (misconfigured) {
    log.error(misconfigured);
    throw new ApiError(500, "auth_not_configured");
  }
  if (token.length > MAX_TOKEN_LENGTH || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) throw unauthorized("token_invalid");

  const { jwksUrl, secret } = config;
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
      ? (await jwtVerify(token, keySet.resolver(waitUntil), { ...options, algorithms: ASYMMETRIC_ALGS })).payload
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
  const principal: Principal = { ...toPrincipal(claims.data), expiresAt: (payload.exp as number) * 1000 };
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
