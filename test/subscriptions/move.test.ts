/**
 * A tenant move carries its subscriptions, event log and delivery log
 * (src/shards/tenant-tables.ts; fences with DELETE in migration 0006), and
 * deliveries go on from the new shard.
 */
import { env, introspectWorkflow } from "cloudflare:test";
import { setupServer } from "msw/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shardBinding, shardNames } from "../../src/shards/config";
import { throughFence } from "../../src/shards/copy";
import { forgetCachedPlacements } from "../../src/shards/directory";
import { call, callers, communicationBody, newTenant, shardOf, signToken } from "../support/helpers";
import { receiver, subscribe, until } from "./support";

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterAll(() => server.close());

const TABLES = ["subscriptions", "subscription_events", "subscription_deliveries"];
const countIn = async (db: D1Database, table: string, tenant: string) =>
  (await db.prepare(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = ?`).bind(tenant).first<{ n: number }>())?.n ??
  0;

describe("a tenant move", () => {
  it("carries subscriptions, events and deliveries; the source keeps nothing; deliveries go on", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const r = receiver(server);
    const sub = await subscribe(admin, r.url);
    for (let i = 0; i < 3; i++)
      expect((await call("", { method: "POST", token: admin, body: communicationBody() })).status).toBe(201);
    await until(() => expect(r.got).toHaveLength(3));
    const from = (await shardOf(tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;
    const source = shardBinding(env, from);
    await until(async () => expect(await countIn(source, "subscription_deliveries", tenant)).toBe(3));
    const before = Object.fromEntries(
      await Promise.all(TABLES.map(async (t) => [t, await countIn(source, t, tenant)])),
    );

    await using introspector = await introspectWorkflow(env.TENANT_MOVE);
    await introspector.modifyAll(async (m) => {
      await m.disableSleeps();
    });
    const sys = await signToken({ is_system_admin: true, permissions: [] });
    const started = await call(`/admin/tenants/${tenant}/move`, { method: "POST", token: sys, body: { to } });
    expect(started.status, started.text).toBe(202);
    const [instance] = await introspector.get();
    await instance?.waitForStatus("complete");
    forgetCachedPlacements();
    expect((await call(`/admin/tenants/${tenant}`, { token: sys })).json.tenant).toMatchObject({ shard: to });

    const target = shardBinding(env, to);
    for (const t of TABLES) {
      expect(await countIn(target, t, tenant), t).toBe(before[t]);
      expect(await countIn(source, t, tenant), t).toBe(0);
    }
    expect(await countIn(source, "tenant_fences", tenant)).toBe(0);
    const log = await call(`/subscriptions/${sub.id}/deliveries`, { token: admin });
    expect(log.json.deliveries).toHaveLength(3);
    expect((await call("", { method: "POST", token: admin, body: communicationBody() })).status).toBe(201);
    await until(() => expect(r.got).toHaveLength(4));
  }, 60_000);

  it("the fence refuses a delete of these tables; only the move's own delete batch passes it", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const sub = await subscribe(admin, receiver(server).url);
    const db = shardBinding(env, (await shardOf(tenant)) as string);
    await db
      .prepare("INSERT INTO tenant_fences (tenant_id, move_id, created_at) VALUES (?, 'm', ?)")
      .bind(tenant, new Date().toISOString())
      .run();
    await expect(
      db.prepare("DELETE FROM subscriptions WHERE tenant_id = ? AND id = ?").bind(tenant, sub.id).run(),
    ).rejects.toThrow(/tenant_frozen/);
    const refused = await call(`/subscriptions/${sub.id}`, { method: "DELETE", token: admin });
    expect(refused.status).toBe(503);
    // The move's own delete passes: it opens the fence for its one batch (src/shards/copy.ts).
    await throughFence(
      db,
      tenant,
      db.prepare("DELETE FROM subscriptions WHERE tenant_id = ? AND id = ?").bind(tenant, sub.id),
    );
    expect(await countIn(db, "subscriptions", tenant)).toBe(0);
    await db.prepare("DELETE FROM tenant_fences WHERE tenant_id = ?").bind(tenant).run();
  });
});
