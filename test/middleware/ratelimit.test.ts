import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RATE_LIMIT_PERIOD_S } from "../../src/middleware/rate-limit";
import { call, callers, communicationBody, countRows, newTenant, signToken } from "../support/helpers";

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
  }, 90_000); // up to 1,200 requests: slow on a loaded machine, not a timing assertion
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

/** A double that admits `limit` requests per key (one window that never ends), like the binding within 10 s. */
function countingLimiter(limit: number) {
  const counts = new Map<string, number>();
  const binding = {
    async limit({ key }: { key: string }) {
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      return { success: n <= limit };
    },
  };
  return { binding: binding as unknown as RateLimit, counts };
}

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
    expect(tenantLimiter.keys).toEqual([`tenant:${tenant}`]);
  });

  it("a system administrator's tenant is the validated one: upper case counts as lower case, an invalid one in no tenant", async () => {
    const tenant = newTenant();
    const tenantLimiter = limiterDouble(() => true);
    const userLimiter = limiterDouble(() => true);
    const vars = { TENANT_RATE_LIMITER: tenantLimiter.binding, USER_RATE_LIMITER: userLimiter.binding };
    const admin = await callers(tenant).systemAdmin();
    expect((await send(admin, vars, { query: `?tenant_id=${tenant.toUpperCase()}` })).status).toBe(200);
    expect((await send(admin, vars, { query: "?tenant_id=not-a-tenant" })).status).toBe(400);
    expect((await send(admin, vars)).status).toBe(400); // no tenant named
    expect(tenantLimiter.keys).toEqual([`tenant:${tenant}`]);
    expect(userLimiter.keys).toHaveLength(3);
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

  it("the user limit is counted first; a request it refuses is not counted in the tenant's", async () => {
    const tenantLimiter = limiterDouble(() => true);
    const userLimiter = limiterDouble(() => false);
    const res = await send(await callers(newTenant()).viewer(), {
      TENANT_RATE_LIMITER: tenantLimiter.binding,
      USER_RATE_LIMITER: userLimiter.binding,
    });
    expect(res.status).toBe(429);
    expect(userLimiter.keys).toHaveLength(1);
    expect(tenantLimiter.keys).toEqual([]);
  });

  it.each([
    ["a driver reading", "driver", "GET"],
    ["a dispatcher creating", "viewer", "POST"],
    ["a customer creating", "customer", "POST"],
  ] as const)("%s: 403 before any limiter is charged", async (_name, who, method) => {
    const limiters = [limiterDouble(() => true), limiterDouble(() => true), limiterDouble(() => true)];
    const [tenantLimiter, userLimiter, customerLimiter] = limiters;
    const res = await send(
      await callers(newTenant())[who](),
      {
        TENANT_RATE_LIMITER: tenantLimiter?.binding,
        USER_RATE_LIMITER: userLimiter?.binding,
        CUSTOMER_RATE_LIMITER: customerLimiter?.binding,
      },
      { method },
    );
    expect(res.status).toBe(403);
    expect(res.headers.get("ratelimit-policy")).toBeNull();
    expect(limiters.flatMap((l) => l.keys)).toEqual([]);
  });

  it("customers count in the tenant's customers bucket, staff in the tenant's staff bucket", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const staff = limiterDouble(() => true);
    const customers = limiterDouble(() => true);
    const vars = { TENANT_RATE_LIMITER: staff.binding, CUSTOMER_RATE_LIMITER: customers.binding };
    expect((await send(await who.customer(), vars)).status).toBe(200);
    expect((await send(await who.viewer(), vars)).status).toBe(200);
    expect(customers.keys).toEqual([`tenant:${tenant}`]);
    expect(staff.keys).toEqual([`tenant:${tenant}`]);
  });

  it("responses carry the configured limits: RateLimit-Policy and X-RateLimit-Limit, on 200 and on 429", async () => {
    const vars = { USER_RATE_LIMIT: "7", TENANT_RATE_LIMIT: "70", CUSTOMER_RATE_LIMIT: "50" };
    const tenant = newTenant();
    const ok = await send(await callers(tenant).viewer(), vars);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("ratelimit-policy")).toBe('"user";q=7;w=10, "tenant";q=70;w=10');
    expect(ok.headers.get("x-ratelimit-limit")).toBe("7");
    const customer = await send(await callers(tenant).customer(), vars);
    expect(customer.headers.get("ratelimit-policy")).toBe('"user";q=7;w=10, "customers";q=50;w=10');
    const refused = await send(await callers(tenant).viewer(), {
      ...vars,
      USER_RATE_LIMITER: limiterDouble(() => false).binding,
    });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("x-ratelimit-limit")).toBe("7");
    expect(refused.headers.get("ratelimit-policy")).toContain('"user";q=7;w=10');
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

describe("one caller cannot starve the tenant (issue 11)", () => {
  it("a driver's flood of forbidden requests, then the tenant's staff and customers are still served", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    // Small limits so that the flood is many times each of them.
    const vars = {
      TENANT_RATE_LIMITER: countingLimiter(20).binding,
      USER_RATE_LIMITER: countingLimiter(10).binding,
      CUSTOMER_RATE_LIMITER: countingLimiter(20).binding,
    };
    const driver = await who.driver();
    for (let i = 0; i < 5; i++) {
      const flood = await Promise.all(Array.from({ length: 20 }, () => send(driver, vars)));
      for (const r of flood) expect(r.status).toBe(403);
    }
    expect((await send(await who.viewer(), vars)).status).toBe(200);
    expect((await send(await who.admin(), vars, { method: "POST" })).status).toBe(201);
    expect((await send(await who.customer(), vars)).status).toBe(200);
  });

  it("one dispatcher over their own limit is refused without using up the tenant's", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const staff = countingLimiter(20);
    const vars = { TENANT_RATE_LIMITER: staff.binding, USER_RATE_LIMITER: countingLimiter(10).binding };
    const greedy = await who.viewer();
    const statuses = [];
    for (let i = 0; i < 60; i++) statuses.push((await send(greedy, vars)).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(50);
    expect(staff.counts.get(`tenant:${tenant}`)).toBe(10);
    expect((await send(await who.viewer(), vars)).status).toBe(200);
  });

  it("customers who use up their bucket do not hold back the tenant's staff", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const vars = {
      TENANT_RATE_LIMITER: countingLimiter(20).binding,
      USER_RATE_LIMITER: countingLimiter(10).binding,
      CUSTOMER_RATE_LIMITER: countingLimiter(20).binding,
    };
    const statuses = [];
    for (let c = 0; c < 5; c++) {
      const token = await who.customer(crypto.randomUUID());
      for (let i = 0; i < 6; i++) statuses.push((await send(token, vars)).status);
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect((await send(await who.viewer(), vars)).status).toBe(200);
    expect((await send(await who.admin(), vars, { method: "POST" })).status).toBe(201);
  });
});

