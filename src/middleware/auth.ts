/**
 * Protected routes: verify the bearer token, put the caller on `c.var`,
 * then apply the per-tenant and per-user rate limits (Workers Rate Limiting
 * binding), so a flood from one tenant or one token cannot starve others.
 */
import { createMiddleware } from "hono/factory";
import { authenticate, bearerToken } from "../auth/tokens";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";

export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const principal = await authenticate(c.env, bearerToken(c.req.header("authorization")));
  c.set("principal", principal);

  const tenantKey = principal.tenantId ?? `admin:${c.req.query("tenant_id") ?? ""}`;
  const checks: Promise<{ success: boolean }>[] = [];
  if (c.env.TENANT_RATE_LIMITER) checks.push(c.env.TENANT_RATE_LIMITER.limit({ key: `tenant:${tenantKey}` }));
  if (c.env.USER_RATE_LIMITER) checks.push(c.env.USER_RATE_LIMITER.limit({ key: `user:${principal.userId}` }));
  const outcomes = await Promise.all(checks);
  if (outcomes.some((o) => !o.success)) {
    // The binding does not say when the window ends; its periods are 10 s.
    throw new ApiError(429, "rate_limited", { headers: { "Retry-After": "10" } });
  }
  await next();
});
