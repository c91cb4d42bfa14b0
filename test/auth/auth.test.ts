/**
 * Bearer tokens in HS256 mode (JWT_SECRET): what is accepted, every way a
 * token is refused (401 with WWW-Authenticate: Bearer), issuer/audience
 * checks when configured, and failing closed with no key at all.
 * JWKS mode is covered by its own test file.
 */
import { env } from "cloudflare:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { call, callers, communicationBody, newTenant, signToken } from "../support/helpers";

const secret = () => new TextEncoder().encode(env.JWT_SECRET);
const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

const tenant = newTenant();
const viewerClaims = { tenant_id: tenant, role: "dispatcher", permissions: ["view:tenant"] };

/** A token built claim by claim, for the cases the helper's defaults would hide. */
function build(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: "HS256", typ: "JWT" }) {
  return new SignJWT(claims).setProtectedHeader(header as { alg: string });
}

function expect401(res: { status: number; headers: Headers; json: any }, message = "Invalid or expired access token") {
  expect(res.status, JSON.stringify(res.json)).toBe(401);
  expect(res.json).toEqual({ success: false, message });
  expect(res.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
}

/** Calls the app with a modified environment (the Worker's own env is fixed by the test config). */
const callWithEnv = (overrides: Partial<Env>, path: string, token?: string) => call(path, { token, env: overrides });

describe("accepted tokens", () => {
  it("a valid HS256 token reads", async () => {
    const res = await call("", { token: await signToken(viewerClaims) });
    expect(res.status).toBe(200);
  });

  it("the scheme is case-insensitive", async () => {
    const res = await call("", { headers: { authorization: `bearer ${await signToken(viewerClaims)}` } });
    expect(res.status).toBe(200);
  });

  it("a token expired a few seconds ago is within the clock tolerance", async () => {
    const token = await build({ ...viewerClaims, sub: "u1" })
      .setExpirationTime(now() - 10)
      .sign(secret());
    expect((await call("", { token })).status).toBe(200);
  });

  it("unknown claims are ignored", async () => {
    const token = await signToken({ ...viewerClaims, email: "a@example.com", scope: "openid" });
    expect((await call("", { token })).status).toBe(200);
  });
});

describe("missing credentials", () => {
  it.each([
    ["no Authorization header", undefined],
    ["an empty Authorization header", ""],
  ])("%s: 401 Unauthorized with a Bearer challenge", async (_name, header) => {
    const headers: Record<string, string> = header === undefined ? {} : { authorization: header };
    for (const method of ["GET", "POST"]) {
      const res = await call("", { method, headers, body: method === "POST" ? communicationBody() : undefined });
      expect401(res, "Unauthorized");
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="customer-communications"');
    }
  });
});

describe("refused tokens", () => {
  const cases: [string, () => Promise<string>][] = [
    ["Basic credentials", async () => `Basic ${btoa("user:pass")}`],
    ["Bearer without a token", async () => "Bearer"],
    ["Bearer with blanks only", async () => "Bearer    "],
    ["two tokens", async () => `Bearer ${await signToken(viewerClaims)} ${await signToken(viewerClaims)}`],
    ["not a JWT", async () => "Bearer not-a-jwt"],
    ["two segments", async () => "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0"],
    ["garbage segments", async () => "Bearer aaaa.bbbb.cccc"],
    [
      "expired",
      async () =>
        `Bearer ${await build({ ...viewerClaims, sub: "u1" })
          .setExpirationTime(now() - 120)
          .sign(secret())}`,
    ],
    [
      "not yet valid (nbf)",
      async () =>
        `Bearer ${await build({ ...viewerClaims, sub: "u1" })
          .setNotBefore(now() + 600)
          .setExpirationTime("10m")
          .sign(secret())}`,
    ],
    ["without exp", async () => `Bearer ${await build({ ...viewerClaims, sub: "u1" }).sign(secret())}`],
    ["without sub", async () => `Bearer ${await build(viewerClaims).setExpirationTime("10m").sign(secret())}`],
    [
      "empty sub",
      async () =>
        `Bearer ${await build({ ...viewerClaims, sub: "" })
          .setExpirationTime("10m")
          .sign(secret())}`,
    ],
    [
      "bad signature (another secret)",
      async () => `Bearer ${await signToken(viewerClaims, { secret: "another-secret-0123456789abcdef0123" })}`,
    ],
    [
      "payload changed after signing (privilege escalation)",
      async () => {
        const [h, , s] = (await signToken(viewerClaims)).split(".");
        const forged = b64url({ ...viewerClaims, sub: "u1", is_system_admin: true, exp: now() + 600 });
        return `Bearer ${h}.${forged}.${s}`;
      },
    ],
    [
      "alg none, no signature",
      async () =>
        `Bearer ${b64url({ alg: "none", typ: "JWT" })}.${b64url({ ...viewerClaims, sub: "u1", exp: now() + 600 })}.`,
    ],
    [
      "alg none with a junk signature",
      async () =>
        `Bearer ${b64url({ alg: "none", typ: "JWT" })}.${b64url({ ...viewerClaims, sub: "u1", exp: now() + 600 })}.AAAA`,
    ],
    ["HS384 with the right secret", async () => `Bearer ${await signToken(viewerClaims, { alg: "HS384" })}`],
    ["HS512 with the right secret", async () => `Bearer ${await signToken(viewerClaims, { alg: "HS512" })}`],
    [
      "RS256 (asymmetric alg in HS256 mode)",
      async () => {
        const { privateKey } = await generateKeyPair("RS256");
        return `Bearer ${await build({ ...viewerClaims, sub: "u1" }, { alg: "RS256" })
          .setExpirationTime("10m")
          .sign(privateKey)}`;
      },
    ],
    [
      "ES256 with an embedded jwk header",
      async () => {
        const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
        const jwk = await exportJWK(publicKey);
        return `Bearer ${await build({ ...viewerClaims, sub: "u1" }, { alg: "ES256", jwk })
          .setExpirationTime("10m")
          .sign(privateKey)}`;
      },
    ],
    ["tenant_id not a UUID", async () => `Bearer ${await signToken({ ...viewerClaims, tenant_id: "acme" })}`],
    [
      "permissions not an array",
      async () => `Bearer ${await signToken({ ...viewerClaims, permissions: "view:tenant" as never })}`,
    ],
    ["is_system_admin a string", async () => `Bearer ${await signToken({ is_system_admin: "true" as never })}`],
    ["over 8 KiB", async () => `Bearer ${await signToken({ ...viewerClaims, padding: "x".repeat(9000) })}`],
  ];

  it.each(cases)("%s: 401 with WWW-Authenticate: Bearer, on both routes", async (_name, header) => {
    const authorization = await header();
    const list = await call("", { headers: { authorization } });
    expect401(list);
    const create = await call("", { method: "POST", headers: { authorization }, body: communicationBody() });
    expect401(create);
    expect(list.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
  });

  it("is checked before the body: a refused token with a bad body is still 401", async () => {
    const res = await call("", { method: "POST", headers: { authorization: "Bearer nope" }, body: { bad: true } });
    expect401(res);
  });

  it("nothing is written by a create with a refused token", async () => {
    const forged = await signToken(
      { tenant_id: tenant, permissions: ["manage:operations:tenant"] },
      { secret: "another-secret-0123456789abcdef0123" },
    );
    expect401(await call("", { method: "POST", token: forged, body: communicationBody() }));
    const listed = await call("", { token: await callers(tenant).viewer() });
    expect(listed.json.total).toBe(0);
  });
});

describe("issuer and audience, when configured", () => {
  const iss = "https://auth.example.test/";
  const aud = "customer-communications";
  const token = (extra: Record<string, unknown>) =>
    build({ ...viewerClaims, sub: "u1", ...extra })
      .setExpirationTime("10m")
      .sign(secret());

  it("JWT_ISSUER set: the token's iss must match", async () => {
    expect((await callWithEnv({ JWT_ISSUER: iss }, "", await token({ iss }))).status).toBe(200);
    expect401(await callWithEnv({ JWT_ISSUER: iss }, "", await token({})));
    expect401(await callWithEnv({ JWT_ISSUER: iss }, "", await token({ iss: "https://evil.example/" })));
  });

  it("JWT_AUDIENCE set: the token's aud must include it", async () => {
    expect((await callWithEnv({ JWT_AUDIENCE: aud }, "", await token({ aud }))).status).toBe(200);
    expect((await callWithEnv({ JWT_AUDIENCE: aud }, "", await token({ aud: ["other", aud] }))).status).toBe(200);
    expect401(await callWithEnv({ JWT_AUDIENCE: aud }, "", await token({})));
    expect401(await callWithEnv({ JWT_AUDIENCE: aud }, "", await token({ aud: "other" })));
  });

  it("unset (empty): iss and aud are not required", async () => {
    expect((await callWithEnv({ JWT_ISSUER: "", JWT_AUDIENCE: "" }, "", await token({}))).status).toBe(200);
  });
});

describe("no key configured", () => {
  it.each([
    ["JWT_SECRET absent", { JWT_SECRET: undefined, JWKS_URL: "" }],
    ["JWT_SECRET empty", { JWT_SECRET: "", JWKS_URL: "  " }],
  ])("%s and no JWKS_URL: every authenticated request is refused with a 500 envelope", async (_name, overrides) => {
    const res = await callWithEnv(overrides as Partial<Env>, "", await signToken(viewerClaims));
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ success: false, message: "Authentication is not configured on this server" });
  });
});
