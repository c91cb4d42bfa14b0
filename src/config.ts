/**
 * The Worker's configuration, parsed once per isolate from its bindings
 * (wrangler.toml vars and secrets; see README, Configuration). Code reads
 * typed values from here and never trims or splits a variable itself.
 * Parsing never throws: an absent or empty variable means "not set", and
 * what a missing secret means (auth fails closed) is decided where it is used.
 */
import { z } from "@hono/zod-openapi";

/** Rows per page of a tenant move (copy, checksum, delete) when MOVE_BATCH_ROWS is not set. */
export const DEFAULT_MOVE_BATCH_ROWS = 500;
/** Communications per step of an erasure when ERASURE_BATCH_ROWS is not set (src/privacy/erasure-scope.ts). */
export const DEFAULT_ERASURE_BATCH_ROWS = 500;

/**
 * A whole number >= 1, else undefined. An unusable RETENTION_DAYS ("30d",
 * "0") therefore means "keep forever": a typo must never delete data.
 */
const wholeNumber = (v: string | undefined) => {
  const n = Number(v);
  return v !== undefined && Number.isInteger(n) && n >= 1 ? n : undefined;
};

/**
 * Seconds before each retry of a failed delivery (../shared/spec/events.md,
 * Delivery): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; eight attempts in all.
 */
export const DEFAULT_RETRY_SCHEDULE: readonly number[] = [5, 300, 1800, 7200, 18000, 36000, 36000];

/** "1,2,3" -> [1, 2, 3]; anything but whole numbers >= 0 (or nothing) is the default schedule. */
function retrySchedule(v: string | undefined): readonly number[] {
  if (!v) return DEFAULT_RETRY_SCHEDULE;
  const parts = v.split(",").map((p) => p.trim());
  const numbers = parts.map(Number);
  const valid = parts.every((p) => /^\d+$/.test(p)) && numbers.length <= 50;
  return valid ? numbers : DEFAULT_RETRY_SCHEDULE;
}

/** A var that may be absent or blank: blank means "not set". */
const optionalText = z
  .string()
  .optional()
  .transform((v) => v?.trim() || undefined);

/**
 * A request count per 10 s window, restating a `ratelimits` binding's limit
 * for the response headers (a binding cannot be asked for its own); absent or
 * malformed falls back to the wrangler.toml default.
 */
const rateLimit = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((v) => {
      const n = Number(v);
      return Number.isInteger(n) && n > 0 ? n : fallback;
    });

/**
 * PUBLIC_BASE_URL (issue 23): the origin callers reach the service at, when
 * a gateway in front of it rewrites Host. Only an origin is accepted
 * (http(s), host, optional port; a trailing "/" is tolerated): a path,
 * query, fragment or credentials make it invalid, as would anything that is
 * not a URL. An invalid value is kept as such, not ignored: the URLs handed
 * out and the Twilio signature check would otherwise silently use the
 * upstream origin, which is what the variable exists to avoid; so the
 * features that need it fail closed (src/lib/public-url.ts) and say why in
 * the log.
 */
export type PublicOrigin =
  | { kind: "request" }
  | { kind: "fixed"; origin: string }
  | { kind: "invalid"; value: string; reason: string };

