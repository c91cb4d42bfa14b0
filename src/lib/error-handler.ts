/**
 * The one place an error becomes a response: the platform envelope
 * `{"success": false, "message": ...}` in the caller's language, plus
 * `errors` for validation failures. Anything that is not an ApiError is a
 * bare 500 whose cause goes to the log, never to the body.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { QueryError } from "../db/client";
import type { AppEnv } from "../env";
import { translate } from "../i18n/messages";
import { ApiError, MAX_FIELD_ERRORS, MAX_FIELD_LENGTH, TenantFrozenError } from "./errors";
import { log } from "./logger";

/** Hono's own exceptions (body limit, JSON parsing, media type gate) mapped to our codes. */
function fromHttpException(err: HTTPException): ApiError {
  switch (err.status) {
    case 400:
      return new ApiError(400, "invalid_json", { cause: err });
    case 401:
      return new ApiError(401, "unauthorized", { cause: err });
    case 404:
      return new ApiError(404, "route_not_found", { cause: err });
    case 413:
      return new ApiError(413, "body_too_large", { cause: err });
    case 415:
      return new ApiError(415, "unsupported_media_type", { cause: err });
    default:
      return new ApiError(500, "internal_error", { cause: err });
  }
}

export function toApiError(err: unknown): ApiError {
  // Drizzle wraps whatever its driver throws in a DrizzleQueryError (message:
  // the SQL and its params); an ApiError inside, such as db_unavailable from
  // src/db/client.ts, still decides the answer.
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof ApiError) return e;
  }
  if (err instanceof HTTPException) return fromHttpException(err);
  return new ApiError(500, "internal_error", { cause: err });
}

/** Whether `err` is a write the move's fence refused (the request's placement may be stale). */
export const isFenceRefusal = (err: unknown): boolean => {
  const apiError = toApiError(err);
  return apiError instanceof TenantFrozenError && apiError.fenced;
};

/**
 * What a log line may say about an error where no SQL should be logged
 * either (the queue consumer): the classes along its cause chain, its code,
 * and SQLite's result code when the driver names one. Never a message: a
 * driver's message can hold bound values (customer content).
 */
export function errorKind(err: unknown): { error_class: string; error_code: string; sqlite_code?: string } {
  const classes: string[] = [];
  let sqlite: string | undefined;
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (!(e instanceof Error)) {
      classes.push(typeof e);
      break;
    }
    // DrizzleQueryError does not name itself; its query and params tell it apart.
    classes.push("query" in e && "params" in e && e.name === "Error" ? "DrizzleQueryError" : e.name);
    sqlite ??= /\bSQLITE_[A-Z_]+\b/.exec(e.message)?.[0];
    e = e.cause;
  }
  return {
    error_class: classes.join(" < "),
    error_code: toApiError(err).code,
    ...(sqlite ? { sqlite_code: sqlite } : {}),
  };
}

/**
 * What the log line says about a cause. A DrizzleQueryError's message holds
 * the query's bound parameters (message content, phone numbers, emails):
 * log its SQL and the driver error under it instead, never the values. The
 * database client's own QueryError (src/db/client.ts: statements sent
 * without Drizzle's executor) carries the SQL the same way; under a
 * DrizzleQueryError it is the driver error.
 */
function describeCause(cause: unknown): { error: string; query?: string; stack?: string } {
  const describe = (e: unknown) => ({
    error: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
    stack: e instanceof Error ? e.stack : undefined,
  });
  if (cause instanceof Error && "query" in cause) {
    const driver = cause.cause instanceof QueryError ? cause.cause.cause : cause.cause;
    return { ...describe(driver), query: String(cause.query) };
  }
  return describe(cause);
}

export function errorResponse(err: unknown, c: Context<AppEnv>): Response {
  const apiError = toApiError(err);
  if (apiError instanceof TenantFrozenError) {
    // An expected state during a tenant move: a warning, without a stack or the driver's text.
    c.set("expectedUnavailable", true);
    log.warn("tenant_frozen", { request_id: c.var.requestId, fenced: apiError.fenced, shard: c.var.shard?.name });
  } else if (apiError.status >= 500) {
    log.error(apiError.code, { request_id: c.var.requestId, ...describeCause(apiError.cause ?? err) });
  }
  const lang = c.var.lang ?? "en";
  const body = {
    success: false as const,
    message: translate(lang, apiError.code),
    // Bounded as the document declares: a body with thousands of unknown keys
    // answers with the first MAX_FIELD_ERRORS, and a field path (which echoes
    // the caller's keys) is cut at MAX_FIELD_LENGTH.
    ...(apiError.errors && {
      errors: apiError.errors.slice(0, MAX_FIELD_ERRORS).map((e) => {
        const field = e.field.slice(0, MAX_FIELD_LENGTH);
        return { field, message: translate(lang, e.message, { field, ...e.params }) };
      }),
    }),
  };
  return c.json(body, apiError.status, apiError.headers);
}
