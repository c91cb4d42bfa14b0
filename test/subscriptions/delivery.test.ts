/**
 * Events out, end to end in workerd: a change commits its event with it (the
 * outbox), the queue (the real local queue and this Worker's consumer)
 * delivers it, signed, to receivers served by MSW that verify with the
 * `standardwebhooks` library. OUTBOUND_RETRY_SCHEDULE is "1,1,1" here.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { delay } from "msw";
import { setupServer } from "msw/node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { EVENT_ID } from "../../src/events/event";
import worker from "../../src/index";
import type { EventQueueMessage } from "../../src/subscriptions/messages";
import { fromTwilio } from "../../src/webhooks/events";
import { call, callers, communicationBody, newTenant, runScheduled, tenantShard } from "../support/helpers";
import { ok, receiver, status, subscribe, until, verifies } from "./support";

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterAll(() => server.close());

const create = async (token: string, body = communicationBody()) => {
  const res = await call("", { method: "POST", token, body });
  expect(res.status, res.text).toBe(201);
  return res.json.communication as { id: string; status: string; updated_at: string; created_at: string };
};

const deliveries = async (token: string, id: string, query = "") => {
  const res = await call(`/subscriptions/${id}/deliveries${query}`, { token });
  expect(res.status, res.text).toBe(200);
  return res.json.deliveries as {
    event_id: string;
    status: string;
    attempts: number;
    last_status_code: number | null;
    last_error: string | null;
    last_response: string | null;
    next_attempt_at: string | null;
  }[];
};

describe("a subscription receives the tenant's events, signed", () => {
  it("created and status_changed, with the communication as the API returns it, verified by standardwebhooks", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const r = receiver(server);
    const sub = await subscribe(admin, r.url);
    expect(sub.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);

    const c = await create(admin);
    const patched = await call(`/${c.id}`, {
      method: "PATCH",
      token: admin,
      body: { status: "delivered", occurred_at: new Date().toISOString() },
    });
    expect(patched.status).toBe(200);
    await until(() => expect(r.got).toHaveLength(2));
    const [created, changed] = [...r.got].sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const d of [created, changed]) {
      expect(d?.id).toMatch(EVENT_ID);
      expect(verifies(sub.secret, d as never)).toBe(true);
      expect(d?.headers["content-type"]).toBe("application/json");
      expect(d?.signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    }
    expect(created?.json).toEqual({
      id: created?.id,
      type: "communication.created",
      timestamp: c.created_at,
      data: { communication: c },
    });
    expect(changed?.json).toEqual({
      id: changed?.id,
      type: "communication.status_changed",
      timestamp: patched.json.communication.updated_at,
      data: { communication: patched.json.communication, previous_status: "sent" },
    });
    // The delivery log.
    await until(async () => {
      const log = await deliveries(admin, sub.id);
      expect(log.map((d) => d.status)).toEqual(["succeeded", "succeeded"]);
    });
    const log = await deliveries(admin, sub.id);
    expect(log.map((d) => d.event_id)).toEqual([changed?.id, created?.id]); // newest first
    expect(log[0]).toMatchObject({ attempts: 1, last_status_code: 200, last_response: "ok", next_attempt_at: null });
  });

  it("only the types it asked for; an inbound message from a provider is a created event too", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const onlyChanges = receiver(server);
    const everything = receiver(server);
    await subscribe(admin, onlyChanges.url, ["communication.status_changed"]);
    await subscribe(admin, everything.url, ["communication.created"]);
    const c = await create(admin);
    await call(`/${c.id}`, {
      method: "PATCH",
      token: admin,
      body: { status: "read", occurred_at: new Date().toISOString() },
    });
    // An inbound SMS applied by the webhook consumer (the real queue).
    const sid = `SM${crypto.randomUUID().replaceAll("-", "")}`;
    await env.WEBHOOK_EVENTS.send(
      fromTwilio(tenant, { MessageSid: sid, From: "+15550001", To: "+15550002", Body: "hi" }, Date.now())[0] as never,
      { contentType: "json" },
    );
    await until(() => expect(everything.got).toHaveLength(2));
    await until(() => expect(onlyChanges.got).toHaveLength(1));
    expect(onlyChanges.got[0]?.json.type).toBe("communication.status_changed");
    expect(everything.got.map((g) => g.json.type)).toEqual(["communication.created", "communication.created"]);
    const inbound = everything.got.find((g) => g.json.data.communication.provider_message_id === sid);
    expect(inbound?.json.data.communication).toMatchObject({ direction: "inbound", content: "hi", tenant_id: tenant });
  });

  it("two tenants: each receiver gets its own tenant's events only", async () => {
    const [a, b] = [newTenant(), newTenant()];
    const [adminA, adminB] = [await callers(a).admin(), await callers(b).admin()];
    const [ra, rb] = [receiver(server), receiver(server)];
    await subscribe(adminA, ra.url);
    await subscribe(adminB, rb.url);
    await create(adminA);
    await create(adminA);
    await create(adminB);
    await until(() => {
      expect(ra.got).toHaveLength(2);
      expect(rb.got).toHaveLength(1);
    });
    expect(ra.got.every((g) => g.json.data.communication.tenant_id === a)).toBe(true);
    expect(rb.got.every((g) => g.json.data.communication.tenant_id === b)).toBe(true);
  });
});

describe("secrets", () => {
  it("are never logged: not by the routes, the sink, the consumer or a failed attempt", async () => {
    const spies = (["log", "info", "warn", "error"] as const).map((m) => vi.spyOn(console, m));
    try {
      const admin = await callers(newTenant()).admin();
      const r = receiver(server, (n) => (n === 1 ? status(500, "nope") : ok()));
      const sub = await subscribe(admin, r.url);
      const rotated = (await call(`/subscriptions/${sub.id}/secret`, { method: "POST", token: admin })).json
        .subscription;
      await create(admin);
      await until(() => expect(r.got.length).toBeGreaterThanOrEqual(2));
      const logged = spies.flatMap((s) => s.mock.calls.map((c) => c.map(String).join(" "))).join("\n");
      expect(logged.length).toBeGreaterThan(0);
      for (const secret of [sub.secret, rotated.secret]) {
        expect(logged).not.toContain(secret);
        expect(logged).not.toContain(secret.slice("whsec_".length));
      }
    } finally {
      for (const s of spies) s.mockRestore();
    }
  });
});

describe("retries", () => {
  it("a receiver that fails then recovers gets the same event (same id, same body) until it answers 2xx", async () => {
    const admin = await callers(newTenant()).admin();
    const r = receiver(server, (n) => (n <= 2 ? status(503, "down for maintenance") : ok()));
    const sub = await subscribe(admin, r.url);
    await create(admin);
    await until(() => expect(r.got).toHaveLength(3));
    expect(new Set(r.got.map((g) => g.id)).size).toBe(1);
    expect(new Set(r.got.map((g) => g.body)).size).toBe(1);
    for (const g of r.got) expect(verifies(sub.secret, g)).toBe(true);
    await until(async () => {
      const [d] = await deliveries(admin, sub.id);
      expect(d).toMatchObject({ status: "succeeded", attempts: 3, last_status_code: 200, next_attempt_at: null });
    });
    const detail = await call(`/subscriptions/${sub.id}`, { token: admin });
    expect(detail.json.subscription.delivery_counts).toEqual({ succeeded: 1, failed: 0, pending: 0 });
    expect(detail.json.subscription.last_success_at).not.toBeNull();
    expect(detail.json.subscription.last_failure_at).not.toBeNull();
  });

  it("after the last retry the delivery is failed, keeping the first 256 bytes of the answer; redirects are failures, not followed", async () => {
    const admin = await callers(newTenant()).admin();
    const long = "x".repeat(300);
    const failing = receiver(server, () => status(500, `é${long}`));
    const redirecting = receiver(server, () => new Response(null, { status: 302, headers: { location: failing.url } }));
    const subFailing = await subscribe(admin, failing.url, ["communication.created"]);
    const subRedirect = await subscribe(admin, redirecting.url, ["communication.created"]);
    await create(admin);
    await until(async () => {
      const [d] = await deliveries(admin, subFailing.id);
      expect(d).toMatchObject({ status: "failed", attempts: 4, last_status_code: 500, next_attempt_at: null });
    });
    const [d] = await deliveries(admin, subFailing.id, "?status=failed");
    expect(new TextEncoder().encode(d?.last_response ?? "").length).toBeLessThanOrEqual(256);
    expect(d?.last_response?.startsWith("éxxx")).toBe(true);
    await until(async () => {
      const [x] = await deliveries(admin, subRedirect.id);
      expect(x).toMatchObject({ status: "failed", attempts: 4, last_status_code: 302 });
    });
    // The redirect was never followed: the failing receiver got only its own 4 attempts.
    expect(failing.got).toHaveLength(4);
    expect(await deliveries(admin, subFailing.id, "?status=succeeded,pending")).toEqual([]);
  });

  it("a receiver that takes longer than 15 s times out, and never holds another subscription's delivery", async () => {
    const admin = await callers(newTenant()).admin();
    const slow = receiver(server, async () => {
      await delay(20_000);
      return ok();
    });
    const fast = receiver(server);
    const subSlow = await subscribe(admin, slow.url, ["communication.created"]);
    await subscribe(admin, fast.url, ["communication.created"]);
    const started = Date.now();
    await create(admin);
    await until(() => expect(fast.got).toHaveLength(1));
    await until(() => expect(slow.got).toHaveLength(1));
    // A second event, while the slow receiver still holds its first attempt.
    await create(admin);
    await until(() => expect(fast.got).toHaveLength(2));
    const fastDone = (fast.got[1]?.at ?? 0) - started;
    expect(fastDone).toBeLessThan(12_000);
    // The slow one's first attempt ends as a timeout and is retried.
    await until(async () => {
      const log = await deliveries(admin, subSlow.id);
      const first = log.at(-1);
      expect(first?.attempts).toBeGreaterThanOrEqual(1);
      expect(first?.last_error).toBe("timeout");
    }, 60_000);
    slow.state.behave = () => ok();
    await until(async () => {
      const log = await deliveries(admin, subSlow.id);
      expect(log.map((d) => d.status)).toEqual(["succeeded", "succeeded"]);
    }, 60_000);
  }, 120_000);
});

describe("the queue unavailable at the moment of the change", () => {
  it("the change and its event are committed; the scheduled job sends it later", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const r = receiver(server);
    const sub = await subscribe(admin, r.url);
    const down = {
      send: async () => {
        throw new Error("Queue unavailable");
      },
      sendBatch: async () => {
        throw new Error("Queue unavailable");
      },
    } as unknown as Queue;
    const res = await call("", {
      method: "POST",
      token: admin,
      body: communicationBody(),
      env: { EVENT_DELIVERIES: down },
    });
    expect(res.status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(r.got).toEqual([]);
    const shard = await tenantShard(tenant);
    const row = await shard
      .prepare("SELECT id, dispatched_at FROM subscription_events WHERE tenant_id = ?")
      .bind(tenant)
      .first<{ id: string; dispatched_at: string | null }>();
    expect(row?.dispatched_at).toBeNull();
    // Twenty minutes later (the job leaves events younger than 10 minutes to the queue), the job runs.
    const earlier = (ms: number) => new Date(Date.now() - ms).toISOString();
    await shard.batch([
      shard.prepare("UPDATE subscriptions SET created_at = ? WHERE tenant_id = ?").bind(earlier(30 * 60_000), tenant),
      shard
        .prepare("UPDATE subscription_events SET created_at = ? WHERE tenant_id = ?")
        .bind(earlier(20 * 60_000), tenant),
    ]);
    await runScheduled();
    await until(() => expect(r.got).toHaveLength(1));
    expect(r.got[0]?.id).toBe(row?.id);
    expect(r.got[0]?.json.data.communication.id).toBe(res.json.communication.id);
    expect(verifies(sub.secret, r.got[0] as never)).toBe(true);
    // Sent once: the job marked it; running again sends nothing more.
    await runScheduled();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(r.got).toHaveLength(1);
  });
});

describe("the consumer", () => {
  it("takes a full batch of one tenant's deliveries (90 events: more ids than one D1 statement binds)", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const r = receiver(server);
    const sub = await subscribe(admin, r.url, ["communication.created"]);
    const down = { sendBatch: async () => Promise.reject(new Error("down")) } as unknown as Queue;
    for (let i = 0; i < 90; i++) {
      const res = await call("", {
        method: "POST",
        token: admin,
        body: communicationBody(),
        env: { EVENT_DELIVERIES: down },
      });
      expect(res.status).toBe(201);
    }
    const { results } = await (await tenantShard(tenant))
      .prepare("SELECT id FROM subscription_events WHERE tenant_id = ?")
      .bind(tenant)
      .all<{ id: string }>();
    expect(results).toHaveLength(90);
    const batch = createMessageBatch<EventQueueMessage>(
      "customer-communications-events",
      results.map((e, i) => ({
        id: `m${i}`,
        timestamp: new Date(),
        attempts: 1,
        body: { kind: "deliver", tenant_id: tenant, subscription_id: sub.id, event_id: e.id, generation: 0 },
      })),
    );
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toHaveLength(90);
    expect(new Set(r.got.map((g) => g.id)).size).toBe(90);
    const undispatched = await (await tenantShard(tenant))
      .prepare("SELECT count(*) AS n FROM subscription_events WHERE tenant_id = ? AND dispatched_at IS NULL")
      .bind(tenant)
      .first<{ n: number }>();
    expect(undispatched?.n).toBe(0);
  }, 60_000);
});
