/**
 * Tokens verified against an issuer's JWKS (JWKS_URL), served by MSW inside
 * the Workers runtime (msw/node's fetch interceptor patches the isolate's
 * global fetch, which src/auth/tokens.ts calls). RFC 8725: algorithms pinned
 * per mode, unknown kid is a 401, the key cache survives the endpoint, and
 * requests share one fetch.
 */
import { env } from "cloudflare:test";
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
  UnsecuredJWT,
} from "jose";
import { delay, HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { resetKeyCaches } from "../../src/auth/tokens";
import { call, newTenant } from "../support/helpers";

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterAll(() => server.close());

type Alg = "RS256" | "ES256" | "EdDSA";
interface SigningKey {
  alg: Alg;
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(alg: Alg, kid = `${alg}-${crypto.randomUUID()}`): Promise<SigningKey> {
  const { privateKey, publicKey } =
    alg === "EdDSA"
      ? await generateKeyPair("Ed25519", { extractable: true })
      : await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

/** JWKS mode requires an issuer and an audience (RFC 8725 3.9-3.11); every JWKS request here has both. */
const ISSUER = "https://auth.example.com/";
const AUDIENCE = "customer-communications";

const tenantClaims = (tenant = newTenant()): JWTPayload => ({
  tenant_id: tenant,
  role: "dispatcher",
  permissions: ["view:tenant"],
});
const viewerClaims = (tenant = newTenant()): JWTPayload => ({ ...tenantClaims(tenant), iss: ISSUER, aud: AUDIENCE });

async function sign(
  key: SigningKey,
  claims: JWTPayload = viewerClaims(),
  header: { kid?: string | null; alg?: string } = {},
) {
  const kid = header.kid === undefined ? key.kid : (header.kid ?? undefined);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: header.alg ?? key.alg, typ: "JWT", ...(kid ? { kid } : {}) })
    .setSubject(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(key.privateKey);
}

/**
 * Serves a JWKS at a URL unique to the test and counts the fetches.
 * `set.keys` / `set.down` may be changed during a test.
 */
function jwksEndpoint(keys: JWK[], opts: { latencyMs?: number } = {}) {
  const url = `https://issuer-${crypto.randomUUID()}.test/.well-known/jwks.json`;
  const state = { keys, down: false as false | "500" | "network" | "html", fetches: 0 };
  server.use(
    http.get(url, async () => {
      state.fetches++;
      if (opts.latencyMs) await delay(opts.latencyMs);
      if (state.down === "500") return new HttpResponse("upstream error", { status: 500 });
      if (state.down === "network") return HttpResponse.error();
      if (state.down === "html") return HttpResponse.html("<html>maintenance</html>");
      return HttpResponse.json({ keys: state.keys });
    }),
  );
  return { url, state };
}

/** JWKS requests get the issuer and audience that JWKS mode requires, unless a test says otherwise. */
const send = (token: string | undefined, vars: Partial<Env>, query = "") =>
  call(query, {
    token,
    env: { ...(vars.JWKS_URL?.trim() ? { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE } : {}), ...vars },
  });

const INVALID_TOKEN = { success: false, message: "Invalid or expired access token" };

let errorLog: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  resetKeyCaches();
  vi.spyOn(console, "log").mockImplementation(() => undefined);
  vi.spyOn(console, "warn").mockImplementation(() => undefined);
  errorLog = vi.spyOn(console, "error").mockImplementation(() => undefined);
});
afterEach(() => {
  server.resetHandlers();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("JWKS mode: accepted tokens", () => {
  it.each(["RS256", "ES256", "EdDSA"] as const)("%s token from the JWKS -> 200", async (alg) => {
    const key = await signingKey(alg);
    const { url, state } = jwksEndpoint([key.jwk]);
    const res = await send(await sign(key), { JWKS_URL: url });
    expect(res.status, res.text).toBe(200);
    expect(res.json.success).toBe(true);
    expect(state.fetches).toBe(1);
  });

  it("several keys of several algorithms, each picked by kid", async () => {
    const keys = await Promise.all((["RS256", "ES256", "EdDSA"] as const).map((alg) => signingKey(alg)));
    const { url, state } = jwksEndpoint(keys.map((k) => k.jwk));
    for (const key of keys) expect((await send(await sign(key), { JWKS_URL: url })).status).toBe(200);
    expect(state.fetches).toBe(1);
  });

  it("a token without kid is accepted when exactly one key can verify it", async () => {
    const key = await signingKey("ES256");
    const { url } = jwksEndpoint([key.jwk]);
    expect((await send(await sign(key, viewerClaims(), { kid: null }), { JWKS_URL: url })).status).toBe(200);
  });
});

describe("JWKS mode: refused tokens are 401, never 500", () => {
  it("an HS256 token signed with JWT_SECRET is refused once JWKS_URL is set (algorithm confusion)", async () => {
    const key = await signingKey("RS256");
    const { url, state } = jwksEndpoint([key.jwk]);
    const hs256 = await new SignJWT(viewerClaims())
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject("user-1")
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(env.JWT_SECRET));
    // The same token is good in HS256 mode...
    expect((await send(hs256, {})).status).toBe(200);
    // ...and refused in JWKS mode, before any key is looked up.
    const res = await send(hs256, { JWKS_URL: url });
    expect(res.status).toBe(401);
    expect(res.json).toEqual(INVALID_TOKEN);
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    expect(state.fetches).toBe(0);
  });

  it("an HS256 token whose HMAC key is the issuer's public key is refused (classic RS256/HS256 confusion)", async () => {
    const { privateKey: _p, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" };
    const { url } = jwksEndpoint([jwk]);
    const pem = await exportSPKI(publicKey);
    for (const secret of [pem, JSON.stringify(jwk), jwk.n ?? ""]) {
      const forged = await new SignJWT(viewerClaims())
        .setProtectedHeader({ alg: "HS256", kid: "rsa-1" })
        .setSubject("attacker")
        .setExpirationTime("10m")
        .sign(new TextEncoder().encode(secret));
      expect((await send(forged, { JWKS_URL: url })).status).toBe(401);
    }
  });

  it("alg none is refused", async () => {
    const key = await signingKey("RS256");
    const { url } = jwksEndpoint([key.jwk]);
    const unsecured = new UnsecuredJWT(viewerClaims()).setSubject("attacker").setExpirationTime("10m").encode();
    // An unsecured JWT ends with "." (empty signature); with a fake signature too.
    for (const token of [unsecured, `${unsecured}AAAA`]) {
      const res = await send(token, { JWKS_URL: url });
      expect(res.status).toBe(401);
    }
  });

  it("a symmetric key published in the JWKS cannot verify an HS256 token", async () => {
    const secret = new TextEncoder().encode("shared-secret-0123456789abcdef0123");
    const oct: JWK = { kty: "oct", k: btoa("shared-secret-0123456789abcdef0123").replace(/=+$/, ""), kid: "oct-1" };
    const { url } = jwksEndpoint([oct]);
    const token = await new SignJWT(viewerClaims())
      .setProtectedHeader({ alg: "HS256", kid: "oct-1" })
      .setSubject("attacker")
      .setExpirationTime("10m")
      .sign(secret);
    expect((await send(token, { JWKS_URL: url })).status).toBe(401);
  });

  it("a token signed by another key under a published kid is refused", async () => {
    const real = await signingKey("ES256", "kid-1");
    const impostor = await signingKey("ES256", "kid-1");
    const { url } = jwksEndpoint([real.jwk]);
    expect((await send(await sign(impostor), { JWKS_URL: url })).status).toBe(401);
  });

  it("a token whose header alg does not match the key's alg is refused", async () => {
    const es = await signingKey("ES256");
    const { url } = jwksEndpoint([{ ...es.jwk, alg: "RS256" }]);
    expect((await send(await sign(es), { JWKS_URL: url })).status).toBe(401);
  });

  it("an unknown kid is a 401, and forged kids cannot drive fetches of the JWKS", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const known = await signingKey("RS256");
    const stranger = await signingKey("RS256");
    const { url, state } = jwksEndpoint([known.jwk]);
    expect((await send(await sign(known), { JWKS_URL: url })).status).toBe(200);
    for (let i = 0; i < 10; i++) {
      const res = await send(await sign(stranger, viewerClaims(), { kid: `forged-${i}` }), { JWKS_URL: url });
      expect(res.status, res.text).toBe(401);
      expect(res.json).toEqual(INVALID_TOKEN);
    }
    // Within the cooldown after the first fetch, unknown kids trigger no refetch.
    expect(state.fetches).toBe(1);
    // After it, at most one refetch per cooldown however many forged kids arrive.
    vi.setSystemTime(Date.now() + 31_000);
    const burst = await Promise.all(
      Array.from({ length: 10 }, async (_, i) =>
        send(await sign(stranger, viewerClaims(), { kid: `forged-late-${i}` }), { JWKS_URL: url }),
      ),
    );
    for (const r of burst) expect(r.status).toBe(401);
    expect(state.fetches).toBe(2);
  });

  it("more than one key and no kid: 401", async () => {
    const a = await signingKey("ES256");
    const b = await signingKey("ES256");
    const { url } = jwksEndpoint([a.jwk, b.jwk]);
    // jose refuses to guess between two keys of the same type (JWKSMultipleMatchingKeys).
    const res = await send(await sign(a, viewerClaims(), { kid: null }), { JWKS_URL: url });
    expect(res.status).toBe(401);
  });

  it("a token over the size cap is refused without touching the key set", async () => {
    const key = await signingKey("RS256");
    const { url, state } = jwksEndpoint([key.jwk]);
    const big = await sign(key, { ...viewerClaims(), padding: "x".repeat(9000) });
    expect(big.length).toBeGreaterThan(8192);
    const res = await send(big, { JWKS_URL: url });
    expect(res.status).toBe(401);
    expect(state.fetches).toBe(0);
  });
});

describe("key rotation and endpoint failures", () => {
  it("a new kid that appears at the endpoint is picked up", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const k1 = await signingKey("RS256", "2026-01");
    const k2 = await signingKey("ES256", "2026-02");
    const { url, state } = jwksEndpoint([k1.jwk]);
    expect((await send(await sign(k1), { JWKS_URL: url })).status).toBe(200);

    state.keys = [k1.jwk, k2.jwk]; // the issuer publishes k2
    // Unknown kids refetch at most once per 30 s cooldown; after it, k2 is found.
    vi.setSystemTime(Date.now() + 31_000);
    const res = await send(await sign(k2), { JWKS_URL: url });
    expect(res.status, res.text).toBe(200);
    expect(state.fetches).toBe(2);
    // Both keys keep working from the cache.
    expect((await send(await sign(k1), { JWKS_URL: url })).status).toBe(200);
    expect((await send(await sign(k2), { JWKS_URL: url })).status).toBe(200);
    expect(state.fetches).toBe(2);
  });

  it("a retired key stops working once the cache refreshes (10 min)", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const k1 = await signingKey("RS256", "old");
    const k2 = await signingKey("RS256", "new");
    const { url, state } = jwksEndpoint([k1.jwk]);
    expect((await send(await sign(k1), { JWKS_URL: url })).status).toBe(200);

    state.keys = [k2.jwk]; // k1 retired
    vi.setSystemTime(Date.now() + 11 * 60_000);
    // The stale set still answers this request and is refreshed in the background.
    expect((await send(await sign(k1), { JWKS_URL: url })).status).toBe(200);
    await vi.waitFor(() => expect(state.fetches).toBe(2));
    await vi.waitFor(async () => expect((await send(await sign(k2), { JWKS_URL: url })).status).toBe(200));
    expect((await send(await sign(k1), { JWKS_URL: url })).status).toBe(401);
  });

  it.each(["500", "network", "html"] as const)(
    "endpoint down (%s) with cached keys: tokens keep working, and the refresh is not retried on every request",
    async (failure) => {
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
      const key = await signingKey("ES256");
      const { url, state } = jwksEndpoint([key.jwk]);
      expect((await send(await sign(key), { JWKS_URL: url })).status).toBe(200);

      state.down = failure;
      vi.setSystemTime(Date.now() + 11 * 60_000); // the cached set is stale now
      expect((await send(await sign(key), { JWKS_URL: url })).status).toBe(200);
      await vi.waitFor(() => expect(state.fetches).toBe(2)); // the background refresh, failed
      for (let i = 0; i < 10; i++) {
        const res = await send(await sign(key), { JWKS_URL: url });
        expect(res.status, res.text).toBe(200);
      }
      expect(state.fetches).toBe(2);
    },
  );

  it.each(["500", "network", "html"] as const)(
    "endpoint down (%s) and no keys cached: 503 auth_keys_unavailable with Retry-After, then recovery",
    async (failure) => {
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
      const key = await signingKey("RS256");
      const { url, state } = jwksEndpoint([key.jwk]);
      state.down = failure;
      const res = await send(await sign(key), { JWKS_URL: url }, "?language=ar");
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(res.json).toEqual({
        success: false,
        message: "مفاتيح توقيع الرموز غير متاحة مؤقتًا، يرجى المحاولة لاحقًا",
      });
      expect(errorLog).toHaveBeenCalledWith(expect.stringContaining("jwks unavailable"));

      // Requests during the cooldown fail fast: no pile-up on the endpoint.
      const during = await Promise.all(
        Array.from({ length: 10 }, async () => send(await sign(key), { JWKS_URL: url })),
      );
      for (const r of during) expect(r.status).toBe(503);
      expect(state.fetches).toBe(1);

      state.down = false;
      vi.setSystemTime(Date.now() + 31_000);
      expect((await send(await sign(key), { JWKS_URL: url })).status).toBe(200);
      expect(state.fetches).toBe(2);
    },
  );

  it("a JWKS document that is not a key set: 503, not 500", async () => {
    const key = await signingKey("RS256");
    const url = `https://issuer-${crypto.randomUUID()}.test/jwks`;
    server.use(http.get(url, () => HttpResponse.json({ keys: "not-an-array" })));
    const res = await send(await sign(key), { JWKS_URL: url });
    expect(res.status).toBe(503);
  });

  it("concurrent requests on a cold cache share one fetch", async () => {
    const key = await signingKey("EdDSA");
    const { url, state } = jwksEndpoint([key.jwk], { latencyMs: 50 });
    const tokens = await Promise.all(Array.from({ length: 25 }, () => sign(key)));
    const results = await Promise.all(tokens.map((t) => send(t, { JWKS_URL: url })));
    for (const r of results) expect(r.status, r.text).toBe(200);
    expect(state.fetches).toBe(1);
  });

  it("concurrent requests on a cold cache with the endpoint down share one failed fetch", async () => {
    const key = await signingKey("ES256");
    const { url, state } = jwksEndpoint([key.jwk], { latencyMs: 50 });
    state.down = "500";
    const tokens = await Promise.all(Array.from({ length: 25 }, () => sign(key)));
    const results = await Promise.all(tokens.map((t) => send(t, { JWKS_URL: url })));
    for (const r of results) expect(r.status).toBe(503);
    expect(state.fetches).toBe(1);
  });
});

