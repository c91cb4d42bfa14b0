/**
 * Privacy and events out (issues 18 and 21): subscription actions are
 * audited in the batch that makes them; an erasure takes the events kept
 * for subscriptions (and their delivery log) of what it erases, so no replay
 * sends them again; redaction reaches those copies too.
 */
import { env, introspectWorkflow } from "cloudflare:test";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createDb, newDbStats } from "../../src/db/client";
import { redactTenant } from "../../src/privacy/redaction";
import { receiver, subscribe, until } from "../subscriptions/support";
import { call, callers, communicationBody, newTenant, signToken, tenantShard } from "../support/helpers";

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterAll(() => server.close());
beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

const PHONE = "+9647501234567";

async function create(token: string, customer: string, content = "Your code is 4711") {
  const res = await call("", {
    method: "POST",
    token,
    body: communicationBody({
      customer_id: customer,
      content,
      communication_details: { recipient: { phone: PHONE, email: "zed@example.com" }, template_variables: { a: "1" } },
    }),
  });
  expect(res.status, res.text).toBe(201);
  return res.json.communication as { id: string };
}

const rows = async (tenant: string, sql: string) =>
  (await (await tenantShard(tenant)).prepare(sql).bind(tenant).all<Record<string, string>>()).results;

describe("subscription actions in the audit log", () => {
  it("created, updated, secret_rotated and deleted, each with its actor; a 404 writes none; no URL or secret in them", async () => {
    const tenant = newTenant();
    const admin = await signToken({
      sub: "ops-1",
      tenant_id: tenant,
      role: "ops",
      permissions: ["manage:operations:tenant"],
    });
    const url = "https://crm.example.com/hooks?token=sekrit-token-123";
    const created = await call("/subscriptions", {
      method: "POST",
      token: admin,
      body: { url, events: ["communication.created"] },
    });
    expect(created.status).toBe(201);
    const id = created.json.subscription.id as string;
    const secret = created.json.subscription.secret as string;
    const patched = await call(`/subscriptions/${id}`, {
      method: "PATCH",
      token: admin,
      body: { status: "paused", url: "https://crm.example.com/other" },
    });
    expect(patched.status).toBe(200);
    const rotated = await call(`/subscriptions/${id}/secret`, { method: "POST", token: admin });
    expect(rotated.status).toBe(200);
    expect((await call(`/subscriptions/${crypto.randomUUID()}`, { method: "DELETE", token: admin })).status).toBe(404);
    expect((await call(`/subscriptions/${id}`, { method: "DELETE", token: admin })).status).toBe(200);

    const audit = await call("/audit", { token: admin });
    const entries = audit.json.entries as { action: string; target: unknown; details: unknown; actor: unknown }[];
    expect(entries.map((e) => e.action)).toEqual([
      "subscription.deleted",
      "subscription.secret_rotated",
      "subscription.updated",
      "subscription.created",
    ]);
    for (const e of entries) {
      expect(e.target).toEqual({ kind: "subscription", id });
      expect(e.actor).toEqual({ sub: "ops-1", role: "ops", is_system_admin: false });
    }
    expect(entries[2]?.details).toEqual({ changed: ["url", "status"], status: "paused" });
    expect(entries[3]?.details).toEqual({ events: ["communication.created"] });
    for (const hidden of ["sekrit-token-123", "crm.example.com", secret, rotated.json.subscription.secret]) {
      expect(audit.text).not.toContain(hidden);
    }
  });
});

describe("events kept for subscriptions", () => {
  it("an erasure takes those of what it erases, with their delivery log; a replay sends none of them", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const r = receiver(server);
    const sub = await subscribe(admin, r.url, ["communication.created"]);
    const customer = crypto.randomUUID();
    const erased = [await create(admin, customer), await create(admin, customer)];
    const kept = await create(admin, crypto.randomUUID(), "Someone else's");
    await until(() => expect(r.got).toHaveLength(3));
    await until(async () =>
      expect(await rows(tenant, "SELECT * FROM subscription_deliveries WHERE tenant_id = ?")).toHaveLength(3),
    );

    await using introspector = await introspectWorkflow(env.ERASURE);
    const res = await call("/erasures", { method: "POST", token: admin, body: { customer_id: customer } });
    expect(res.status).toBe(202);
    await (await introspector.get())[0]?.waitForStatus("complete");

    const events = await rows(tenant, "SELECT communication_id FROM subscription_events WHERE tenant_id = ?");
    expect(events.map((e) => e.communication_id)).toEqual([kept.id]);
    expect(await rows(tenant, "SELECT * FROM subscription_deliveries WHERE tenant_id = ?")).toHaveLength(1);

    const since = new Date(Date.now() - 3_600_000).toISOString();
    const replay = await call(`/subscriptions/${sub.id}/replay`, { method: "POST", token: admin, body: { since } });
    expect(replay.status).toBe(202);
    await until(() => expect(r.got).toHaveLength(4));
    await new Promise((done) => setTimeout(done, 1000));
    expect(r.got).toHaveLength(4);
    expect(r.got[3]?.json.data.communication.id).toBe(kept.id);
    for (const e of erased) expect(JSON.stringify(r.got.slice(3))).not.toContain(e.id);
  });

  it("redaction reaches their copies: the route now, the job once due", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const r = receiver(server);
    await subscribe(admin, r.url, ["communication.created"]);
    const customer = crypto.randomUUID();
    const one = await create(admin, customer);
    const other = await create(admin, customer);
    await until(() => expect(r.got).toHaveLength(2));
    const payloads = async () =>
      Object.fromEntries(
        (await rows(tenant, "SELECT communication_id, payload FROM subscription_events WHERE tenant_id = ?")).map(
          (e) => [e.communication_id, JSON.parse(e.payload as string).data.communication],
        ),
      );

    expect((await call(`/${one.id}/redact`, { method: "POST", token: admin })).status).toBe(200);
    let now = await payloads();
    expect(now[one.id]).toMatchObject({
      content: null,
      communication_details: { recipient: { phone: "+9647*******67" } },
    });
    expect(now[one.id].redacted_at).toBeTruthy();
    expect(now[other.id]).toMatchObject({ content: "Your code is 4711", redacted_at: null });

    // The job, for a tenant with redact_after_days, once the other one is due.
    const db = createDb(await tenantShard(tenant), "first-primary", newDbStats());
    await redactTenant(env, db, tenant, 1, Date.now() + 2 * 86_400_000);
    now = await payloads();
    expect(now[other.id]).toMatchObject({
      content: null,
      communication_details: { recipient: { email: "z***@example.com" } },
    });
    expect(JSON.stringify(now)).not.toContain("4711");
  });
});
