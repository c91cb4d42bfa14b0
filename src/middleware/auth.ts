/**
 * Protected routes: verify the bearer token, put the caller on `c.var`,
 * then apply the per-tenant and per-user rate limits (Workers Rate Limiting
 * binding), so a flood from one tenant or one token cannot starve others.
 */
import { createMiddleware } from "hono/factory";
import type { Principal } from "../auth/principal";
import { authenticate, bearerToken } from "../auth/tokens";
import { config } from "../config";
import type { AuthedEnv } from "../env";
import { ApiError, forbidden } from "../lib/errors";
import { log } from "../lib/logger";

/**
 * One limiter check. A limiter that fails (binding error) lets the request
 * through, logged: the limits protect the service from floods, and an outage
 * of the limiter must not become an outage of the API.
 */
async function withinLimit(limiter: RateLimit | undefined, key: string): Promise<boolean> {
  if (!limiter) return true;
  try {
    return (await limiter.limit({ key })).success;
  } catch (err) {
    log.warn("rate limiter failed; request allowed", { key, error: String(err) });
    return true;
  }
}

export const requireAuth = createMiddleware<AuthedEnv>(async (c, next) => {
  const principal = await authenticate(config(c.env).auth, bearerToken(c.req.header("authorization")));
  c.set("principal", principal);

  const tenantKey = principal.tenantId ?? `admin:${c.req.query("tenant_id") ?? ""}`;
  const outcomes = await Promise.all([
    withinLimit(c.env.TENANT_RATE_LIMITER, `tenant:${tenantKey}`),
    withinLimit(c.env.USER_RATE_LIMITER, `user:${principal.userId}`),
  ]);
  if (outcomes.includes(false)) {
    // The binding does not say when the window ends; its periods are 10 s.
    throw new ApiError(429, "rate_limited", { headers: { "Retry-After": "10" } });
  }
  await next();
});

/** Route middleware after `requireAuth`: refuse callers who may never use this operation. */
export const allow = (rule: (p: Principal) => boolean) =>
  createMiddleware<AuthedEnv>(async (c, next) => {
    if (!rule(c.var.principal)) throw forbidden();
    await next();
  });