describe("the key set is shared as data, never as a promise (issue 11)", () => {
  it("a first fetch that never completes (its request gone) does not hold up later requests", async () => {
    const key = await signingKey("RS256");
    const url = `https://issuer-${crypto.randomUUID()}.test/jwks`;
    let fetches = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    server.use(
      http.get(url, async () => {
        fetches++;
        // The first fetch hangs, as one does when the request that started it
        // was cancelled: nothing will ever settle it.
        if (fetches === 1) {
          await gate;
          return HttpResponse.error();
        }
        return HttpResponse.json({ keys: [key.jwk] });
      }),
    );
    const abandoned = send(await sign(key), { JWKS_URL: url });
    await vi.waitFor(() => expect(fetches).toBe(1));

    // The next request waits a moment for that fetch, then fetches for itself.
    const next = await send(await sign(key), { JWKS_URL: url });
    expect(next.status, next.text).toBe(200);
    expect(fetches).toBe(2);
    // And everyone after it is served from the keys it fetched.
    const later = await Promise.all(Array.from({ length: 5 }, async () => send(await sign(key), { JWKS_URL: url })));
    for (const r of later) expect(r.status, r.text).toBe(200);
    expect(fetches).toBe(2);

    release();
    await abandoned;
  });

  it("the background refresh runs under the request's waitUntil: done when the request's work is", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const k1 = await signingKey("RS256", "old");
    const k2 = await signingKey("RS256", "new");
    const { url, state } = jwksEndpoint([k1.jwk], { latencyMs: 100 });
    expect((await send(await sign(k1), { JWKS_URL: url })).status).toBe(200);

    state.keys = [k2.jwk]; // k1 retired
    vi.setSystemTime(Date.now() + 11 * 60_000);
    // send() returns once the request's waitUntil work is done: the refresh included.
    expect((await send(await sign(k1), { JWKS_URL: url })).status).toBe(200);
    expect(state.fetches).toBe(2);
    expect((await send(await sign(k1), { JWKS_URL: url })).status).toBe(401);
    expect((await send(await sign(k2), { JWKS_URL: url })).status).toBe(200);
  });

  it("cached keys expire after an hour: with the endpoint down, 503 rather than a key that may be revoked", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const key = await signingKey("ES256");
    const { url, state } = jwksEndpoint([key.jwk]);
    expect((await send(await sign(key), { JWKS_URL: url })).status).toBe(200);
    state.down = "500";
    vi.setSystemTime(Date.now() + 59 * 60_000);
    expect((await send(await sign(key), { JWKS_URL: url })).status).toBe(200); // stale, still within the hour
    vi.setSystemTime(Date.now() + 2 * 60_000);
    const res = await send(await sign(key), { JWKS_URL: url });
    expect(res.status, res.text).toBe(503);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);

    state.down = false;
    vi.setSystemTime(Date.now() + 31_000);
    expect((await send(await sign(key), { JWKS_URL: url })).status).toBe(200);
  });
});

