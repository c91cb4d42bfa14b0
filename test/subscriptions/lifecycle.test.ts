/**
 * A subscription's life: secret rotation (both secrets verify for 24 hours,
 * then only the new one), replay, pause and resume, delete, disabled after 5
 * days of failures, URL rules checked again at delivery time, events purged
 * after 7 days, and no extra D1 row per change for a tenant without
 * subscriptions.
 */
import { env } from "cloudflare:test";
import { setupServer } from "msw/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forgetCachedPlacements } from "../../src/shards/directory";
import {
  call,
  callers,
  callMeasured,
  communicationBody,
  newTenant,
  placeTenant,
  runScheduled,
  tenantShard,
} from "../support/helpers";
import { ok, receiver, status, subscribe, until, verifies } from "./support";

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterAll(() => server.close());

const create = async (token: string) => {
  const res = await call("", { method: "POST", token, body: communicationBody() });
  expect(res.status, res.text).toBe(201);
  return res.json.communication as { id: string };
};
const pause = (token: string, id: string, s: "active" | "paused") =>
  call(`/subscriptions/${id}`, { method: "PATCH", token, body: { status: s } });
const quiet = () => new Promise((r) => setTimeout(r, 1500));

describe("secret rotation", () => {
  it("for 24 hours both secrets verify (two signatures), then only the new one", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const r = receiver(server);
    const sub = await subscribe(admin, r.url, ["communication.created"]);
    const rotated = await call(`/subscriptions/${sub.id}/secret`, { method: "POST", token: admin });
    const fresh = rotated.json.subscription.secret as string;
    await create(admin);
    await until(() => expect(r.got).toHaveLength(1));
    const [first] = r.got;
    expect(first?.signature.split(" ")).toHaveLength(2);
    expect(verifies(fresh, first as never)).toBe(true);
    expect(verifies(sub.secret, first as never)).toBe(true);

    // 24 hours later (the expiry moved back instead of waiting).
    await (await tenantShard(tenant))
      .prepare("UPDATE subscriptions SET previous_secret_expires_at = ? WHERE tenant_id = ? AND id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), tenant, sub.id)
      .run();
    await create(admin);
    await until(() => expect(r.got).toHaveLength(2));
    const second = r.got[1];
    expect(second?.signature.split(" ")).toHaveLength(1);
    expect(verifies(fresh, second as never)).toBe(true);
    expect(verifies(sub.secret, second as never)).toBe(false);
  });
});

describe("pause, resume, delete", () => {
  it("a paused subscription gets nothing (no backlog); resumed, it gets what comes next; deleted, nothing", async () => {
    const admin = await callers(newTenant()).admin();
    const r = receiver(server);
    const sub = await subscribe(admin, r.url, ["communication.created"]);
    expect((await pause(admin, sub.id, "paused")).json.subscription.status).toBe("paused");
    await create(admin);
    await quiet();
    expect(r.got).toEqual([]);
    await pause(admin, sub.id, "active");
    const c = await create(admin);
    await until(() => expect(r.got).toHaveLength(1));
    expect(r.got[0]?.json.data.communication.id).toBe(c.id);
    await call(`/subscriptions/${sub.id}`, { method: "DELETE", token: admin });
    await create(admin);
    await quiet();
    expect(r.got).toHaveLength(1);
  });

  it("a delivery waiting for its retry is dropped when its subscription is paused", async () => {
    const admin = await callers(newTenant()).admin();
    const r = receiver(server, () => status(500));
    const sub = await subscribe(admin, r.url, ["communication.created"]);
    await create(admin);
    await until(() => expect(r.got.length).toBeGreaterThanOrEqual(1));
    await pause(admin, sub.id, "paused");
    await until(async () => {
      const log = (await call(`/subscriptions/${sub.id}/deliveries`, { token: admin })).json.deliveries;
      expect(log[0]).toMatchObject({ status: "failed", last_error: "paused" });
    });
    const calls = r.got.length;
    await quiet();
    expect(r.got.length).toBe(calls);
  });
});

