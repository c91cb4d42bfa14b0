import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { MessageKey, MessageParams } from "../i18n/messages";

/** Localised envelope messages are short sentences; a field name in them is capped at MAX_FIELD_LENGTH. */
export const MAX_MESSAGE_LENGTH = 1000;
export const MAX_FIELD_LENGTH = 256;
/** Field errors listed in one 400 at most (the first ones). */
export const MAX_FIELD_ERRORS = 100;

/** One entry of the `errors` array of a 400: a field path and what is wrong with it. */
export interface FieldError {
  field: string;
  message: MessageKey;
  params?: MessageParams;
}

/**
 * The one error type handlers, middleware and validators throw. `onError`
 * (src/app.ts) turns it into the platform envelope in the caller's language.
 * `cause` is logged, never sent.
 */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: MessageKey;
  readonly errors?: FieldError[];
  readonly headers?: Record<string, string>;

  constructor(
    status: ContentfulStatusCode,
    code: MessageKey,
    options: { errors?: FieldError[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(code, { cause: options.cause });
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.errors = options.errors;
    this.headers = options.headers;
  }
}

export const badRequest = (errors: FieldError[]) => new ApiError(400, "validation_failed", { errors });

export const unauthorized = (code: "unauthorized" | "token_invalid" | "ticket_invalid", cause?: unknown) =>
  new ApiError(401, code, {
    cause,
    headers: {
      "WWW-Authenticate":
        code === "unauthorized" ? 'Bearer realm="customer-communications"' : 'Bearer error="invalid_token"',
    },
  });

export const forbidden = (code: "forbidden" | "no_tenant" | "tenant_mismatch" | "customer_mismatch" = "forbidden") =>
  new ApiError(403, code);

export const notFound = () => new ApiError(404, "not_found");

/** D1 could not be reached (after retries, for reads). Clients may retry. */
export const unavailable = (cause?: unknown) =>
  new ApiError(503, "db_unavailable", { cause, headers: { "Retry-After": "1" } });

/** Seconds a write to a tenant in a move's final phase is asked to wait. */
export const FROZEN_RETRY_AFTER_S = 60;

/**
 * The tenant is in the final phase of a move between shards: writes wait,
 * reads go on. An expected state, logged as a warning without a stack
 * (src/lib/error-handler.ts). `fenced`: the shard's fence refused a write
 * (the placement this request used may be stale, src/shards/tenant-db.ts
 * re-reads it); otherwise the directory itself says "frozen".
 */
export class TenantFrozenError extends ApiError {
  constructor(
    readonly fenced: boolean,
    cause?: unknown,
  ) {
    super(503, "db_unavailable", { cause, headers: { "Retry-After": String(FROZEN_RETRY_AFTER_S) } });
    this.name = "TenantFrozenError";
  }
}

/** The directory says the tenant is frozen. */
export const tenantFrozen = () => new TenantFrozenError(false);

/** The shard's fence trigger refused a write (migrations/0003_shards.sql, 0005_fence_deletes.sql). */
export const fenceRefused = (cause: unknown) => new TenantFrozenError(true, cause);