describe("JWKS mode requires an issuer and an audience (RFC 8725 3.9-3.11)", () => {
  it.each([
    ["no JWT_AUDIENCE", { JWT_ISSUER: ISSUER, JWT_AUDIENCE: "" }],
    ["no JWT_ISSUER", { JWT_ISSUER: "", JWT_AUDIENCE: AUDIENCE }],
    ["neither (blank)", { JWT_ISSUER: " ", JWT_AUDIENCE: " " }],
  ])("%s: refused as not configured, logged, and the key set is never fetched", async (_name, vars) => {
    const key = await signingKey("RS256");
    const { url, state } = jwksEndpoint([key.jwk]);
    const res = await send(await sign(key), { JWKS_URL: url, ...vars });
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ success: false, message: "Authentication is not configured on this server" });
    expect(errorLog).toHaveBeenCalledWith(expect.stringContaining("without JWT_ISSUER and JWT_AUDIENCE"));
    expect(state.fetches).toBe(0);
  });
});

describe("issuer and audience", () => {
  const vars = { JWT_ISSUER: "https://auth.example.com/", JWT_AUDIENCE: "customer-communications" };

  it.each([
    ["right iss and aud", { iss: vars.JWT_ISSUER, aud: vars.JWT_AUDIENCE }, 200],
    ["aud among several", { iss: vars.JWT_ISSUER, aud: ["other", vars.JWT_AUDIENCE] }, 200],
    ["wrong iss", { iss: "https://evil.example.com/", aud: vars.JWT_AUDIENCE }, 401],
    ["wrong aud", { iss: vars.JWT_ISSUER, aud: "billing" }, 401],
    ["no iss", { aud: vars.JWT_AUDIENCE }, 401],
    ["no aud", { iss: vars.JWT_ISSUER }, 401],
  ])("JWKS mode, %s -> %i", async (_name, claims, status) => {
    const key = await signingKey("RS256");
    const { url } = jwksEndpoint([key.jwk]);
    const res = await send(await sign(key, { ...tenantClaims(), ...claims }), { JWKS_URL: url, ...vars });
    expect(res.status, res.text).toBe(status);
  });

  it.each([
    ["right iss and aud", { iss: vars.JWT_ISSUER, aud: vars.JWT_AUDIENCE }, 200],
    ["wrong iss", { iss: "https://evil.example.com/", aud: vars.JWT_AUDIENCE }, 401],
    ["no aud", { iss: vars.JWT_ISSUER }, 401],
  ])("HS256 mode, %s -> %i", async (_name, claims, status) => {
    const token = await new SignJWT({ ...tenantClaims(), ...claims })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("user-1")
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(env.JWT_SECRET));
    expect((await send(token, vars)).status).toBe(status);
  });
});

