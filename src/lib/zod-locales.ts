/**
 * Stand-in for zod's `locales` namespace in the Worker bundle: wrangler.toml
 * `alias` points zod's own `../locales/index.js` imports here. Zod re-exports
 * every language's error messages (about 360 KiB, 30% of the bundle) under
 * `z.locales`; this service never uses them (validation errors are localised
 * by src/lib/validation.ts from the issue codes), and zod's default English
 * locale is imported by zod directly, not through this namespace.
 */
export { default as en } from "zod/v4/locales/en.js";
