/**
 * Checks of the local secrets in .dev.vars, which `npm run dev` creates on
 * first run and then reuses as it finds them (scripts/lib/local.mjs): a file
 * from an older checkout, or edited by hand, may hold values the Worker
 * refuses. scripts/dev.mjs prints these as warnings. No Node API here, so the
 * workerd test suite checks it too (test/app/dev-vars.test.ts).
 */

/** src/auth/tokens.ts MIN_SECRET_BYTES: under it the Worker refuses every authenticated request. */
export const MIN_JWT_SECRET_BYTES = 32;
/** src/providers/secrets.ts: PROVIDER_SECRETS_KEY is base64 of exactly this many bytes. */
export const PROVIDER_KEY_BYTES = 32;

/** The value of `name` in a .dev.vars text (`NAME=value`, optionally quoted), or undefined when absent or empty. */
export function devVar(text, name) {
  const match = new RegExp(`^${name}=(.*)$`, "m").exec(text);
  const value = match?.[1]?.trim().replace(/^"(.*)"$/, "$1");
  return value ? value : undefined;
}

/** What is wrong with the secrets of a .dev.vars text, one sentence each; [] when nothing is. */
export function devVarsProblems(text) {
  const problems = [];
  const secret = devVar(text, "JWT_SECRET");
  if (secret !== undefined) {
    const bytes = new TextEncoder().encode(secret).byteLength;
    if (bytes < MIN_JWT_SECRET_BYTES) {
      problems.push(
        `JWT_SECRET in .dev.vars is ${bytes} bytes: the Worker refuses every authenticated request with a JWT_SECRET under ${MIN_JWT_SECRET_BYTES} bytes (500 "Authentication is not configured"). Delete that line and run npm run dev again for a random one.`,
      );
    }
  }
  const key = devVar(text, "PROVIDER_SECRETS_KEY");
  if (key !== undefined) {
    let bytes = -1;
    try {
      bytes = atob(key).length;
    } catch {
      // not base64
    }
    if (bytes !== PROVIDER_KEY_BYTES) {
      problems.push(
        `PROVIDER_SECRETS_KEY in .dev.vars is not base64 of ${PROVIDER_KEY_BYTES} bytes: the provider connection routes answer 500. Delete that line and run npm run dev again for a random one.`,
      );
    }
  }
  return problems;
}
