/** @jsxImportSource hono/jsx */
/**
 * GET /console and its views (../shared/spec/console.md): HTML rendered here
 * with Hono's JSX, in the language of `?language=` or else the browser's
 * (Accept-Language, as the API picks it); the client code and styles are
 * static files under /console/ (public/console/, built from
 * src/console/client/ by scripts/build-console.mjs). Every answer carries the
 * console's Content-Security-Policy, the 404 of an unknown console path
 * included.
 */

import type { Context } from "hono";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { Page, type View } from "./page";
import { CONSOLE_CSP } from "./policy";
import { CONSOLE_PATH, FILTERS } from "./shared";

/** Query parameters a console page keeps (across a language change, and in the back link): filters, the cursor, live. */
const KEPT = new Set<string>([...FILTERS, "cursor", "live"]);
const MAX_KEPT_LENGTH = 200;

function render(c: Context<AppEnv>, view: View, id?: string) {
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(c.req.query())) {
    if (KEPT.has(name) && value && value.length <= MAX_KEPT_LENGTH) query[name] = value;
  }
  // The page holds no data (the client fetches it with the user's token):
  // it may be kept, but is checked again each time, and differs by language.
  c.header("Cache-Control", "no-cache");
  c.header("Vary", "Accept-Language", { append: true });
  const page = <Page lang={c.var.lang} view={view} path={c.req.path} query={query} id={id} />;
  return c.html(`<!doctype html>${page}`);
}

/** The policy on every answer under /console, the API's JSON 404 of an unknown console path included. */
const withPolicy = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  c.header("Content-Security-Policy", CONSOLE_CSP);
});

export const consoleRouter = new Hono<AppEnv>()
  .use(CONSOLE_PATH, withPolicy)
  .use(`${CONSOLE_PATH}/*`, withPolicy)
  .get(CONSOLE_PATH, (c) => render(c, "messages"))
  .get(`${CONSOLE_PATH}/messages/:id`, (c) => render(c, "message", c.req.param("id")))
  .get(`${CONSOLE_PATH}/providers`, (c) => render(c, "providers"))
  .get(`${CONSOLE_PATH}/subscriptions`, (c) => render(c, "subscriptions"))
  .get(`${CONSOLE_PATH}/privacy`, (c) => render(c, "privacy"));
