/**
 * The console's Content-Security-Policy (../shared/spec/console.md, Rules):
 * everything from this origin only, no inline script or style, no eval, no
 * framing, no plugins; and Trusted Types required for script sinks, so that
 * an `innerHTML` (or any other string-to-HTML sink) anywhere in the page
 * throws instead of parsing: the console builds its DOM with elements and
 * text nodes only (src/console/client/dom.ts), and the browser enforces it.
 * The Worker sends it on the pages (src/console/index.tsx); public/_headers
 * sends the same value on the console's static files (test/console/console.test.ts
 * checks that both say the same).
 * @see https://www.w3.org/TR/CSP3/
 * @see https://w3c.github.io/trusted-types/dist/spec/
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

/** Where the console lives, and its static files (public/console/, built by scripts/build-console.mjs). */
export const CONSOLE_PATH = "/console";
export const CONSOLE_SCRIPT = "/console/console.js";
export const CONSOLE_STYLES = "/console/console.css";
export const CONSOLE_ICON = "/console/favicon.svg";
