import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { call, callers, communicationBody, countRows, newTenant, signToken } from "./helpers";

beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(() => vi.restoreAllMocks());

const RATE_LIMITED = {
  en: "Too many requests, please try again later",
  ar: "طلبات كثيرة جدًا، يرجى المحاولة لاحقًا",
};

describe("the local USER_RATE_LIMITER binding (miniflare enforces it)", () => {
  it("one user over 300 requests in a window gets 429 + Retry-After + the localised envelope; others do not", async () => {
    const tenant = newTenant();
    const sub = crypto.randomUUID();
    const token = await signToken({ sub, tenant_id: tenant, role: "dispatcher", permissions: ["view:tenant"] });
    let ok = 0;
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    // Each window admits at most 300; 1,200 requests would have to span four
    // windows (40 s) to miss a 429.
    for (let i = 0; i < 24 && !limited; i++) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => call("?limit=1&language=ar", { token })));
      ok += batch.filter((r) => r.status === 200).length;
      limited = batch.find((r) => r.status === 429);
      for (const r of batch) expect([200, 429]).toContain(r.status);
    }
    expect(limited, "no 429 after 1,200 requests").toBeDefined();
    expect(ok).toBeGreaterThan(0);
    expect(limited?.headers.get("retry-after")).toBe("10");
    expect(limited?.json).toEqual({ success: false, message: RATE_LIMITED.ar });
    expect(limited?.headers.get("x-request-id")).toBeTruthy();

    // Another user of the same tenant, and the same user's tenant-mates, are not held back.
    const other = await call("?limit=1", { token: await callers(tenant).viewer() });
    expect(other.status).toBe(200);
  });
});

/** A double of the RateLimit binding: records keys, answers as told. */
function limiterDouble(allow: (key: string) => boolean) {
  const keys: string[] = [];
  const binding = {
    async limit({ key }: { key: string }) {
      keys.push(key);
      return { success: allow(key) };
    },
  };
  return { binding: binding as unknown as RateLimit, keys };
}

const send = (token: string | undefined, vars: Partial<Env>, init: { method?: string; query?: string } = {}) =>
  call(init.query ?? "", {
    method: init.method,
    token,
    headers: { "content-type": "application/json" },
    body: init.method === "POST" ? communicationBody() : undefined,
    env: vars,
  });

const rows = (tenant: string) => countRows(tenant);

describe("the middleware, against binding doubles (labelled: not the real limiter)", () => {
  it("keys the tenant limiter by the token's tenant and the user limiter by sub", async () => {
    const tenant = newTenant();
    const sub = crypto.randomUUID();
    const tenantLimiter = limiterDouble(() => true);
    const userLimiter = limiterDouble(() => true);
    const token = await signToken({ sub, tenant_id: tenant, role: "dispatcher", permissions: ["view:tenant"] });
    const res = await send(token, {
      TENANT_RATE_LIMITER: tenantLimiter.binding,
      USER_RATE_LIMITER: userLimiter.binding,
    });
    expect(res.status).toBe(200);
    expect(tenantLimiter.keys).toEqual([`tenant:${tenant}`]);
    expect(userLimiter.keys).toEqual([`user:${sub}`]);
  });

  it("a tenant_id in the query cannot move a tenant user's traffic to another tenant's counter", async () => {
    const tenant = newTenant();
    const tenantLimiter = limiterDouble(() => true);
    const res = await send(
      await callers(tenant).viewer(),
      { TENANT_RATE_LIMITER: tenantLimiter.binding },
      { query: `?tenant_id=${newTenant()}` },
    );
    expect(res.status).toBe(403);
    expect(tenantLimiter.keys).toEqual([`tenant:${tenant}`]);
  });

  it("a system administrator is counted per tenant named", async () => {
    const tenant = newTenant();
    const tenantLimiter = limiterDouble(() => true);
    await send(
      await callers(tenant).systemAdmin(),
      { TENANT_RATE_LIMITER: tenantLimiter.binding },
      { query: `?tenant_id=${tenant}` },
    );
    expect(tenantLimiter.keys).toEqual([`tenant:admin:${tenant}`]);
  });

  it.each([
    ["the user limiter", "USER_RATE_LIMITER"],
    ["the tenant limiter", "TENANT_RATE_LIMITER"],
  ] as const)("%s refusing: 429, Retry-After, localised, and the create does not happen", async (_name, binding) => {
    const tenant = newTenant();
    const refuse = limiterDouble(() => false);
    for (const [language, message] of Object.entries(RATE_LIMITED)) {
      const res = await send(
        await callers(tenant).admin(),
        { [binding]: refuse.binding },
        { method: "POST", query: `?language=${language}` },
      );
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("10");
      expect(res.json).toEqual({ success: false, message });
      expect(res.headers.get("www-authenticate")).toBeNull();
    }
    expect(await rows(tenant)).toBe(0);
  });

  it("ku and fa are localised too", async () => {
    const refuse = limiterDouble(() => false);
    const token = await callers(newTenant()).viewer();
    const en = await send(token, { USER_RATE_LIMITER: refuse.binding }, { query: "?language=en" });
    for (const language of ["ku", "fa"]) {
      const res = await send(token, { USER_RATE_LIMITER: refuse.binding }, { query: `?language=${language}` });
      expect(res.status).toBe(429);
      expect(res.json.message).toEqual(expect.any(String));
      expect(res.json.message).not.toBe(en.json.message);
    }
  });

  it("a limiter that throws lets the request through (fail open) and the request is served", async () => {
    const tenant = newTenant();
    const broken = {
      async limit() {
        throw new Error("rate limiter unavailable");
      },
    } as unknown as RateLimit;
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const res = await send(
      await callers(tenant).admin(),
      { TENANT_RATE_LIMITER: broken, USER_RATE_LIMITER: broken },
      { method: "POST" },
    );
    expect(res.status).toBe(201);
    expect(await rows(tenant)).toBe(1);
    expect(warn.mock.calls.some(([line]) => String(line).includes("rate limiter failed"))).toBe(true);
    warn.mockRestore();
  });

  it("requests that fail authentication never reach the limiters (nothing to key them by)", async () => {
    const tenantLimiter = limiterDouble(() => false);
    const userLimiter = limiterDouble(() => false);
    const vars = { TENANT_RATE_LIMITER: tenantLimiter.binding, USER_RATE_LIMITER: userLimiter.binding };
    expect((await send(undefined, vars)).status).toBe(401);
    expect((await send("not.a.token", vars)).status).toBe(401);
    expect([...tenantLimiter.keys, ...userLimiter.keys]).toEqual([]);
  });
});
