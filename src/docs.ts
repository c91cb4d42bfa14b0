/**
 * GET /docs: the API reference (Scalar) for the document at /openapi.json.
 * The page is a few hundred bytes rendered here; its script is the Scalar
 * standalone bundle, served by Workers static assets from public/docs/ (a
 * link into node_modules, so `npm ci` provides it and the Worker bundle stays
 * small). Nothing is fetched from the internet, and the CSP says so.
 * @see https://developers.cloudflare.com/workers/static-assets/
 */
import { Hono } from "hono";
import type { AppEnv } from "./env";

export const DOCS_PATH = "/docs";
export const DOCS_SCRIPTS = ["/docs/scalar.js", "/docs/init.js"] as const;

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Customer Communications API reference</title>
  </head>
  <body>
    <div id="app"></div>
${DOCS_SCRIPTS.map((src) => `    <script src="${src}"></script>`).join("\n")}
  </body>
</html>
`;

/**
 * Same-origin only. Scalar injects its stylesheet at runtime (style-src
 * 'unsafe-inline'); the "try it" client calls this API (connect-src 'self').
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export const docsRouter = new Hono<AppEnv>()
  .get(DOCS_PATH, (c) => {
    c.header("Content-Security-Policy", CSP);
    c.header("Cache-Control", "public, max-age=300");
    return c.html(PAGE);
  })
  // The service's root leads a person who opens it in a browser to the reference.
  .get("/", (c) => c.redirect(DOCS_PATH))
  // A trailing slash typed or pasted: the same page, at its one address.
  .get(`${DOCS_PATH}/`, (c) => c.redirect(DOCS_PATH, 301))
  // Browsers ask for an icon with every page: nothing to show, and no 404 (nor its log line) for it.
  .get("/favicon.ico", (c) => {
    c.header("Cache-Control", "public, max-age=86400");
    return c.body(null, 204);
  });
