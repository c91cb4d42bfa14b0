/**
 * Stand-ins for two zod modules that this service never calls, so that the
 * Worker bundle does not carry them (wrangler.toml `[alias]` points zod's
 * own `./compile.js` and `./from-json-schema.js` imports here; see
 * BENCHMARKS.md, bundle):
 *  - `z.compile` (zod/v4/core/compile.js, 31 KiB minified): an opt-in
 *    ahead-of-time compiler that generates code with `new Function`, which
 *    Workers forbid anyway. Plain `parse` never imports it (zod keeps its own
 *    copy of the sentinel symbols in core/parse.js for that reason).
 *  - `z.fromJSONSchema` (zod/v4/classic/from-json-schema.js, 12 KiB): builds
 *    a schema from JSON Schema; ours are written in Zod.
 * Calling either here is a programming error and throws.
 */
const unavailable = (name: string) => () => {
  throw new Error(`zod ${name} is not in this bundle (src/lib/zod-unused.ts)`);
};

/** Same registry symbol as zod's, so identity checks still hold. */
export const INVALID = Symbol.for("zod.compile.invalid");
export class ZodCompileAsyncError extends Error {}
export class ZodCompileUnsupportedError extends Error {}
export const compile = unavailable("compile");
export const compileFn = unavailable("compile");
export const withParser = unavailable("withParser");
export const fromJSONSchema = unavailable("fromJSONSchema");