describe("replay", () => {
  it("sends every event of the window again, with the same ids, also events from before the subscription existed", async () => {
    const admin = await callers(newTenant()).admin();
    const first = receiver(server);
    await subscribe(admin, first.url, ["communication.created"]); // the tenant has subscriptions: events are kept
    const before = await create(admin);
    await until(() => expect(first.got).toHaveLength(1));
    const r = receiver(server);
    const sub = await subscribe(admin, r.url, ["communication.created"]);
    const after = await create(admin);
    await until(() => expect(r.got).toHaveLength(1));
    const res = await call(`/subscriptions/${sub.id}/replay`, {
      method: "POST",
      token: admin,
      body: { since: new Date(Date.now() - 3_600_000).toISOString() },
    });
    expect(res.status).toBe(202);
    await until(() => expect(r.got).toHaveLength(3));
    const ids = r.got.map((g) => g.json.data.communication.id);
    expect(ids.filter((id) => id === after.id)).toHaveLength(2);
    expect(ids).toContain(before.id);
    const replayedAfter = r.got.filter((g) => g.json.data.communication.id === after.id);
    expect(replayedAfter[0]?.id).toBe(replayedAfter[1]?.id);
    expect(replayedAfter[0]?.body).toBe(replayedAfter[1]?.body);
    for (const g of r.got) expect(verifies(sub.secret, g)).toBe(true);
    await until(async () => {
      const log = (await call(`/subscriptions/${sub.id}/deliveries`, { token: admin })).json.deliveries;
      expect(log).toHaveLength(2);
      expect(log.every((d: { status: string }) => d.status === "succeeded")).toBe(true);
    });
  });
});

describe("disabled after 5 days of failures", () => {
  it("a failure while the subscription has failed for 5 days disables it; a PATCH to active resumes it", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const r = receiver(server, () => status(500));
    const sub = await subscribe(admin, r.url, ["communication.created"]);
    await (await tenantShard(tenant))
      .prepare("UPDATE subscriptions SET failing_since = ? WHERE tenant_id = ? AND id = ?")
      .bind(new Date(Date.now() - 5 * 86_400_000 - 60_000).toISOString(), tenant, sub.id)
      .run();
    await create(admin);
    await until(async () => {
      const got = await call(`/subscriptions/${sub.id}`, { token: admin });
      expect(got.json.subscription.status).toBe("disabled");
    });
    await quiet();
    const calls = r.got.length;
    expect(calls).toBe(1); // no more attempts once disabled
    r.state.behave = () => ok();
    expect((await pause(admin, sub.id, "active")).json.subscription.status).toBe("active");
    await create(admin);
    await until(() => expect(r.got.length).toBe(calls + 1));
  });

  it("a success clears the failure clock", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const r = receiver(server, (n) => (n === 1 ? status(500) : ok()));
    const sub = await subscribe(admin, r.url, ["communication.created"]);
    await create(admin);
    await until(() => expect(r.got).toHaveLength(2));
    await until(async () => {
      const row = await (await tenantShard(tenant))
        .prepare("SELECT failing_since FROM subscriptions WHERE tenant_id = ? AND id = ?")
        .bind(tenant, sub.id)
        .first<{ failing_since: string | null }>();
      expect(row?.failing_since).toBeNull();
    });
  });
});

describe("URL rules at delivery time", () => {
  it("a URL that no longer passes the rules is not called", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const r = receiver(server);
    const sub = await subscribe(admin, r.url, ["communication.created"]);
    // As if written before a rule existed (or moved from elsewhere): the metadata service.
    await (await tenantShard(tenant))
      .prepare("UPDATE subscriptions SET url = ? WHERE tenant_id = ? AND id = ?")
      .bind("https://169.254.169.254/latest/meta-data", tenant, sub.id)
      .run();
    await create(admin);
    await until(async () => {
      const log = (await call(`/subscriptions/${sub.id}/deliveries`, { token: admin })).json.deliveries;
      expect(log[0]).toMatchObject({ last_error: "url_not_allowed", last_status_code: null });
    });
    expect(r.got).toEqual([]);
  });
});

