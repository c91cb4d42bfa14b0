/**
 * The audit log (privacy.md, issue 21 item 3): every listed action that
 * exists on this branch writes its entry in the same D1 batch as the
 * action; the route lists them newest first with the contract's filters and
 * cursor pages; entries hold no content, address or secret; nothing changes
 * or deletes them; they move with their tenant. (Erasure and redaction
 * entries: test/privacy/.)
 */
import { env, introspectWorkflow } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { auditInsert, SYSTEM_ACTOR } from "../../src/audit/store";
import { createDb, newDbStats } from "../../src/db/client";
import { ProviderConnectionStore } from "../../src/providers/store";
import { shardBinding, shardNames } from "../../src/shards/config";
import { forgetCachedPlacements } from "../../src/shards/directory";
import { EXPECTED_BY_TEST } from "../support/expected-output";
import { call, callers, communicationBody, newTenant, placeTenant, shardOf, signToken } from "../support/helpers";
import { connect, newTwilioToken } from "../support/webhook-helpers";

beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
  vi.spyOn(console, "warn").mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

interface Entry {
  id: string;
  action: string;
  actor: { sub: string; role: string | null; is_system_admin: boolean };
  target: { kind: string; id: string };
  details: Record<string, unknown>;
  request_id: string;
  created_at: string;
}

async function entries(token: string, query = ""): Promise<Entry[]> {
  const res = await call(`/audit${query}`, { token });
  expect(res.status, res.text).toBe(200);
  return res.json.entries;
}

const systemAdmin = () => signToken({ is_system_admin: true, permissions: [], sub: "sa-1", role: "platform_ops" });

describe("entries of the actions", () => {
  it("provider.connected and provider.disconnected, with the actor and the request id; a 404 or a refused body writes none; no secret in them", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const sub = "admin-7";
    const admin = await signToken({
      sub,
      tenant_id: tenant,
      role: "tenant_admin",
      permissions: ["manage:operations:tenant"],
    });
    const secret = newTwilioToken();
    const put = await call("/providers/twilio", {
      method: "PUT",
      token: admin,
      body: { auth_token: secret },
      headers: { "x-request-id": "req-connect-1" },
    });
    expect(put.status).toBe(200);
    expect(
      (await call("/providers/twilio", { method: "PUT", token: admin, body: { auth_token: "short" } })).status,
    ).toBe(400);
    expect((await call("/providers/sendgrid", { method: "DELETE", token: admin })).status).toBe(404);
    const del = await call("/providers/twilio", {
      method: "DELETE",
      token: admin,
      headers: { "x-request-id": "req-del-1" },
    });
    expect(del.status).toBe(200);

    const list = await entries(await who.admin());
    expect(list.map((e) => e.action)).toEqual(["provider.disconnected", "provider.connected"]);
    expect(list[1]).toMatchObject({
      actor: { sub, role: "tenant_admin", is_system_admin: false },
      target: { kind: "provider", id: "twilio" },
      details: {},
      request_id: "req-connect-1",
    });
    expect(list[0]).toMatchObject({ request_id: "req-del-1", target: { kind: "provider", id: "twilio" } });
    expect(JSON.stringify(list)).not.toContain(secret);
  });

  it("export.downloaded: the filters and the number of rows once the transfer ends, never an address or the words searched", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    for (let i = 0; i < 3; i++) {
      const made = await call("", {
        method: "POST",
        token: admin,
        body: communicationBody({
          content: "Erbil depot closure",
          communication_details: { recipient: { phone: "+9647501234567" } },
        }),
      });
      expect(made.status).toBe(201);
    }
    const res = await call("/export?format=csv&type=sms&address=%2B9647501234567&q=erbil", {
      token: admin,
      headers: { "x-request-id": "req-export-1" },
    });
    expect(res.status).toBe(200);
    // Written when the stream ends, after the answer: wait for it.
    const list = await vi.waitFor(async () => {
      const found = await entries(admin, "?action=export.downloaded");
      expect(found).toHaveLength(1);
      return found;
    });
    expect(list[0]).toMatchObject({
      actor: { is_system_admin: false },
      target: { kind: "export", id: "req-export-1" },
      details: {
        format: "csv",
        filters: { format: "csv", type: "sms" },
        address: true,
        q: true,
        rows: 3,
        complete: true,
      },
      request_id: "req-export-1",
    });
    expect(JSON.stringify(list)).not.toMatch(/9647501234567|erbil/i);
  });

  it("tenant.move_started and tenant.move_finished name the system administrator, reach the tenant's audit log and move with it", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    await connect(await who.admin(), "twilio", { auth_token: newTwilioToken() });
    const from = (await shardOf(tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;
    await using introspector = await introspectWorkflow(env.TENANT_MOVE);
    await introspector.modifyAll(async (m) => {
      await m.disableSleeps();
    });
    const sa = await systemAdmin();
    const started = await call(`/admin/tenants/${tenant}/move`, {
      method: "POST",
      token: sa,
      body: { to },
      headers: { "x-request-id": "req-move-1" },
    });
    expect(started.status).toBe(202);
    await (await introspector.get())[0]?.waitForStatus("complete");
    forgetCachedPlacements();

    const list = await entries(await who.admin());
    expect(list.map((e) => e.action)).toEqual(["tenant.move_finished", "tenant.move_started", "provider.connected"]);
    const actor = { sub: "sa-1", role: "platform_ops", is_system_admin: true };
    expect(list[1]).toMatchObject({
      actor,
      target: { kind: "move", id: started.json.move.id },
      details: { from, to },
      request_id: "req-move-1",
    });
    expect(list[0]).toMatchObject({
      actor,
      target: { kind: "move", id: started.json.move.id },
      details: { status: "done", from, to },
      request_id: "req-move-1",
    });
    // Entries carry the time of the action, not of their delivery.
    const lag = Date.parse(list[1]?.created_at ?? "") - Date.parse(started.json.move.created_at);
    expect(Math.abs(lag)).toBeLessThan(1000);
    // On the tenant's new shard only; nothing left in the directory's outbox.
    const n = async (db: D1Database) =>
      (await db.prepare("SELECT count(*) AS n FROM audit_log WHERE tenant_id = ?").bind(tenant).first<{ n: number }>())
        ?.n;
    expect(await n(shardBinding(env, to))).toBe(3);
    expect(await n(shardBinding(env, from))).toBe(0);
    const outbox = await env.DIRECTORY.prepare("SELECT count(*) AS n FROM audit_outbox WHERE tenant_id = ?")
      .bind(tenant)
      .first<{ n: number }>();
    expect(outbox?.n).toBe(0);
  });

  it("a move that fails still finishes in the audit log, with its status, on the shard the tenant stayed on", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const tenant = newTenant();
    await placeTenant(tenant);
    const from = (await shardOf(tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;
    await using introspector = await introspectWorkflow(env.TENANT_MOVE);
    await introspector.modifyAll(async (m) => {
      await m.disableSleeps();
      await m.disableRetryDelays();
      await m.mockStepError({ name: "count communications" }, new Error(`D1 unreachable (${EXPECTED_BY_TEST})`));
    });
    const started = await call(`/admin/tenants/${tenant}/move`, {
      method: "POST",
      token: await systemAdmin(),
      body: { to },
    });
    await (await introspector.get())[0]?.waitForStatus("complete");
    forgetCachedPlacements();
    const list = await entries(await callers(tenant).admin());
    expect(list.map((e) => [e.action, e.details.status])).toEqual([
      ["tenant.move_finished", "failed"],
      ["tenant.move_started", undefined],
    ]);
    expect(list[0]?.target.id).toBe(started.json.move.id);
  });

  it("an action and its entry are one batch: an entry that cannot be written takes its action with it", async () => {
    const tenant = newTenant();
    const db = createDb(await placeTenant(tenant), "first-primary", newDbStats());
    // An entry the table refuses (details must be a JSON object): the connection must not be stored either.
    const { statement } = auditInsert(
      db,
      tenant,
      { action: "provider.connected", actor: SYSTEM_ACTOR, target: { kind: "provider", id: "twilio" }, requestId: "r" },
      { details: sql`json_array(1)` },
    );
    await expect(new ProviderConnectionStore(db, tenant).put("twilio", "sealed", statement)).rejects.toThrow();
    expect(await new ProviderConnectionStore(db, tenant).get("twilio")).toBeUndefined();
  });
});

