/**
 * The app factory: middleware order, error handling, route mounting and the
 * OpenAPI document. Order matters:
 *  1. requestContext: request id, language, D1 session, log line, timing;
 *  2. secure headers and CORS (preflights answered here);
 *  3. body hygiene: duplicate Content-Type collapse, body size limit;
 *  4. routes (each protected route runs auth, then its permission check,
 *     then validation, then the handler);
 *  5. 405 for known paths with other methods, 404 for everything else.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { BASE_PATH, communicationsRouter } from "./communications";
import type { AppEnv } from "./env";
import { errorResponse } from "./lib/error-handler";
import { ApiError } from "./lib/errors";
import { validationHook } from "./lib/validation";
import { normalizeContentType, requestContext } from "./middleware/context";

/** Largest accepted request body. Content plus details of an email fit well within it. */
export const MAX_BODY_BYTES = 256 * 1024;

const methodNotAllowed = (allow: string) => () => {
  throw new ApiError(405, "method_not_allowed", { headers: { Allow: allow } });
};

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use("*", requestContext);
  app.use("*", secureHeaders());
  app.use(
    "*",
    cors({
      // CORS_ORIGINS: comma-separated origins, or "*"; empty allows none.
      origin: (origin, c) => {
        const allowed = (c.env.CORS_ORIGINS ?? "")
          .split(",")
          .map((o: string) => o.trim())
          .filter(Boolean);
        return allowed.includes("*") || allowed.includes(origin) ? origin : null;
      },
      allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id", "x-d1-bookmark"],
      allowMethods: ["GET", "POST", "PATCH", "OPTIONS"],
      exposeHeaders: ["X-Request-Id", "x-d1-bookmark", "Retry-After", "Idempotent-Replayed", "Server-Timing"],
      maxAge: 600,
    }),
  );
  app.use("*", normalizeContentType);
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, "body_too_large");
      },
    }),
  );

  app.route("/", communicationsRouter);
  app.all(BASE_PATH, methodNotAllowed("GET, POST"));
  app.all(`${BASE_PATH}/:id`, methodNotAllowed("GET, PATCH"));
  app.all(`${BASE_PATH}/:id/events`, methodNotAllowed("GET"));

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Customer Communications API",
      version: "1.0.0",
      description:
        "The log of every message the delivery platform exchanges with its customers (SMS, email, push notifications, calls; outbound and inbound), per tenant. Messages are localised with `language` (en, ar, ku, fa).",
    },
    servers: [{ url: "/" }],
  });

  app.notFound((c) => errorResponse(new ApiError(404, "route_not_found"), c));
  app.onError(errorResponse);
  return app;
}

export const app = createApp();
export type App = typeof app;
