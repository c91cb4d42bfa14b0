/**
 * Tokens already verified by this isolate. A client (a dashboard, a backend
 * service) sends the same bearer token on many requests, and verifying it
 * again (base64url, JSON, HMAC or signature, claims) is the largest piece of
 * our own CPU on a list request after the router (BENCHMARKS.md, CPU per
 * request). An entry is only served while everything its verification
 * depended on still holds:
 *  - the same key material: the HMAC key of the same secret, or the very key
 *    set the JWKS had (a refresh replaces it, so a retired key stops
 *    working exactly when it did without this cache);
 *  - the same issuer and audience configuration;
 *  - not past `exp` (with the same clock tolerance) and at most TTL_MS old.
 * Failures are never cached. Bounded: the oldest entry goes first.
 */
import type { Principal } from "./principal";

const TTL_MS = 60_000;
const MAX_ENTRIES = 1000;

interface Entry {
  principal: Principal;
  /** Identity of the key material the token was verified with. */
  keys: object;
  checks: string;
  until: number;
}

const entries = new Map<string, Entry>();

export function cachedPrincipal(token: string, keys: object | undefined, checks: string): Principal | undefined {
  const hit = entries.get(token);
  if (!hit || keys === undefined) return undefined;
  if (hit.keys !== keys || hit.checks !== checks || Date.now() >= hit.until) {
    entries.delete(token);
    return undefined;
  }
  return hit.principal;
}

/** `expiresAtMs`: when the token stops being accepted (`exp` plus the clock tolerance). */
export function rememberPrincipal(
  token: string,
  keys: object | undefined,
  checks: string,
  expiresAtMs: number,
  principal: Principal,
) {
  if (keys === undefined) return;
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value as string);
  entries.set(token, { principal, keys, checks, until: Math.min(Date.now() + TTL_MS, expiresAtMs) });
}

/** Test hook (with the key caches): forget every verified token. */
export function forgetVerifiedTokens() {
  entries.clear();
}
