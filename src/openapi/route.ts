/**
 * `protectedRoute()` declares an authenticated operation once: its tag,
 * bearer security, the headers read by middleware, the auth and permission
 * middleware, and the errors every protected route can answer. A route file
 * then holds only what is specific to its operation.
 * (After unkey's `createAuthRoute`.)
 */
import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Principal } from "../auth/principal";
import type { AuthedEnv } from "../env";
import { allow, requireAuth } from "../middleware/auth";
import { rateLimit } from "../middleware/rate-limit";
import { commonErrors } from "./responses";

/**
 * Headers read by middleware (src/middleware/context.ts), not by handlers:
 * declared as component parameters (./document.ts) rather than header schemas,
 * which would make every hc<App> call pass `header`.
 */
const parameters = [{ $ref: "#/components/parameters/AcceptLanguage" }];
const readParameters = [...parameters, { $ref: "#/components/parameters/D1Bookmark" }];

const security = [{ bearerAuth: [] }];
/** Admin routes name their own scheme (a system administrator's token), as OWASP API5 asks: same verification. */
const adminSecurity = [{ adminBearerAuth: [] }];

export const TAG = "Customer Communications";
export const ADMIN_TAG = "Administration";
export const WEBHOOK_TAG = "Provider Webhooks";
export const SUBSCRIPTIONS_TAG = "Event Subscriptions";
export const PRIVACY_TAG = "Privacy";

type OperationConfig = Omit<RouteConfig, "tags" | "security" | "parameters" | "middleware">;

/**
 * An operation for callers whose principal passes `rule` (403 before any
 * input is validated, and before any rate limit is counted, otherwise).
 * `reads` adds the x-d1-bookmark parameter; `tag` defaults to the
 * communications tag. `authenticate` replaces the bearer-token check for an
 * operation that accepts another credential as well (the live stream's
 * tickets: src/stream/access.ts), with `security` saying so in the document.
 */
export const protectedRoute = <const R extends OperationConfig>(
  rule: (p: Principal) => boolean,
  {
    reads,
    tag = TAG,
    authenticate = requireAuth,
    security: declared,
  }: {
    reads: boolean;
    tag?: string;
    authenticate?: MiddlewareHandler<AuthedEnv>;
    security?: RouteConfig["security"];
  },
  config: R,
) =>
  createRoute({
    ...config,
    tags: [tag],
    security: declared ?? (tag === ADMIN_TAG ? adminSecurity : security),
    parameters: reads ? readParameters : parameters,
    middleware: [authenticate, allow(rule), rateLimit] as const,
    responses: { ...commonErrors, ...config.responses } as typeof commonErrors & R["responses"],
  });
