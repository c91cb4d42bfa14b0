/**
 * The app factory, read top to bottom as a request's path:
 *  1. requestContext: request id, language, D1 session, log line, timing;
 *  2. secure headers and CORS (preflights answered here);
 *  3. request hygiene (one middleware): malformed x-d1-bookmark refused,
 *     duplicate Content-Type collapse, body size limit (larger on provider
 *     webhooks);
 *  4. routes (each protected route runs auth, then its permission check,
 *     then validation, then the handler: src/openapi/route.ts);
 *  5. 405 for known paths with other methods, 404 for everything else;
 *     every thrown error becomes the envelope in one place (onError).
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { TrieRouter } from "hono/router/trie-router";
import { secureHeaders } from "hono/secure-headers";
import { adminRouter } from "./admin";
import { archiveRouter } from "./archive";
import { auditRouter } from "./audit/routes";
import { communicationsRouter } from "./communications";
import { config } from "./config";
import { consoleRouter } from "./console";
import { docsRouter } from "./docs";
import type { AppEnv } from "./env";
import { exportRouter } from "./export";
import { errorResponse } from "./lib/error-handler";
import { ApiError } from "./lib/errors";
import { validationHook } from "./lib/validation";
import { requestContext, requestHygiene } from "./middleware/context";
import { OPENAPI_CONFIG, registerDocumentComponents } from "./openapi/document";
import { privacyRouter } from "./privacy";
import { providersRouter, WEBHOOKS_PATH } from "./providers/routes";
import { streamRouter } from "./stream";
import { subscriptionsRouter } from "./subscriptions";
import { MAX_WEBHOOK_BODY_BYTES, webhooksRouter } from "./webhooks/routes";
import { unmatchedRouter } from "./webhooks/unmatched";

/** Largest accepted request body. Content plus details of an email fit well within it. */
export const MAX_BODY_BYTES = 256 * 1024;

export function createApp() {
  // Hono's default router tries RegExpRouter first, which cannot hold a
  // parameter beside a static segment at the same depth (`/{id}` beside
  // `/providers/...`): its build throws on the first request of every
  // isolate and it falls back to TrieRouter. Start with TrieRouter.
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook, router: new TrieRouter() });

  app.use("*", requestContext);
  app.use("*", secureHeaders());
  const corsHeaders = cors({
    origin: (origin, c) => {
      const { corsOrigins } = config(c.env);
      return corsOrigins.has("*") || corsOrigins.has(origin) ? origin : null;
    },
    // Last-Event-ID: sent by EventSource when it reconnects to the live stream (issue 19).
    allowHeaders: [
      "Authorization",
      "Content-Type",
      "Idempotency-Key",
      "X-Request-Id",
      "x-d1-bookmark",
      "Last-Event-ID",
    ],
    allowMethods: ["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
    exposeHeaders: [
      "X-Request-Id",
      "x-d1-bookmark",
      "Retry-After",
      "Idempotent-Replayed",
      "Server-Timing",
      "RateLimit-Policy",
      "X-RateLimit-Limit",
    ],
    maxAge: 600,
  });
  // Browsers send Origin with every cross-origin request and preflight.
  // Without it there is nothing to allow or expose, and Hono's cors would
  // still write its headers into a placeholder response before the route
  // runs, which the route's own response is then copied over: a second
  // Response per request, for nothing (BENCHMARKS.md). `Vary: Origin` goes
  // on every answer either way, so no cache hands a non-CORS answer to a
  // CORS request.
  app.use("*", async (c, next) => {
    if (c.req.header("origin") !== undefined) return corsHeaders(c, next);
    await next();
    c.header("Vary", "Origin", { append: true });
  });
  const limit = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw new ApiError(413, "body_too_large");
      },
    });
  const apiLimit = limit(MAX_BODY_BYTES);
  // SendGrid posts event batches of up to 768 KiB.
  const webhookLimit = limit(MAX_WEBHOOK_BODY_BYTES);
  app.use(
    "*",
    requestHygiene((path) => (path.startsWith(`${WEBHOOKS_PATH}/`) ? webhookLimit : apiLimit)),
  );

  // Chained so that the returned app's type carries every route (for `hc<App>`).
  // Providers, subscriptions, the live stream, the export, privacy and audit
  // before communications: GET /providers, /subscriptions, /stream, /export,
  // /erasures, /settings and /audit would
  // otherwise match GET /{id}.
  const routed = app
    .route("/", providersRouter)
    .route("/", subscriptionsRouter)
    .route("/", streamRouter)
    .route("/", exportRouter)
    .route("/", privacyRouter)
    .route("/", auditRouter)
    .route("/", webhooksRouter)
    .route("/", communicationsRouter)
    .route("/", archiveRouter)
    .route("/", adminRouter)
    .route("/", unmatchedRouter) // GET /providers/unmatched (issue 16)
    .route("/", docsRouter)
    .route("/", consoleRouter);
  rejectOtherMethods(app);

  registerDocumentComponents(app.openAPIRegistry);
  app.doc31("/openapi.json", OPENAPI_CONFIG);

  app.notFound((c) => errorResponse(new ApiError(404, "route_not_found"), c));
  app.onError(errorResponse);
  return routed;
}

/**
 * 405 with `Allow` for a documented path called with another method. The
 * table comes from the routes registered for the OpenAPI document, so it
 * cannot drift from them. A concrete path (`/providers/twilio`, PUT) may
 * also be served by a templated one whose parameters accept it
 * (`/providers/{provider}`, DELETE): its Allow lists both, and concrete
 * paths are registered first so that their answer is the one given.
 */
function rejectOtherMethods(app: OpenAPIHono<AppEnv>) {
  const routes: { path: string; method: string; params?: { safeParse(v: unknown): { success: boolean } } }[] = [];
  for (const def of app.openAPIRegistry.definitions) {
    if (def.type !== "route") continue;
    routes.push({ path: def.route.path, method: def.route.method.toUpperCase(), params: def.route.request?.params });
  }
  /** Whether `route` serves the documented path `path` (equal, or its parameters accept the segments). */
  const serves = (route: (typeof routes)[number], path: string) => {
    const template = route.path.split("/");
    const segments = path.split("/");
    if (template.length !== segments.length) return false;
    const values: Record<string, string> = {};
    for (const [i, part] of template.entries()) {
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      if (name) values[name] = segments[i] ?? "";
      else if (part !== segments[i]) return false;
    }
    return route.path === path || !route.params || route.params.safeParse(values).success;
  };
  const params = (path: string) => (path.match(/\{/g) ?? []).length;
  const paths = [...new Set(routes.map((r) => r.path))].sort((a, b) => params(a) - params(b));
  for (const path of paths) {
    const methods = [...new Set(routes.filter((r) => serves(r, path)).map((r) => r.method))];
    app.all(path.replace(/\{(\w+)\}/g, ":$1"), () => {
      throw new ApiError(405, "method_not_allowed", { headers: { Allow: methods.join(", ") } });
    });
  }
}

export const app = createApp();
export type App = typeof app;
