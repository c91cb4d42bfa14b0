/**
 * Redaction (privacy.md, issue 21 item 2): `POST /{id}/redact`, the
 * per-tenant `redact_after_days` setting, and the scheduled job that
 * redacts what is older, in D1 and in archived days. Content goes, the fact
 * that a message was sent stays; totals do not change; twice is once.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { archiveKey } from "../../src/archive/retention";
import { createDb, newDbStats } from "../../src/db/client";
import { UNATTRIBUTED_CUSTOMER } from "../../src/db/schema";
import { redactDue, redactTenant } from "../../src/privacy/redaction";
import { applyMessage } from "../../src/webhooks/consumer";
import { fromTwilio } from "../../src/webhooks/events";
import { call, callers, communicationBody, newTenant, runScheduled, tenantShard } from "../support/helpers";
import { SHAPES } from "./shapes";

beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

const DAY = 86_400_000;
type Who = ReturnType<typeof callers>;

const DETAILS = {
  sender: { user_id: "u-1", system_component: "delivery_notifications", phone: "+15551234567" },
  recipient: { phone: "+9647501234567", email: "Jane@Example.com", name: "Jane" },
  template_id: "delivery-on-way",
  template_variables: { delivery_id: "1234", delivery_window: "2-4pm" },
  attachments: [{ name: "receipt.pdf", type: "application/pdf", url: "https://files.example.com/r.pdf", size: 10 }],
};
const MASKED = {
  sender: { user_id: "u-1", system_component: "delivery_notifications", phone: "+1555*****67" },
  recipient: { phone: "+9647*******67", email: "J***@Example.com", name: "Jane" },
  template_id: "delivery-on-way",
  attachments: [{ name: "receipt.pdf", type: "application/pdf", size: 10 }],
};

async function create(who: Who, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const res = await call("", {
    method: "POST",
    token: await who.admin(),
    headers,
    body: communicationBody({ communication_details: DETAILS, content: "Your code is 4711", ...extra }),
  });
  expect(res.status, res.text).toBe(201);
  return res.json.communication as Record<string, unknown> & { id: string };
}

async function createAt(who: Who, at: number, extra: Record<string, unknown> = {}) {
  vi.useFakeTimers({ toFake: ["Date"], now: at });
  try {
    return await create(who, extra);
  } finally {
    vi.useRealTimers();
  }
}

async function totals(who: Who) {
  const viewer = await who.viewer();
  const out: Record<string, number> = {};
  for (const q of ["", "status=sent", "status=failed", "type=sms", "type=email"]) {
    out[q] = (await call(`?limit=1&${q}`, { token: viewer })).json.total;
  }
  return out;
}

describe("POST /{id}/redact", () => {
  it("nulls content, masks details and the events' provider details, keeps the rest; totals unchanged; a second call changes nothing", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const key = `k-${crypto.randomUUID()}`;
    const created = await create(
      who,
      { provider: "sendgrid", provider_message_id: "sg-1", type: "email" },
      {
        "idempotency-key": key,
      },
    );
    await create(who); // another one, untouched
    const patched = await call(`/${created.id}`, {
      method: "PATCH",
      token: admin,
      body: {
        status: "failed",
        occurred_at: new Date().toISOString(),
        details: { provider: "sendgrid", reason: "550 mailbox jane@example.com unknown", to: "+9647501234567" },
      },
    });
    expect(patched.status).toBe(200);
    const before = await totals(who);

    const res = await call(`/${created.id}/redact`, { method: "POST", token: admin });
    expect(res.status).toBe(200);
    expect(res.json.message).toBe("Customer communication redacted successfully");
    const redacted = res.json.communication;
    expect(redacted).toEqual({
      ...created,
      status: "failed",
      content: null,
      communication_details: MASKED,
      updated_at: redacted.redacted_at,
      redacted_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect((await call(`/${created.id}`, { token: admin })).json.communication).toEqual(redacted);
    const events = (await call(`/${created.id}/events`, { token: admin })).json.events;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      from_status: "sent",
      status: "failed",
      details: { provider: "sendgrid", reason: "550 mailbox j***@example.com unknown", to: "+9647*******67" },
    });
    expect(await totals(who)).toEqual(before);

    // The idempotency record replays the communication as it is now, content gone.
    const replay = await call("", {
      method: "POST",
      token: admin,
      headers: { "idempotency-key": key },
      body: communicationBody({
        ...Object.fromEntries(
          ["customer_id", "delivery_id", "type", "direction", "status"].map((k) => [k, created[k]]),
        ),
        status: "sent",
        content: "Your code is 4711",
        communication_details: DETAILS,
        provider: "sendgrid",
        provider_message_id: "sg-1",
      }),
    });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.json.communication.content).toBeNull();
    expect(replay.json.communication.redacted_at).toBe(redacted.redacted_at);

    // Twice is once.
    const again = await call(`/${created.id}/redact?language=ku`, { method: "POST", token: admin });
    expect(again.status).toBe(200);
    expect(again.json.message).toBe("ناوەڕۆکی پەیوەندیی کڕیار پێشتر شاردراوەتەوە");
    expect(again.json.communication).toEqual(redacted);

    // One audit entry per call: 1 redacted, then 0.
    const audit = await call("/audit?action=communication.redacted", { token: admin });
    expect(audit.json.entries.map((e: { details: unknown }) => e.details)).toEqual([
      { communications: 0 },
      { communications: 1 },
    ]);
    expect(audit.json.entries[0].target).toEqual({ kind: "communication", id: created.id });

    // A later provider event of a redacted message is kept masked too.
    await call(`/${created.id}`, {
      method: "PATCH",
      token: admin,
      body: { status: "read", occurred_at: new Date().toISOString(), details: { note: "opened by jane@example.com" } },
    });
    const later = (await call(`/${created.id}/events`, { token: admin })).json.events;
    expect(JSON.stringify(later)).not.toContain("jane@example.com");
  });

  it("a redacted message is no longer found by q or address (issue 20's index follows the update); totals unchanged", async () => {
    const who = callers(newTenant());
    const viewer = await who.viewer();
    const made = await create(who);
    const other = await create(who, { content: "Your code is 9999" });
    const found = async (query: string) => (await call(query, { token: viewer })).json.total as number;
    expect(await found("?q=code")).toBe(2);
    expect(await found(`?address=${encodeURIComponent("+964 750 123 4567")}`)).toBe(2);
    expect(await found("?address=jane%40example.com")).toBe(2);
    const res = await call(`/${made.id}/redact`, { method: "POST", token: await who.admin() });
    expect(res.status, res.text).toBe(200);
    expect(await found("?q=code")).toBe(1);
    expect(await found("?q=4711")).toBe(0);
    expect(await found(`?address=${encodeURIComponent("+9647501234567")}`)).toBe(1);
    expect(await found("?address=jane%40example.com")).toBe(1);
    const list = await call("", { token: viewer });
    expect(list.json.total).toBe(2);
    expect(list.json.communications.map((x: { id: string }) => x.id).sort()).toEqual([made.id, other.id].sort());
  });

  it("every shape of communication_details the contract allows, through the API: read back as the rules say", async () => {
    const who = callers(newTenant());
    const admin = await who.admin();
    for (const shape of SHAPES) {
      const created = await create(who, { communication_details: shape.details });
      expect(created.communication_details, shape.name).toEqual(shape.details);
      const res = await call(`/${created.id}/redact`, { method: "POST", token: admin });
      expect(res.status, shape.name).toBe(200);
      const read = (await call(`/${created.id}`, { token: admin })).json.communication;
      expect(read.communication_details, shape.name).toEqual(shape.redacted);
      expect(read.content, shape.name).toBeNull();
    }
    expect((await call("?limit=1", { token: await who.viewer() })).json.total).toBe(SHAPES.length);
  });

  it("a redacted message no longer attributes inbound messages from its address", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const created = await create(who);
    await call(`/${created.id}/redact`, { method: "POST", token: await who.admin() });
    const [m] = fromTwilio(
      tenant,
      {
        MessageSid: `SM${crypto.randomUUID().replaceAll("-", "")}`,
        From: "+9647501234567",
        To: "+15551234567",
        Body: "hi",
      },
      Date.now(),
    );
    if (!m) throw new Error("no message");
    await applyMessage(env, m);
    const unattributed = await call(`?customer_id=${UNATTRIBUTED_CUSTOMER}`, { token: await who.viewer() });
    expect(unattributed.json.total).toBe(1);
  });

  it("404 for an unknown id or another tenant's; 403 for viewer, driver and customer", async () => {
    const who = callers(newTenant());
    const created = await create(who);
    expect((await call(`/${crypto.randomUUID()}/redact`, { method: "POST", token: await who.admin() })).status).toBe(
      404,
    );
    const stranger = callers(newTenant());
    expect((await call(`/${created.id}/redact`, { method: "POST", token: await stranger.admin() })).status).toBe(404);
    for (const token of [await who.viewer(), await who.driver(), await who.customer(created.customer_id as string)]) {
      expect((await call(`/${created.id}/redact`, { method: "POST", token })).status).toBe(403);
    }
    expect((await call(`/${created.id}`, { token: await who.admin() })).json.communication.redacted_at).toBeNull();
  });
});

describe("settings", () => {
  it("GET and PUT redact_after_days; each change is audited with the value it replaced", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const initial = await call("/settings", { token: admin });
    expect(initial.json.settings).toEqual({ redact_after_days: null, updated_at: null });
    const put = await call("/settings", { method: "PUT", token: admin, body: { redact_after_days: 90 } });
    expect(put.status).toBe(200);
    expect(put.json.settings.redact_after_days).toBe(90);
    expect((await call("/settings", { token: admin })).json.settings).toEqual(put.json.settings);
    await call("/settings", { method: "PUT", token: admin, body: { redact_after_days: null } });
    expect((await call("/settings", { token: admin })).json.settings.redact_after_days).toBeNull();
    const audit = await call("/audit?action=settings.updated", { token: admin });
    expect(audit.json.entries.map((e: { details: unknown }) => e.details)).toEqual([
      { redact_after_days: null, previous: 90 },
      { redact_after_days: 90, previous: null },
    ]);
    // Another tenant's settings are its own.
    expect(
      (await call("/settings", { token: await callers(newTenant()).admin() })).json.settings.redact_after_days,
    ).toBeNull();
  });

  it.each([
    [{ redact_after_days: 0 }, "redact_after_days", "redact_after_days must be at least 1"],
    [{ redact_after_days: 3651 }, "redact_after_days", "redact_after_days must be at most 3650"],
    [{ redact_after_days: "30" }, "redact_after_days", "redact_after_days has the wrong type"],
    [{ redact_after_days: 1.5 }, "redact_after_days", "redact_after_days has the wrong type"],
    [{}, "redact_after_days", "redact_after_days is required"],
    [{ redact_after_days: 5, retention: 1 }, "retention", "retention is not an accepted field"],
  ])("PUT %j is a 400 naming the field", async (body, field, text) => {
    const res = await call("/settings", { method: "PUT", token: await callers(newTenant()).admin(), body });
    expect(res.status).toBe(400);
    expect(res.json.errors).toContainEqual({ field, message: text });
  });

  it("viewer, driver and customer get 403; a system administrator must name the tenant", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    for (const token of [await who.viewer(), await who.driver(), await who.customer()]) {
      expect((await call("/settings", { token })).status).toBe(403);
      expect((await call("/settings", { method: "PUT", token, body: { redact_after_days: 1 } })).status).toBe(403);
    }
    const sa = await who.systemAdmin();
    expect((await call("/settings", { token: sa })).status).toBe(400);
    const put = await call(`/settings?tenant_id=${tenant}`, {
      method: "PUT",
      token: sa,
      body: { redact_after_days: 7 },
    });
    expect(put.status).toBe(200);
    expect((await call("/settings", { token: await who.admin() })).json.settings.redact_after_days).toBe(7);
  });
});

describe("the scheduled redaction job", () => {
  it("redacts what is older than redact_after_days, once; writes one audit entry per run with its count; totals unchanged", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const now = Date.now();
    const old = [];
    for (let i = 0; i < 3; i++) old.push(await createAt(who, now - 40 * DAY + i * 1000));
    const young = await createAt(who, now - 10 * DAY);
    // Already redacted by the route: skipped, not counted.
    await call(`/${old[1]?.id}/redact`, { method: "POST", token: admin });
    // Without the setting, nothing happens.
    await runScheduled();
    expect((await call(`/${old[0]?.id}`, { token: admin })).json.communication.content).not.toBeNull();

    await call("/settings", { method: "PUT", token: admin, body: { redact_after_days: 30 } });
    const before = await totals(who);
    await runScheduled();
    for (const c of old) {
      const got = (await call(`/${c.id}`, { token: admin })).json.communication;
      expect(got.content).toBeNull();
      expect(got.communication_details).toEqual(MASKED);
      expect(got.redacted_at).toBeTruthy();
    }
    expect((await call(`/${young.id}`, { token: admin })).json.communication).toEqual(young);
    expect(await totals(who)).toEqual(before);
    const entries = async () =>
      (await call("/audit?action=communication.redacted&actor=system:scheduled", { token: admin })).json.entries;
    const first = await entries();
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      actor: { sub: "system:scheduled", role: null, is_system_admin: false },
      target: { kind: "tenant", id: tenant },
      details: { communications: 2, archived_days: 0, redact_after_days: 30 },
    });
    // Idempotent: a second run redacts nothing and writes no entry.
    await runScheduled();
    expect(await entries()).toHaveLength(1);
    // The watermark: the next run reads from where the last one stopped.
    const db = createDb(await tenantShard(tenant), "first-primary", newDbStats());
    const stats = db.stats;
    await redactTenant(env, db, tenant, 30, Date.now());
    expect(stats.rowsRead).toBeLessThan(20);
  });

  it("an archived day holds its communications redacted once they come due", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const now = Date.now();
    const at = Math.floor((now - 20 * DAY) / DAY) * DAY + 3_600_000;
    const a = await createAt(who, at);
    const day = new Date(at).toISOString().slice(0, 10);
    await call("/settings", { method: "PUT", token: admin, body: { redact_after_days: 30 } });
    // Archived at 10 days, before redaction is due (30): the archive keeps the content for now.
    await runScheduled({ ...env, RETENTION_DAYS: "10" });
    const archived = await call(`/archive/${day}`, { token: admin });
    expect(JSON.parse(archived.text.trim()).content).toBe("Your code is 4711");
    // Fifteen days later the day is due: the job redacts it in R2.
    await redactDue(env, now + 15 * DAY);
    const line = JSON.parse((await call(`/archive/${day}`, { token: admin })).text.trim());
    expect(line).toMatchObject({ id: a.id, content: null, communication_details: MASKED });
    expect(line.redacted_at).toBeTruthy();
    const object = await env.ARCHIVE.head(archiveKey(tenant, day));
    expect(object?.customMetadata?.communications).toBe("1");
    const entry = (await call("/audit?actor=system:scheduled", { token: admin })).json.entries[0];
    expect(entry.details).toMatchObject({ archived_days: 1 });
    // A second run leaves it as it is.
    const text = (await call(`/archive/${day}`, { token: admin })).text;
    await redactDue(env, now + 16 * DAY);
    expect((await call(`/archive/${day}`, { token: admin })).text).toBe(text);
  });
});