export function parsePublicOrigin(value: string | undefined): PublicOrigin {
  if (value === undefined) return { kind: "request" };
  const invalid = (reason: string): PublicOrigin => ({ kind: "invalid", value, reason });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return invalid("not an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return invalid("the scheme must be https or http");
  if (url.username || url.password) return invalid("credentials are not allowed");
  if (url.pathname !== "/" || url.search || url.hash || /[?#]/.test(value)) {
    return invalid("only an origin is allowed (no path, query or fragment)");
  }
  return { kind: "fixed", origin: url.origin };
}

const ConfigSchema = z.object({
  /** Verify tokens against this JSON Web Key Set (asymmetric algorithms). */
  JWKS_URL: optionalText,
  /** HS256 key (secret); used when JWKS_URL is not set. Not trimmed: a secret is used as given. */
  JWT_SECRET: z
    .string()
    .optional()
    .transform((v) => v || undefined),
  JWT_ISSUER: optionalText,
  JWT_AUDIENCE: optionalText,
  /** AES-256 key (base64 of 32 bytes) sealing provider secrets; without it the connection routes fail closed. */
  PROVIDER_SECRETS_KEY: optionalText,
  /** Comma-separated origins allowed by CORS, or "*"; empty allows none. */
  /** Days a communication stays in D1 before the retention job archives it; not set keeps forever. */
  RETENTION_DAYS: optionalText.transform((v) => wholeNumber(v)),
  /** Rows per page of a tenant move; not set: DEFAULT_MOVE_BATCH_ROWS. */
  MOVE_BATCH_ROWS: optionalText.transform((v) => wholeNumber(v) ?? DEFAULT_MOVE_BATCH_ROWS),
  /** Communications per erasure step; not set: DEFAULT_ERASURE_BATCH_ROWS. */
  ERASURE_BATCH_ROWS: optionalText.transform((v) => wholeNumber(v) ?? DEFAULT_ERASURE_BATCH_ROWS),
  CORS_ORIGINS: optionalText.transform(
    (v) =>
      new Set(
        (v ?? "")
          .split(",")
          .map((o) => o.trim())
          .filter(Boolean),
      ),
  ),
  /** "true" lets subscriptions use http and https on 127.0.0.1, [::1] and localhost (local development and tests only). */
  OUTBOUND_ALLOW_LOOPBACK: optionalText.transform((v) => v === "true"),
  /** Seconds between delivery attempts, comma-separated; empty or malformed: the contract's schedule. */
  OUTBOUND_RETRY_SCHEDULE: optionalText.transform((v) => retrySchedule(v)),
  PUBLIC_BASE_URL: optionalText.transform(parsePublicOrigin),
  USER_RATE_LIMIT: rateLimit(300),
  TENANT_RATE_LIMIT: rateLimit(1000),
  CUSTOMER_RATE_LIMIT: rateLimit(1000),
});

export interface Config {
  auth: {
    jwksUrl?: string;
    secret?: string;
    issuer?: string;
    audience?: string;
  };
  corsOrigins: ReadonlySet<string>;
  /** Archive communications older than this many days (src/archive/retention.ts); undefined keeps them. */
  retentionDays?: number;
  /** Rows per page of a tenant move (src/shards/move.ts). */
  moveBatchRows: number;
  /** Communications per step of an erasure (src/privacy/erasure-workflow.ts). */
  erasureBatchRows: number;
  /** Requests per 10 s: per user, per tenant for staff, per tenant for all its customers. */
  rateLimits: { user: number; tenant: number; customers: number };
  providerSecretsKey?: string;
  /** Events out (src/subscriptions). */
  outbound: {
    /** OUTBOUND_ALLOW_LOOPBACK: loopback receivers over http or https allowed (never in production). */
    allowLoopback: boolean;
    /** OUTBOUND_RETRY_SCHEDULE: seconds before retry n (n = 1..length); its length is the number of retries. */
    retrySchedule: readonly number[];
  };
  /** PUBLIC_BASE_URL, parsed: see parsePublicOrigin and src/lib/public-url.ts. */
  publicOrigin: PublicOrigin;
}

const parse = (env: Env): Config => {
  const v = ConfigSchema.parse(env);
  return {
    auth: { jwksUrl: v.JWKS_URL, secret: v.JWT_SECRET, issuer: v.JWT_ISSUER, audience: v.JWT_AUDIENCE },
    corsOrigins: v.CORS_ORIGINS,
    retentionDays: v.RETENTION_DAYS,
    moveBatchRows: v.MOVE_BATCH_ROWS,
    erasureBatchRows: v.ERASURE_BATCH_ROWS,
    rateLimits: { user: v.USER_RATE_LIMIT, tenant: v.TENANT_RATE_LIMIT, customers: v.CUSTOMER_RATE_LIMIT },
    providerSecretsKey: v.PROVIDER_SECRETS_KEY,
    outbound: { allowLoopback: v.OUTBOUND_ALLOW_LOOPBACK, retrySchedule: v.OUTBOUND_RETRY_SCHEDULE },
    publicOrigin: v.PUBLIC_BASE_URL,
  };
};

/** One parse per env object: the same for every request of an isolate. */
const parsed = new WeakMap<Env, Config>();

export function config(env: Env): Config {
  let c = parsed.get(env);
  if (!c) {
    c = parse(env);
    parsed.set(env, c);
  }
  return c;
}
