/**
 * Shards and the directory (issue 12): placement of new tenants, every route
 * on its tenant's shard and no other, the per-isolate directory cache, and a
 * shard outage that only its tenants see. The admin routes: test/admin/.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { shardBinding, shardNames } from "../../src/shards/config";
import { DIRECTORY_TTL_MS, forgetCachedPlacements } from "../../src/shards/directory";
import { call, callers, communicationBody, newTenant, placeTenant, shardOf, signToken } from "../support/helpers";

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** A binding that records which methods were called on it (and on its sessions). */
function recording(real: D1Database, name: string, log: string[]): D1Database {
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop) {
        const value = Reflect.get(t, prop);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          log.push(`${name}.${String(prop)}`);
          const out = value.apply(t, args);
          return prop === "withSession" ? wrap(out) : out;
        };
      },
    });
  return wrap(real);
}

/** One request with `bindings` replacing env's, through call() (so the answer is contract-checked too). */
const send = (bindings: Partial<Env>, path: string, init: { method?: string; token: string; body?: unknown }) =>
  call(path, { ...init, env: bindings });

const countIn = async (db: D1Database, table: string, tenant: string) =>
  (await db.prepare(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = ?`).bind(tenant).first<{ n: number }>())?.n ??
  0;

describe("placement", () => {
  it("the shipped config has two shards, and new tenants go to the one with the fewest tenants", async () => {
    expect(shardNames(env)).toEqual(["SHARD_0", "SHARD_1"]);
    const load = async () => {
      const { results } = await env.DIRECTORY.prepare("SELECT shard, tenants FROM shard_load ORDER BY shard").all<{
        shard: string;
        tenants: number;
      }>();
      return Object.fromEntries(results.map((r) => [r.shard, r.tenants]));
    };
    const before = await load();
    const placed: string[] = [];
    for (let i = 0; i < 6; i++) {
      const tenant = newTenant();
      const res = await call("", { method: "POST", token: await callers(tenant).admin(), body: communicationBody() });
      expect(res.status).toBe(201);
      placed.push((await shardOf(tenant)) as string);
    }
    const after = await load();
    // Balanced: the six new tenants went where there were fewer.
    expect(Math.abs((after.SHARD_0 ?? 0) - (after.SHARD_1 ?? 0))).toBeLessThanOrEqual(
      Math.max(1, Math.abs((before.SHARD_0 ?? 0) - (before.SHARD_1 ?? 0))),
    );
    expect(new Set(placed)).toEqual(new Set(["SHARD_0", "SHARD_1"]));
    // The counter agrees with the directory itself.
    const { results } = await env.DIRECTORY.prepare("SELECT shard, count(*) AS n FROM tenants GROUP BY shard").all<{
      shard: string;
      n: number;
    }>();
    for (const r of results) expect(after[r.shard]).toBe(r.n);
  });

  it("a tenant's rows live in its shard only", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const created = await call("", { method: "POST", token: admin, body: communicationBody() });
    await call(`/${created.json.communication.id}`, {
      method: "PATCH",
      token: admin,
      body: { status: "delivered", occurred_at: new Date().toISOString() },
    });
    const home = (await shardOf(tenant)) as string;
    for (const name of shardNames(env)) {
      const expected = name === home ? 1 : 0;
      const db = shardBinding(env, name);
      expect(await countIn(db, "communications", tenant)).toBe(expected);
      expect(await countIn(db, "communication_events", tenant)).toBe(expected);
    }
  });

  it("two first requests of one tenant at once agree on its shard", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const results = await Promise.all(
      Array.from({ length: 4 }, () => call("", { method: "POST", token: admin, body: communicationBody() })),
    );
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    const shards = new Set(results.map((r) => r.headers.get("x-d1-bookmark")?.split(":")[0]));
    expect(shards).toEqual(new Set([await shardOf(tenant)]));
    expect(await countIn(await placeTenant(tenant), "communications", tenant)).toBe(4);
  });
});

describe("who places a tenant (issue 16, item 1)", () => {
  it("a customer's request for a tenant the directory does not know places nothing: an empty list, 404 by id", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const customer = await who.customer();
    const list = await call("?limit=5", { token: customer });
    expect(list.status).toBe(200);
    expect(list.json).toMatchObject({ communications: [], total: 0, next_cursor: null });
    expect((await call(`/${crypto.randomUUID()}`, { token: customer })).status).toBe(404);
    expect((await call(`/${crypto.randomUUID()}/events`, { token: customer })).status).toBe(404);
    expect(await shardOf(tenant)).toBeUndefined();
    const admin = await call(`/admin/tenants/${tenant}`, { token: await signToken({ is_system_admin: true }) });
    expect(admin.status).toBe(404);
    // Staff place it; the customer then reads from its shard.
    const created = await call("", {
      method: "POST",
      token: await who.admin(),
      body: communicationBody({ customer_id: who.customerId }),
    });
    expect(created.status).toBe(201);
    const home = await shardOf(tenant);
    expect(home).toBeDefined();
    const mine = await call("?limit=5", { token: customer });
    expect(mine.json.communications.map((c: { id: string }) => c.id)).toEqual([created.json.communication.id]);
    expect(mine.headers.get("x-d1-bookmark")?.split(":")[0]).toBe(home);
  });

  it("staff (a reader or a manager) and system administrators place a new tenant", async () => {
    for (const token of [await callers(newTenant()).viewer(), await callers(newTenant()).admin()]) {
      const res = await call("?limit=1", { token });
      expect(res.status).toBe(200);
    }
    const tenant = newTenant();
    const res = await call(`?limit=1&tenant_id=${tenant}`, { token: await signToken({ is_system_admin: true }) });
    expect(res.status).toBe(200);
    expect(await shardOf(tenant)).toBeDefined();
  });
});

describe("routing: every route reaches the tenant's shard and no other", () => {
  it("list, create, get, status update, events", async () => {
    for (let i = 0; i < 2; i++) {
      const tenant = newTenant();
      const who = callers(tenant);
      await placeTenant(tenant);
      const home = (await shardOf(tenant)) as string;
      const log: string[] = [];
      const bindings = Object.fromEntries(
        shardNames(env).map((n) => [n, recording(shardBinding(env, n), n, log)]),
      ) as Partial<Env>;
      const admin = await who.admin();
      const created = await send(bindings, "", { method: "POST", token: admin, body: communicationBody() });
      expect(created.status).toBe(201);
      const id = created.json.communication.id;
      const requests: [string, { method?: string; token: string; body?: unknown }][] = [
        ["?limit=5", { token: admin }],
        [`/${id}`, { token: admin }],
        [
          `/${id}`,
          { method: "PATCH", token: admin, body: { status: "delivered", occurred_at: new Date().toISOString() } },
        ],
        [`/${id}/events`, { token: admin }],
        [`?customer_id=${created.json.communication.customer_id}`, { token: await who.viewer() }],
      ];
      for (const [path, init] of requests) {
        const res = await send(bindings, path, init);
        expect(res.status, res.text).toBe(200);
      }
      expect(log.length).toBeGreaterThan(0);
      expect(new Set(log.map((l) => l.split(".")[0]))).toEqual(new Set([home]));
    }
  });
});

describe("the directory cache", () => {
  it("reads the directory at most once per tenant per isolate per minute", async () => {
    const tenant = newTenant();
    const viewer = await callers(tenant).viewer();
    await placeTenant(tenant);
    forgetCachedPlacements();
    const log: string[] = [];
    const bindings = { DIRECTORY: recording(env.DIRECTORY, "DIRECTORY", log) } as Partial<Env>;
    const reads = () => log.filter((l) => l === "DIRECTORY.withSession").length;

    const first = await send(bindings, "", { token: viewer });
    expect(first.headers.get("server-timing")).toContain('directory;desc="read"');
    for (let i = 0; i < 5; i++) {
      const res = await send(bindings, "", { token: viewer });
      expect(res.status).toBe(200);
      expect(res.headers.get("server-timing")).toContain('directory;desc="cached"');
    }
    expect(reads()).toBe(1);

    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + DIRECTORY_TTL_MS + 1_000 });
    const later = await send(bindings, "", { token: await callers(tenant).viewer() });
    expect(later.status).toBe(200);
    expect(reads()).toBe(2);
  });
});

describe("a shard outage", () => {
  it("answers 503 with Retry-After for that shard's tenants and 200 for the others", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const byShard = new Map<string, string>();
    while (byShard.size < 2) {
      const tenant = newTenant();
      await placeTenant(tenant);
      const shard = (await shardOf(tenant)) as string;
      if (!byShard.has(shard)) byShard.set(shard, tenant);
    }
    const fail = () => Promise.reject(new Error("D1_ERROR: D1 DB is overloaded. Too many requests queued."));
    const down: D1Database = {
      withSession: () => down,
      prepare: () => ({ bind: () => ({ all: fail, run: fail, first: fail, raw: fail }) }),
      batch: fail,
    } as unknown as D1Database;

    for (const [broken, tenant] of byShard) {
      const healthy = [...byShard].find(([s]) => s !== broken)?.[1] as string;
      const bindings = { [broken]: down } as Partial<Env>;
      for (const path of ["", "?limit=3"]) {
        const hit = await send(bindings, path, { token: await callers(tenant).viewer() });
        expect(hit.status).toBe(503);
        expect(hit.headers.get("retry-after")).toBeTruthy();
        expect(hit.json.message).toBe("The service is temporarily unavailable, please try again later");
        const fine = await send(bindings, path, { token: await callers(healthy).viewer() });
        expect(fine.status).toBe(200);
      }
      const write = await send(bindings, "", {
        method: "POST",
        token: await callers(tenant).admin(),
        body: communicationBody(),
      });
      expect(write.status).toBe(503);
      const other = await send(bindings, "", {
        method: "POST",
        token: await callers(healthy).admin(),
        body: communicationBody(),
      });
      expect(other.status).toBe(201);
    }
  });
});