describe("events are kept 7 days", () => {
  it("the scheduled job purges older events and their delivery rows", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const r = receiver(server);
    const sub = await subscribe(admin, r.url, ["communication.created"]);
    await create(admin);
    await create(admin);
    await until(() => expect(r.got).toHaveLength(2));
    const shard = await tenantShard(tenant);
    const old = r.got.map((g) => g.id).sort()[0] as string;
    // The older event becomes 8 days old (its id is its time: the delivery row goes by it too).
    const stale = `evt_${"0".repeat(32)}`;
    await shard.batch([
      shard
        .prepare("UPDATE subscription_events SET created_at = ?, id = ? WHERE tenant_id = ? AND id = ?")
        .bind(new Date(Date.now() - 8 * 86_400_000).toISOString(), stale, tenant, old),
      shard
        .prepare("UPDATE subscription_deliveries SET event_id = ? WHERE tenant_id = ? AND event_id = ?")
        .bind(stale, tenant, old),
    ]);
    await runScheduled();
    const count = async (table: string) =>
      (
        await shard
          .prepare(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = ?`)
          .bind(tenant)
          .first<{ n: number }>()
      )?.n;
    expect(await count("subscription_events")).toBe(1);
    expect(await count("subscription_deliveries")).toBe(1);
    const log = (await call(`/subscriptions/${sub.id}/deliveries`, { token: admin })).json.deliveries;
    expect(log.map((d: { event_id: string }) => d.event_id)).not.toContain(stale);
  });
});

describe("D1 rows per change", () => {
  it("a tenant without subscriptions writes and reads no extra row; with them, one event row more", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    await placeTenant(tenant);
    forgetCachedPlacements();
    const measure = async () => {
      const c = await callMeasured("", { method: "POST", token: admin, body: communicationBody() });
      expect(c.status).toBe(201);
      const p = await callMeasured(`/${c.json.communication.id}`, {
        method: "PATCH",
        token: admin,
        body: { status: "delivered", occurred_at: new Date().toISOString() },
      });
      return { create: c.d1, patch: p.d1 };
    };
    // Warm (the placement cached), then measured: the same as before events out existed.
    await measure();
    const without = await measure();
    expect(without.create).toEqual({ queries: 2, read: expect.any(Number), written: expect.any(Number) });
    const shard = await tenantShard(tenant);
    expect(
      (
        await shard
          .prepare("SELECT count(*) AS n FROM subscription_events WHERE tenant_id = ?")
          .bind(tenant)
          .first<{ n: number }>()
      )?.n,
    ).toBe(0);

    const r = receiver(server);
    await subscribe(admin, r.url);
    await measure();
    const withSubs = await measure();
    console.info("D1 per change without / with subscriptions", JSON.stringify({ without, with: withSubs }));
    expect(withSubs.create.written - without.create.written).toBe(1);
    expect(withSubs.patch.written - without.patch.written).toBe(1);
    // Two statements more in the same batch: the event row (its insert probes the
    // move's fence, like every insert) and the read of the subscriptions (one row each).
    expect(withSubs.create.queries - without.create.queries).toBe(2);
    expect(withSubs.create.read - without.create.read).toBeLessThanOrEqual(3);
  });
});

describe("changes committed more than 60 seconds after a subscription was created", () => {
  it("an isolate that cached the placement before the subscription learns of it when its entry expires", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const r = receiver(server);
    const sub = await subscribe(admin, r.url, ["communication.created"]);
    const shard = await tenantShard(tenant);
    const events = async () =>
      (
        await shard
          .prepare("SELECT count(*) AS n FROM subscription_events WHERE tenant_id = ?")
          .bind(tenant)
          .first<{ n: number }>()
      )?.n;
    // Another isolate's entry, cached before the subscription was created (the route only
    // refreshes its own isolate's): simulated by filling this cache while the directory said 0.
    await env.DIRECTORY.prepare("UPDATE tenants SET subscriptions = 0 WHERE tenant_id = ?").bind(tenant).run();
    forgetCachedPlacements();
    await placeTenant(tenant); // cached: 0
    await env.DIRECTORY.prepare("UPDATE tenants SET subscriptions = 1 WHERE tenant_id = ?").bind(tenant).run();
    const before = (await events()) ?? 0;
    await create(admin);
    expect(await events()).toBe(before); // within the TTL: not recorded
    forgetCachedPlacements(); // the TTL (60 s) has passed
    await create(admin);
    expect(await events()).toBe(before + 1);
    await until(() => expect(r.got.length).toBeGreaterThanOrEqual(1));
    expect(r.got.at(-1)?.json.type).toBe("communication.created");
    const log = (await call(`/subscriptions/${sub.id}/deliveries`, { token: admin })).json.deliveries;
    expect(log.length).toBeGreaterThanOrEqual(1);
  });
});
