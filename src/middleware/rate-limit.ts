/**
 * Rate limits of protected routes (Workers Rate Limiting bindings). Runs
 * after authentication and the route's permission check, so a caller who may
 * never use the route gets its 403 without being counted anywhere. Then:
 *  1. the caller's own bucket (USER_RATE_LIMITER, `user:<sub>`);
 *  2. only for requests that pass it, the tenant's bucket: staff count
 *     against TENANT_RATE_LIMITER, customers against CUSTOMER_RATE_LIMITER
 *     (both `tenant:<id>`). One user over their own limit therefore never
 *     uses up the tenant's, and customers, however many, cannot use up the
 *     capacity of the tenant's staff.
 * System administrators have no tenant in their token: they are counted in
 * the tenant they name, once that `tenant_id` is a valid UUID (in lower
 * case, as the route stores it); an invalid one is answered 400 by the
 * route's validation, which touches no data, so no tenant is charged for it.
 *
 * The limits themselves live on the bindings (wrangler.toml `ratelimits`);
 * the *_RATE_LIMIT vars (src/config.ts) restate them for the response
 * headers, since a binding cannot be asked for its limit.
 */
import { createMiddleware } from "hono/factory";
import { isCustomer, type Principal } from "../auth/principal";
import { TenantId } from "../communications/schemas";
import { config } from "../config";
import type { AuthedEnv } from "../env";
import { ApiError } from "../lib/errors";
import { log } from "../lib/logger";

/** The bindings' period (wrangler.toml; Workers Rate Limiting allows 10 or 60 s). */
export const RATE_LIMIT_PERIOD_S = 10;

interface Bucket {
  name: "user" | "tenant" | "customers";
  binding: RateLimit | undefined;
  key: string;
  limit: number;
}

/** The tenant a request is counted in, or undefined when it will be refused before any data is read. */
function tenantOf(p: Principal, requested: string | undefined): string | undefined {
  if (!p.isSystemAdmin) return p.tenantId ?? undefined;
  if (requested === undefined || requested === "") return p.tenantId ?? undefined;
  const parsed = TenantId.safeParse(requested);
  return parsed.success ? parsed.data : undefined;
}

function bucketsFor(env: Env, p: Principal, requestedTenant: string | undefined): Bucket[] {
  const limits = config(env).rateLimits;
  const buckets: Bucket[] = [
    { name: "user", binding: env.USER_RATE_LIMITER, key: `user:${p.userId}`, limit: limits.user },
  ];
  const tenant = tenantOf(p, requestedTenant);
  if (tenant) {
    buckets.push(
      isCustomer(p)
        ? {
            name: "customers",
            binding: env.CUSTOMER_RATE_LIMITER,
            key: `tenant:${tenant}`,
            limit: limits.customers,
          }
        : {
            name: "tenant",
            binding: env.TENANT_RATE_LIMITER,
            key: `tenant:${tenant}`,
            limit: limits.tenant,
          },
    );
  }
  return buckets;
}

/**
 * One limiter check. A limiter that fails (binding error) lets the request
 * through, logged: the limits protect the service from floods, and an outage
 * of the limiter must not become an outage of the API.
 */
async function withinLimit(bucket: Bucket): Promise<boolean> {
  if (!bucket.binding) return true;
  try {
    return (await bucket.binding.limit({ key: bucket.key })).success;
  } catch (err) {
    log.warn("rate limiter failed; request allowed", { key: bucket.key, error: String(err) });
    return true;
  }
}

/**
 * `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers) names every
 * bucket the request counts in; `X-RateLimit-Limit` is the caller's own
 * limit. The bindings do not report what remains, so no `RateLimit` header.
 */
const policyHeader = (buckets: Bucket[]) =>
  buckets.map((b) => `"${b.name}";q=${b.limit};w=${RATE_LIMIT_PERIOD_S}`).join(", ");

/** Charges each bucket in order, stopping at the first refusal (later buckets are not charged). */
async function charge(buckets: Bucket[]): Promise<boolean> {
  for (const bucket of buckets) {
    if (!(await withinLimit(bucket))) return false;
  }
  return true;
}

export const rateLimit = createMiddleware<AuthedEnv>(async (c, next) => {
  const buckets = bucketsFor(c.env, c.var.principal, c.req.query("tenant_id"));
  c.header("RateLimit-Policy", policyHeader(buckets));
  c.header("X-RateLimit-Limit", String(buckets[0]?.limit));
  if (!(await charge(buckets))) {
    // The binding does not say when the window ends; its periods are 10 s.
    throw new ApiError(429, "rate_limited", { headers: { "Retry-After": String(RATE_LIMIT_PERIOD_S) } });
  }
  await next();
});

/**
 * Counts one more request of this caller, in the same buckets and order as
 * the middleware: what a long request pays as it goes (an export, once per
 * 1,000 rows: src/export). False when a bucket refuses.
 */
export const countAnotherRequest = (env: Env, principal: Principal, requestedTenant: string | undefined) =>
  charge(bucketsFor(env, principal, requestedTenant));
