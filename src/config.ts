/**
 * The Worker's configuration, parsed once per isolate from its bindings
 * (wrangler.toml vars and secrets; see README, Configuration). Code reads
 * typed values from here and never trims or splits a variable itself.
 * Parsing never throws: an absent or empty variable means "not set", and
 * what a missing secret means (auth fails closed) is decided where it is used.
 */
import { z } from "@hono/zod-openapi";

/** A var that may be absent or blank: blank means "not set". */
const optionalText = z
  .string()
  .optional()
  .transform((v) => v?.trim() || undefined);

const ConfigSchema = z.object({
  /** Verify tokens against this JSON Web Key Set (asymmetric algorithms). */
  JWKS_URL: optionalText,
  /** HS256 key (secret); used when JWKS_URL is not set. Not trimmed: a secret is used as given. */
  JWT_SECRET: z
    .string()
    .optional()
    .transform((v) => v || undefined),
  JWT_ISSUER: optionalText,
  JWT_AUDIENCE: optionalText,
  /** Comma-separated origins allowed by CORS, or "*"; empty allows none. */
  CORS_ORIGINS: optionalText.transform(
    (v) =>
      new Set(
        (v ?? "")
          .split(",")
          .map((o) => o.trim())
          .filter(Boolean),
      ),
  ),
});

export interface Config {
  auth: {
    jwksUrl?: string;
    secret?: string;
    issuer?: string;
    audience?: string;
  };
  corsOrigins: ReadonlySet<string>;
}

const parse = (env: Env): Config => {
  const v = ConfigSchema.parse(env);
  return {
    auth: { jwksUrl: v.JWKS_URL, secret: v.JWT_SECRET, issuer: v.JWT_ISSUER, audience: v.JWT_AUDIENCE },
    corsOrigins: v.CORS_ORIGINS,
  };
};

/** One parse per env object: the same for every request of an isolate. */
const parsed = new WeakMap<Env, Config>();

export function config(env: Env): Config {
  let c = parsed.get(env);
  if (!c) {
    c = parse(env);
    parsed.set(env, c);
  }
  return c;
}
