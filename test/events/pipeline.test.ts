/**
 * The one event pipeline (src/events): every committed change publishes its
 * event, once, with the communication as the API returns it after the
 * change; nothing that was not committed publishes anything. A recording
 * sink is added to SINKS for the length of each test.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type ChangeEvent, EVENT_ID } from "../../src/events/event";
import { SINKS, type Sink } from "../../src/events/publish";
import worker from "../../src/index";
import { fromStandard, fromTwilio, type WebhookMessage } from "../../src/webhooks/events";
import { call, callers, communicationBody, newTenant } from "../support/helpers";

let seen: ChangeEvent[] = [];
const recorder: Sink = {
  name: "test",
  async send(_env, events) {
    seen.push(...events);
  },
};

beforeEach(() => {
  seen = [];
  SINKS.push(recorder);
});
afterEach(() => {
  SINKS.splice(SINKS.indexOf(recorder), 1);
});

/** Sinks run after the response (waitUntil): wait until `n` events arrived, then a moment for strays. */
async function published(n: number) {
  await vi.waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(n));
  await new Promise((r) => setTimeout(r, 50));
  return seen;
}

async function consume(messages: WebhookMessage[]) {
  const batch = createMessageBatch<WebhookMessage>(
    "customer-communications-webhooks",
    messages.map((body, i) => ({ id: `m${i}`, timestamp: Date.now(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

describe("events of the API's changes", () => {
  it("a create publishes communication.created with the communication as returned; a replay publishes nothing", async () => {
    const admin = await callers(newTenant()).admin();
    const body = communicationBody();
    const headers = { "idempotency-key": `k-${crypto.randomUUID()}` };
    const created = await call("", { method: "POST", token: admin, body, headers });
    expect(created.status).toBe(201);
    const [event, ...rest] = await published(1);
    expect(rest).toEqual([]);
    expect(event?.id).toMatch(EVENT_ID);
    expect(event).toMatchObject({
      type: "communication.created",
      timestamp: created.json.communication.created_at,
      data: { communication: created.json.communication },
    });
    expect(event?.data.previous_status).toBeUndefined();

    seen = [];
    const replay = await call("", { method: "POST", token: admin, body, headers });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    const conflict = await call("", { method: "POST", token: admin, body: { ...body, content: "x" }, headers });
    expect(conflict.status).toBe(409);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual([]);
  });

  it("a PATCH that changes the status publishes status_changed with the previous status; one that changes nothing publishes nothing", async () => {
    const admin = await callers(newTenant()).admin();
    const { json } = await call("", { method: "POST", token: admin, body: communicationBody() });
    await published(1);
    seen = [];
    const at = new Date().toISOString();
    const patched = await call(`/${json.communication.id}`, {
      method: "PATCH",
      token: admin,
      body: { status: "delivered", occurred_at: at },
    });
    const [event, ...rest] = await published(1);
    expect(rest).toEqual([]);
    expect(event).toMatchObject({
      type: "communication.status_changed",
      timestamp: patched.json.communication.updated_at,
      data: { communication: patched.json.communication, previous_status: "sent" },
    });

    seen = [];
    const again = await call(`/${json.communication.id}`, {
      method: "PATCH",
      token: admin,
      body: { status: "delivered", occurred_at: at },
    });
    expect(again.status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual([]);
  });

  it("two events of one communication have distinct ids, in the order they were made", async () => {
    const admin = await callers(newTenant()).admin();
    const { json } = await call("", { method: "POST", token: admin, body: communicationBody() });
    await call(`/${json.communication.id}`, {
      method: "PATCH",
      token: admin,
      body: { status: "read", occurred_at: new Date().toISOString() },
    });
    const [a, b] = await published(2);
    expect(a?.id).not.toBe(b?.id);
    expect([a?.type, b?.type]).toEqual(["communication.created", "communication.status_changed"]);
    expect((a?.id ?? "") < (b?.id ?? "")).toBe(true);
  });
});

describe("events of the providers' changes (the queue consumer)", () => {
  it("an inbound message publishes created; a status callback status_changed; a redelivery nothing", async () => {
    const tenant = newTenant();
    const sid = `SM${crypto.randomUUID().replaceAll("-", "")}`;
    const now = Date.now();
    const inbound = fromTwilio(tenant, { MessageSid: sid, From: "+15550000001", To: "+15551234567", Body: "hi" }, now);
    expect((await consume(inbound)).retryMessages).toEqual([]);
    const [created] = await published(1);
    expect(created).toMatchObject({
      type: "communication.created",
      data: { communication: { tenant_id: tenant, direction: "inbound", provider_message_id: sid, content: "hi" } },
    });

    seen = [];
    await consume(inbound);
    const status = fromStandard(tenant, `msg_${crypto.randomUUID()}`, {
      type: "communication.status",
      data: { communication_id: created?.data.communication.id, status: "read", occurred_at: new Date().toISOString() },
    });
    await consume(status);
    const [changed, ...rest] = await published(1);
    expect(rest).toEqual([]);
    expect(changed).toMatchObject({
      type: "communication.status_changed",
      data: { previous_status: "delivered", communication: { id: created?.data.communication.id, status: "read" } },
    });
    seen = [];
    await consume(status);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual([]);
  });

  it("a status event kept before its create is adopted: created from the route, then status_changed from the drain", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const sid = `SM${crypto.randomUUID().replaceAll("-", "")}`;
    await consume(fromTwilio(tenant, { MessageSid: sid, MessageStatus: "delivered" }, Date.now()));
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([]);

    const created = await call("", {
      method: "POST",
      token: admin,
      body: communicationBody({ provider: "twilio", provider_message_id: sid }),
    });
    expect(created.status).toBe(201);
    await published(1);
    // The create queued a drain (WEBHOOK_EVENTS); the test applies it as the consumer would.
    await consume([{ kind: "drain", tenant_id: tenant, provider: "twilio", provider_message_id: sid }]);
    const events = await published(2);
    expect(events.map((e) => e.type)).toEqual(["communication.created", "communication.status_changed"]);
    expect(events[1]?.data).toMatchObject({ previous_status: "sent", communication: { status: "delivered" } });
  });
});

describe("a failing sink", () => {
  it("is logged without the event's content and never changes the answer", async () => {
    const failing: Sink = {
      name: "failing",
      async send() {
        throw new Error("secret content must not be logged");
      },
    };
    SINKS.push(failing);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    try {
      const admin = await callers(newTenant()).admin();
      const res = await call("", { method: "POST", token: admin, body: communicationBody() });
      expect(res.status).toBe(201);
      await published(1);
      await vi.waitFor(() => expect(warn).toHaveBeenCalled());
      const line = JSON.parse(String(warn.mock.calls[0]?.[0]));
      expect(line).toMatchObject({
        level: "warn",
        msg: "event sink failed",
        sink: "failing",
        events: 1,
        error: "Error",
      });
      expect(JSON.stringify(line)).not.toContain("secret");
    } finally {
      SINKS.splice(SINKS.indexOf(failing), 1);
      warn.mockRestore();
    }
  });
});