describe("the *_RATE_LIMIT vars restate the bindings (issue 16, item 9)", () => {
  const config = JSON.parse(env.TEST_RATE_LIMIT_CONFIG) as Record<
    string,
    { vars: Record<string, unknown>; ratelimits: { name: string; simple: { limit: number; period: number } }[] }
  >;
  const pairs = [
    ["USER_RATE_LIMIT", "USER_RATE_LIMITER"],
    ["TENANT_RATE_LIMIT", "TENANT_RATE_LIMITER"],
    ["CUSTOMER_RATE_LIMIT", "CUSTOMER_RATE_LIMITER"],
  ] as const;

  it.each(Object.keys(config))("in wrangler.toml's %s environment, each var equals its binding's limit", (name) => {
    const { vars, ratelimits } = config[name] as (typeof config)[string];
    for (const [variable, binding] of pairs) {
      const limiter = ratelimits.find((r) => r.name === binding);
      expect(limiter, `${name}: ${binding}`).toBeDefined();
      expect(Number(vars[variable]), `${name}: ${variable} must equal ${binding}'s limit`).toBe(limiter?.simple.limit);
      expect(limiter?.simple.period, `${name}: ${binding}'s period`).toBe(RATE_LIMIT_PERIOD_S);
    }
  });

  it("and the running Worker's vars are the default environment's", () => {
    const { vars } = config.default as (typeof config)[string];
    for (const [variable] of pairs) expect(env[variable]).toBe(vars[variable]);
  });
});