describe("GET /audit", () => {
  async function seeded() {
    const tenant = newTenant();
    const who = callers(tenant);
    const a = await signToken({
      sub: "alice",
      tenant_id: tenant,
      role: "tenant_admin",
      permissions: ["manage:operations:tenant"],
    });
    const b = await signToken({
      sub: "bob",
      tenant_id: tenant,
      role: "ops",
      permissions: ["manage:operations:tenant"],
    });
    const times: string[] = [];
    for (const [token, days] of [
      [a, 1],
      [b, 2],
      [a, 3],
      [b, null],
      [a, 5],
    ] as const) {
      const res = await call("/settings", { method: "PUT", token, body: { redact_after_days: days } });
      expect(res.status).toBe(200);
      times.push(res.json.settings.updated_at);
      await new Promise((r) => setTimeout(r, 5));
    }
    await connect(a, "twilio", { auth_token: newTwilioToken() });
    return { tenant, who, times };
  }

  it("newest first, with cursor pages that return every entry once", async () => {
    const { who } = await seeded();
    const admin = await who.admin();
    const all = await entries(admin, "?limit=100");
    expect(all).toHaveLength(6);
    expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort().reverse());
    const walked: string[] = [];
    let cursor: string | null = null;
    do {
      const res: Awaited<ReturnType<typeof call>> = await call(`/audit?limit=2${cursor ? `&cursor=${cursor}` : ""}`, {
        token: admin,
      });
      expect(res.json.entries.length).toBeLessThanOrEqual(2);
      walked.push(...res.json.entries.map((e: Entry) => e.id));
      cursor = res.json.next_cursor;
    } while (cursor);
    expect(walked).toEqual(all.map((e) => e.id));
  });

  it("filters by action, actor and time, combined", async () => {
    const { who, times } = await seeded();
    const admin = await who.admin();
    expect((await entries(admin, "?action=provider.connected")).map((e) => e.actor.sub)).toEqual(["alice"]);
    expect((await entries(admin, "?actor=bob")).map((e) => e.details.redact_after_days)).toEqual([null, 2]);
    expect(
      (await entries(admin, "?actor=alice&action=settings.updated")).map((e) => e.details.redact_after_days),
    ).toEqual([5, 3, 1]);
    // The entries' own times: from the second change, before the fifth.
    const changes = (await entries(admin, "?action=settings.updated")).reverse();
    expect(changes.every((e, i) => e.created_at <= (times[i] ?? ""))).toBe(true);
    const window = await entries(
      admin,
      `?action=settings.updated&created_after=${changes[1]?.created_at}&created_before=${changes[4]?.created_at}`,
    );
    expect(window.map((e) => e.details.redact_after_days)).toEqual([null, 3, 2]);
    expect(await entries(admin, "?actor=nobody")).toEqual([]);
  });

  it("refuses bad filters with a 400 naming the field", async () => {
    const admin = await callers(newTenant()).admin();
    for (const [query, field] of [
      ["?action=provider.hacked", "action"],
      ["?created_after=yesterday", "created_after"],
      ["?limit=101", "limit"],
      ["?cursor=nope", "cursor"],
      [`?actor=${"x".repeat(256)}`, "actor"],
    ]) {
      const res = await call(`/audit${query}`, { token: admin });
      expect(res.status, query).toBe(400);
      expect(res.json.errors[0].field).toBe(field);
    }
  });

  it("viewer, driver and customer get 403; another tenant's entries are never visible; a system administrator names the tenant", async () => {
    const { tenant, who } = await seeded();
    for (const token of [await who.viewer(), await who.driver(), await who.customer()]) {
      expect((await call("/audit", { token })).status).toBe(403);
    }
    const stranger = await callers(newTenant()).admin();
    expect(await entries(stranger)).toEqual([]);
    expect((await call(`/audit?tenant_id=${tenant}`, { token: stranger })).status).toBe(403);
    const sa = await systemAdmin();
    expect((await call("/audit", { token: sa })).status).toBe(400);
    expect(await entries(sa, `?tenant_id=${tenant}`)).toHaveLength(6);
    const fa = await call("/audit?language=fa", { token: await who.admin() });
    expect(fa.json.message).toBe("گزارش ممیزی با موفقیت دریافت شد");
  });

  it("no route changes or deletes an entry, and the database refuses it too (a move's own cleanup excepted)", async () => {
    const { tenant, who } = await seeded();
    const admin = await who.admin();
    const [first] = await entries(admin);
    for (const method of ["PUT", "PATCH", "DELETE", "POST"]) {
      const res = await call("/audit", { method, token: admin, body: {} });
      // 405 (PATCH is the communications' PATCH /{id}, and "audit" is no id: 400).
      expect(res.status, method).toBe(method === "PATCH" ? 400 : 405);
    }
    const db = shardBinding(env, (await shardOf(tenant)) as string);
    await expect(
      db.prepare("UPDATE audit_log SET details = '{}' WHERE tenant_id = ? AND id = ?").bind(tenant, first?.id).run(),
    ).rejects.toThrow(/audit_log_immutable/);
    await expect(
      db.prepare("DELETE FROM audit_log WHERE tenant_id = ? AND id = ?").bind(tenant, first?.id).run(),
    ).rejects.toThrow(/audit_log_immutable/);
    // Past 400 days an entry may go (a purge may be added; none runs today).
    const old = crypto.randomUUID();
    await db
      .prepare(
        `INSERT INTO audit_log (tenant_id, id, action, actor_sub, actor_role, actor_is_system_admin, target_kind, target_id, details, request_id, created_at)
         VALUES (?, ?, 'settings.updated', 'x', NULL, 0, 'settings', ?, '{}', 'r', '2024-01-01T00:00:00.000Z')`,
      )
      .bind(tenant, old, tenant)
      .run();
    await db.prepare("DELETE FROM audit_log WHERE tenant_id = ? AND id = ?").bind(tenant, old).run();
    expect(await entries(admin)).toHaveLength(6);
  });

  it("entries never hold content, addresses or secrets", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const secret = newTwilioToken();
    await connect(admin, "twilio", { auth_token: secret });
    const created = await call("", {
      method: "POST",
      token: admin,
      body: communicationBody({
        content: "Top secret content",
        communication_details: { recipient: { phone: "+9647509999999", email: "zed@example.com" } },
      }),
    });
    await call(`/${created.json.communication.id}/redact`, { method: "POST", token: admin });
    await call("/settings", { method: "PUT", token: admin, body: { redact_after_days: 30 } });
    const text = (await call("/audit", { token: admin })).text;
    for (const personal of [secret, "Top secret content", "+9647509999999", "zed@example.com"]) {
      expect(text).not.toContain(personal);
    }
  });
});
