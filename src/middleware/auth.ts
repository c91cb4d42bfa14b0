/**
 * Protected routes: verify the bearer token and put the caller on `c.var`;
 * then `allow(rule)` refuses callers who may never use the operation, and
 * only then are the rate limits counted (src/middleware/rate-limit.ts).
 */
import { createMiddleware } from "hono/factory";
import type { Principal } from "../auth/principal";
import { authenticate, bearerToken } from "../auth/tokens";
import { config } from "../config";
import type { AuthedEnv } from "../env";
import { forbidden } from "../lib/errors";

export const requireAuth = createMiddleware<AuthedEnv>(async (c, next) => {
  const principal = await authenticate(config(c.env).auth, bearerToken(c.req.header("authorization")), (promise) =>
    c.executionCtx.waitUntil(promise),
  );
  c.set("principal", principal);
  await next();
});

/** Route middleware after `requireAuth`: refuse callers who may never use this operation. */
export const allow = (rule: (p: Principal) => boolean) =>
  createMiddleware<AuthedEnv>(async (c, next) => {
    if (!rule(c.var.principal)) throw forbidden();
    await next();
  });
