/**
 * The admin routes (src/admin/, issue 12): the shards and their tenants, a
 * tenant's placement, starting a move; system administrators only. What a
 * move does is in test/shards/move.test.ts.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, callers, communicationBody, newTenant, placeTenant, shardOf, signToken } from "../support/helpers";

describe("admin routes", () => {
  const admin = () => signToken({ is_system_admin: true, permissions: [] });

  it("are for system administrators only: 401 without a token, 403 for tenant staff", async () => {
    const tenant = newTenant();
    await placeTenant(tenant);
    const staff = await callers(tenant).admin();
    for (const [path, method, body] of [
      ["/admin/shards", "GET", undefined],
      [`/admin/tenants/${tenant}`, "GET", undefined],
      [`/admin/tenants/${tenant}/move`, "POST", { to: "SHARD_1" }],
    ] as const) {
      expect((await call(path, { method, body })).status).toBe(401);
      const res = await call(path, { method, body, token: staff });
      expect(res.status).toBe(403);
      expect(res.json.message).toBe("Insufficient permissions");
    }
  });

  it("shards: each shard with its tenants and their communication counts", async () => {
    const tenant = newTenant();
    await call("", { method: "POST", token: await callers(tenant).admin(), body: communicationBody() });
    await call("", { method: "POST", token: await callers(tenant).admin(), body: communicationBody() });
    const res = await call("/admin/shards", { token: await admin() });
    expect(res.status).toBe(200);
    expect(res.json.shards.map((s: { name: string }) => s.name)).toEqual(["SHARD_0", "SHARD_1"]);
    const where = await shardOf(tenant);
    const listed = res.json.shards.find((s: { name: string }) => s.name === where);
    expect(listed.tenants).toContainEqual({ tenant_id: tenant, communications: 2 });
  });

  it("shards: cursor pages of tenants, each tenant once, every shard with its tenant count on every page (issue 16)", async () => {
    for (let i = 0; i < 5; i++) await placeTenant(newTenant());
    const { results } = await env.DIRECTORY.prepare("SELECT tenant_id, shard FROM tenants").all<{
      tenant_id: string;
      shard: string;
    }>();
    const loads = await env.DIRECTORY.prepare("SELECT shard, tenants FROM shard_load").all<{
      shard: string;
      tenants: number;
    }>();
    const seen: { tenant_id: string; shard: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Awaited<ReturnType<typeof call>> = await call(
        `/admin/shards?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        { token: await admin() },
      );
      expect(res.status, res.text).toBe(200);
      expect(res.json.limit).toBe(2);
      expect(res.json.shards.map((s: { name: string }) => s.name)).toEqual(["SHARD_0", "SHARD_1"]);
      for (const shard of res.json.shards) {
        expect(shard.tenant_count).toBe(loads.results.find((l) => l.shard === shard.name)?.tenants ?? 0);
        for (const t of shard.tenants) seen.push({ tenant_id: t.tenant_id, shard: shard.name });
      }
      expect(res.json.shards.flatMap((s: { tenants: unknown[] }) => s.tenants).length).toBeLessThanOrEqual(2);
      cursor = res.json.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(Math.ceil(results.length / 2));
    expect(seen.map((t) => t.tenant_id).sort()).toEqual(results.map((r) => r.tenant_id).sort());
    for (const t of seen) expect(t.shard).toBe(results.find((r) => r.tenant_id === t.tenant_id)?.shard);
    const bad = await call("/admin/shards?cursor=nope", { token: await admin() });
    expect(bad.status).toBe(400);
    expect((await call("/admin/shards?limit=1001", { token: await admin() })).status).toBe(400);
  });

  it("tenant: its shard and no move; unknown tenant 404; not a UUID 400", async () => {
    const tenant = newTenant();
    await placeTenant(tenant);
    const res = await call(`/admin/tenants/${tenant}`, { token: await admin() });
    expect(res.status).toBe(200);
    expect(res.json.tenant).toEqual({ tenant_id: tenant, shard: await shardOf(tenant), frozen: false, move: null });
    const unknown = await call(`/admin/tenants/${newTenant()}?language=ar`, { token: await admin() });
    expect(unknown.status).toBe(404);
    expect(unknown.json.message).toBe("المستأجر غير موجود");
    expect((await call("/admin/tenants/nope", { token: await admin() })).status).toBe(400);
  });

  it("move: an unknown shard is 400, the current shard 409, an unknown tenant 404", async () => {
    const tenant = newTenant();
    await placeTenant(tenant);
    const home = await shardOf(tenant);
    const as = async (to: unknown, id = tenant) =>
      call(`/admin/tenants/${id}/move`, { method: "POST", token: await admin(), body: { to } });
    const bad = await as("SHARD_9");
    expect(bad.status).toBe(400);
    expect(bad.json.errors).toEqual([{ field: "to", message: "to must be one of: SHARD_0, SHARD_1" }]);
    expect((await as(home)).status).toBe(409);
    expect((await as("SHARD_0", newTenant())).status).toBe(404);
  });
});
