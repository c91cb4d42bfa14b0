/**
 * The per-isolate cache of verified tokens (src/auth/verified-tokens.ts)
 * never accepts a token that verification would refuse: a token served from
 * the cache is refused once it expires, once the secret changes and once the
 * issuer or audience configuration changes. (A retired JWKS key is covered
 * in test/auth/jwks.test.ts: "a retired key stops working once the cache refreshes".)
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "../../src/app";
import { BASE, call, newTenant } from "../support/helpers";

const tenant = newTenant();
const claims = { tenant_id: tenant, role: "dispatcher", permissions: ["view:tenant"] };

const sign = (expiresInSeconds: number, secret = env.JWT_SECRET) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(crypto.randomUUID())
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
    .sign(new TextEncoder().encode(secret));

/** The app under a modified environment (the Worker's own env is fixed by the test config). */
async function statusWithEnv(overrides: Partial<Env>, token: string) {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(BASE, { headers: { authorization: `Bearer ${token}` } }),
    {
      ...env,
      ...overrides,
    },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res.status;
}

afterEach(() => vi.useRealTimers());

describe("verified-token cache", () => {
  it("a token accepted a moment ago is refused once it has expired (past the 30 s tolerance)", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const token = await sign(5);
    expect((await call("", { token })).status).toBe(200);
    expect((await call("", { token })).status).toBe(200);
    vi.setSystemTime(Date.now() + 36_000);
    expect((await call("", { token })).status).toBe(401);
  });

  it("is refused after the secret changes, and accepted again with the old one", async () => {
    const token = await sign(600);
    expect((await call("", { token })).status).toBe(200);
    expect(await statusWithEnv({ JWT_SECRET: `${env.JWT_SECRET}-rotated` }, token)).toBe(401);
    expect((await call("", { token })).status).toBe(200);
  });

  it("is refused when an issuer or audience is required that the token does not carry", async () => {
    const token = await sign(600);
    expect((await call("", { token })).status).toBe(200);
    expect(await statusWithEnv({ JWT_ISSUER: "https://issuer.example" }, token)).toBe(401);
    expect(await statusWithEnv({ JWT_AUDIENCE: "communications" }, token)).toBe(401);
  });
});
