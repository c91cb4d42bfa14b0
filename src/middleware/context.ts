/**
 * First middleware of every request: request id, language, the D1 session,
 * and on the way out the response headers that every answer carries
 * (X-Request-Id, Server-Timing, x-d1-bookmark) and one JSON log line.
 */
import { createMiddleware } from "hono/factory";
import type { MiddlewareHandler } from "hono/types";
import { canReadTenant } from "../auth/principal";
import { d1Fields, newDbStats } from "../db/client";
import type { AppEnv } from "../env";
import { resolveLanguage } from "../i18n/messages";
import { errorResponse } from "../lib/error-handler";
import { ApiError } from "../lib/errors";
import { log } from "../lib/logger";

/** A caller's X-Request-Id is echoed when it is this shape; otherwise we mint one. */
const REQUEST_ID = /^[\w.:-]{1,128}$/;
/**
 * Bookmarks are `<shard>:<D1 bookmark>` (src/shards/tenant-db.ts). D1's own
 * bookmarks are dash-separated hex groups, e.g.
 * 00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683 (production and
 * miniflare alike). Group lengths are not pinned, in case D1 changes them; a
 * bare D1 bookmark (from before sharding) is accepted too. Anything else
 * (including the constraint words withSession() also accepts) is a 400 here
 * rather than an error from D1 later.
 * @see https://developers.cloudflare.com/d1/reference/time-travel/#bookmarks
 */
export const BOOKMARK_PATTERN = "^(SHARD_[0-9]+:)?[0-9a-fA-F]+(-[0-9a-fA-F]+)*$";
const BOOKMARK = new RegExp(`(?=^.{1,256}$)${BOOKMARK_PATTERN}`);

const wellFormedBookmark = (header: string | undefined) => {
  const bookmark = header?.trim();
  return bookmark && BOOKMARK.test(bookmark) ? bookmark : undefined;
};

export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  const given = c.req.header("x-request-id");
  const requestId = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
  c.set("requestId", requestId);
  c.set("lang", resolveLanguage(c.req.query("language"), c.req.header("accept-language")));
  const stats = newDbStats();
  c.set("dbStats", stats);

  try {
    // A malformed bookmark is refused by `requestHygiene`, further
    // in, so that its 400 passes through the secure-headers and CORS layers.
    // The session itself is opened on the tenant's shard once the tenant is
    // known (src/shards/tenant-db.ts).
    c.set("bookmark", wellFormedBookmark(c.req.header("x-d1-bookmark")));
    await next();
  } catch (err) {
    // Errors thrown further in are answered by app.onError; this is a safety net.
    c.res = errorResponse(err, c);
  } finally {
    // Runs after onError has produced the response for a thrown error too.
    const durationMs = performance.now() - started;
    c.header("X-Request-Id", requestId);
    // Answers carry personal data: no browser, proxy or CDN may keep one,
    // errors included. A route that means to be cached sets its own.
    if (!c.res.headers.has("Cache-Control")) c.header("Cache-Control", "no-store");
    // `directory`: whether the tenant's shard came from the isolate's cache
    // (no D1 read) or from the directory database (its rows are in d1).
    const directory =
      c.var.directoryCached === undefined ? "" : `, directory;desc="${c.var.directoryCached ? "cached" : "read"}"`;
    // Row counts tell whether a row exists, and how many events it has: only
    // staff, who may read the whole tenant anyway, see them.
    const principal = c.var.principal;
    c.header(
      "Server-Timing",
      principal && canReadTenant(principal)
        ? `d1;dur=${stats.durationMs.toFixed(1)};desc="${stats.queries} queries, ${stats.rowsRead} rows read, ${stats.rowsWritten} rows written"${directory}, total;dur=${durationMs.toFixed(1)}`
        : `total;dur=${durationMs.toFixed(1)}`,
    );
    const shard = c.var.shard;
    const bookmark = shard?.db.bookmark();
    if (shard && bookmark) c.header("x-d1-bookmark", `${shard.name}:${bookmark}`);
    const level = c.res.status < 500 ? log.info : c.var.expectedUnavailable ? log.warn : log.error;
    level("request", {
      request_id: requestId,
      method: c.req.method,
      route: c.req.routePath,
      path: c.req.path,
      status: c.res.status,
      duration_ms: Math.round(durationMs * 10) / 10,
      tenant_id: c.var.shard?.tenantId ?? c.var.principal?.tenantId ?? undefined,
      shard: c.var.shard?.name,
      user_id: c.var.principal?.userId,
      d1: d1Fields(stats),
    });
  }
});

/**
 * Request hygiene, after the secure-headers and CORS layers (so that its
 * 400 and 413 carry their headers), in one middleware rather than three
 * (each layer of Hono's compose is a closure and a promise per request):
 *  - 400 for an x-d1-bookmark header that is present but not a bookmark;
 *  - curl sends a header given twice (the seed's own example does this with
 *    Content-Type) and the Fetch API joins the copies with ", ": identical
 *    copies are collapsed, so "application/json, application/json" is plain
 *    JSON;
 *  - the body size limit `limitFor(path)` chooses (a route group may accept
 *    larger bodies).
 */
export const requestHygiene = (limitFor: (path: string) => MiddlewareHandler) =>
  createMiddleware<AppEnv>(async (c, next) => {
    // requestContext kept the header only if it is well formed.
    if (c.req.header("x-d1-bookmark")?.trim() && c.var.bookmark === undefined) {
      throw new ApiError(400, "validation_failed", { errors: [{ field: "x-d1-bookmark", message: "field_invalid" }] });
    }
    const type = c.req.header("content-type");
    if (type?.includes(",")) {
      const parts = [...new Set(type.split(",").map((p) => p.trim().toLowerCase()))];
      if (parts.length === 1 && parts[0]) {
        const headers = new Headers(c.req.raw.headers);
        headers.set("content-type", parts[0]);
        c.req.raw = new Request(c.req.raw, { headers });
      }
    }
    // No body (every GET): nothing to measure.
    if (!c.req.raw.body) return next();
    return limitFor(c.req.path)(c, next);
  });