describe("HS256 secrets shorter than 32 bytes are refused (RFC 7518 3.2)", () => {
  const token = (secret: string) =>
    new SignJWT(tenantClaims())
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("user-1")
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(secret));

  it.each([
    ["31 ASCII bytes", "a".repeat(31)],
    ["15 two-byte characters (30 bytes)", "ك".repeat(15)],
    ["a short word", "secret"],
  ])("%s: refused as not configured, logged", async (_name, secret) => {
    const res = await send(await token(secret), { JWT_SECRET: secret, JWKS_URL: "" });
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ success: false, message: "Authentication is not configured on this server" });
    expect(errorLog).toHaveBeenCalledWith(expect.stringContaining("JWT_SECRET is shorter than 32 bytes"));
  });

  it.each([
    ["32 ASCII bytes", "b".repeat(32)],
    ["16 two-byte characters (32 bytes)", "ك".repeat(16)],
  ])("%s: accepted", async (_name, secret) => {
    expect((await send(await token(secret), { JWT_SECRET: secret, JWKS_URL: "" })).status).toBe(200);
  });

  it("the secrets the project itself uses are long enough", () => {
    expect(new TextEncoder().encode(env.JWT_SECRET).byteLength).toBeGreaterThanOrEqual(32);
  });
});

describe("no key configured: fail closed", () => {
  it.each([
    ["empty", { JWT_SECRET: "", JWKS_URL: "" }],
    ["whitespace JWKS_URL", { JWT_SECRET: "", JWKS_URL: "   " }],
    ["secret absent", { JWT_SECRET: undefined, JWKS_URL: "" }],
  ])("%s: every authenticated request is refused, with a clear error, logged", async (_name, vars) => {
    const token = await new SignJWT(viewerClaims())
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("user-1")
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(env.JWT_SECRET));
    const res = await send(token, vars as Partial<Env>);
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ success: false, message: "Authentication is not configured on this server" });
    expect(errorLog).toHaveBeenCalledWith(expect.stringContaining("no JWT_SECRET or JWKS_URL configured"));
    // The same without any token is still a 401: nothing is served either way.
    expect((await send(undefined, vars as Partial<Env>)).status).toBe(401);
  });
});
