/**
 * Hono's RPC client, typed by the app itself (`hc<App>`): this file is the
 * proof that the exported `App` type carries every route, its inputs and its
 * JSON outputs. `tsc` (npm run typecheck) checks the types, including the
 * `@ts-expect-error` lines that must stay errors; vitest runs the calls
 * through the Worker, and every response is checked against the OpenAPI
 * document as `call()` does.
 */
import { env, introspectWorkflow } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { hc } from "hono/client";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { App } from "../../src/app";
import { callers, newTenant } from "../support/helpers";
import { assertConforms } from "../support/openapi-contract";

/** Sends through the Worker's fetch and checks each response against the document. */
const workerFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  const res = await exports.default.fetch(request);
  const text = await res.clone().text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  assertConforms({ method: request.method, url: request.url, status: res.status, headers: res.headers, text, json });
  return res;
};

const clientFor = (token: string) =>
  hc<App>("http://api.test", { fetch: workerFetch, headers: { authorization: `Bearer ${token}` } });

describe("hc<App>", () => {
  it("creates, lists, reads, updates and lists events with typed calls", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const api = clientFor(await who.admin()).delivery["customer-communications"];

    const created = await api.$post({
      query: { language: "en" },
      header: { "idempotency-key": crypto.randomUUID() },
      json: { customer_id: who.customerId, type: "sms", content: "Your delivery is on its way" },
    });
    expect(created.status).toBe(201);
    if (created.status !== 201) throw new Error("unreachable");
    const { communication } = await created.json();
    expectTypeOf(communication.id).toEqualTypeOf<string>();
    expectTypeOf(communication.type).toEqualTypeOf<"sms" | "email" | "push_notification" | "call">();
    expectTypeOf(communication.delivery_id).toEqualTypeOf<string | null>();
    expect(communication).toMatchObject({ type: "sms", direction: "outbound", status: "sent" });

    const listed = await api.$get({ query: { limit: "10", type: "sms" } });
    expect(listed.status).toBe(200);
    if (listed.status !== 200) throw new Error("unreachable");
    const page = await listed.json();
    expectTypeOf(page.total).toEqualTypeOf<number>();
    expectTypeOf(page.next_cursor).toEqualTypeOf<string | null>();
    expect(page.communications.map((c) => c.id)).toEqual([communication.id]);

    const one = await api[":id"].$get({ param: { id: communication.id }, query: {} });
    expect(one.status).toBe(200);

    const updated = await api[":id"].$patch({
      param: { id: communication.id },
      query: {},
      json: { status: "delivered", occurred_at: new Date().toISOString() },
    });
    expect(updated.status).toBe(200);
    if (updated.status !== 200) throw new Error("unreachable");
    expect((await updated.json()).communication.status).toBe("delivered");

    const events = await api[":id"].events.$get({ param: { id: communication.id }, query: {} });
    expect(events.status).toBe(200);
    if (events.status !== 200) throw new Error("unreachable");
    expect((await events.json()).events.map((e) => e.status)).toEqual(["delivered"]);
  });

  it("sees the subscription routes (events out, issue 18)", async () => {
    const api = clientFor(await callers(newTenant()).admin()).delivery["customer-communications"].subscriptions;
    const created = await api.$post({
      query: {},
      json: { url: "https://crm.example.com/hooks", events: ["communication.created"] },
    });
    expect(created.status).toBe(201);
    if (created.status !== 201) throw new Error("unreachable");
    const { subscription } = await created.json();
    expectTypeOf(subscription.secret).toEqualTypeOf<string>();
    expectTypeOf(subscription.status).toEqualTypeOf<"active" | "paused" | "disabled">();
    const one = await api[":id"].$get({ param: { id: subscription.id }, query: {} });
    expect(one.status).toBe(200);
    if (one.status !== 200) throw new Error("unreachable");
    expect((await one.json()).subscription.delivery_counts).toEqual({ succeeded: 0, failed: 0, pending: 0 });
    const log = await api[":id"].deliveries.$get({ param: { id: subscription.id }, query: { status: "failed" } });
    expect(log.status).toBe(200);
    const paused = await api[":id"].$patch({ param: { id: subscription.id }, query: {}, json: { status: "paused" } });
    expect(paused.status).toBe(200);
    // @ts-expect-error "disabled" is set by the service, not by a client
    void api[":id"].$patch({ param: { id: subscription.id }, query: {}, json: { status: "disabled" } });
  });

  it("searches by address and q, and exports, with typed calls (issue 20)", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const api = clientFor(await who.admin()).delivery["customer-communications"];
    const created = await api.$post({
      query: {},
      header: {},
      json: {
        customer_id: who.customerId,
        type: "sms",
        content: "Erbil depot closure: deliveries resume Monday",
        communication_details: { recipient: { phone: "+964 750 123 4567" } },
      },
    });
    expect(created.status).toBe(201);

    const found = await api.$get({ query: { address: "+964 (750) 123-4567", q: "deliv* erbil", limit: "5" } });
    expect(found.status).toBe(200);
    if (found.status !== 200) throw new Error("unreachable");
    const page = await found.json();
    expectTypeOf(page.total_relation).toEqualTypeOf<"eq" | "gte">();
    expect(page.communications).toHaveLength(1);

    const exported = await api.export.$get({ query: { format: "csv", q: "closure" } });
    expect(exported.status).toBe(200);
    expect(exported.headers.get("content-disposition")).toContain(`communications-${tenant}-`);
    expect((await exported.text()).split("\r\n").filter(Boolean)).toHaveLength(2);
  });

  it("privacy routes (issue 21): settings, redaction, erasures and the audit log, typed", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const api = clientFor(await who.admin()).delivery["customer-communications"];
    const created = await api.$post({
      query: {},
      header: {},
      json: { customer_id: who.customerId, type: "sms", content: "Your code is 4711" },
    });
    if (created.status !== 201) throw new Error("unreachable");
    const { communication } = await created.json();

    const settings = await api.settings.$put({ query: {}, json: { redact_after_days: 30 } });
    if (settings.status !== 200) throw new Error(`settings: ${settings.status}`);
    expectTypeOf((await settings.json()).settings.redact_after_days).toEqualTypeOf<number | null>();

    const redacted = await api[":id"].redact.$post({ param: { id: communication.id }, query: {} });
    if (redacted.status !== 200) throw new Error(`redact: ${redacted.status}`);
    const after = (await redacted.json()).communication;
    expectTypeOf(after.redacted_at).toEqualTypeOf<string | null>();
    expect(after.content).toBeNull();

    await using introspector = await introspectWorkflow(env.ERASURE);
    const erasure = await api.erasures.$post({ query: {}, json: { customer_id: who.customerId, reference: "T-1" } });
    if (erasure.status !== 202) throw new Error(`erasure: ${erasure.status}`);
    await (await introspector.get())[0]?.waitForStatus("complete");
    const { erasure: started } = await erasure.json();
    expectTypeOf(started.status).toEqualTypeOf<"pending" | "running" | "done" | "failed">();
    const one = await api.erasures[":id"].$get({ param: { id: started.id }, query: {} });
    expect(one.status).toBe(200);

    const audit = await api.audit.$get({ query: { action: "settings.updated" } });
    if (audit.status !== 200) throw new Error(`audit: ${audit.status}`);
    const { entries } = await audit.json();
    expectTypeOf(entries[0]?.actor.is_system_admin).toEqualTypeOf<boolean | undefined>();
    expect(entries.map((e) => e.action)).toEqual(["settings.updated"]);
  });

  it("rejects wrong inputs at compile time", () => {
    const api = hc<App>("http://api.test").delivery["customer-communications"];
    const wrongCalls = () => {
      // @ts-expect-error "fax" is not a communication type
      void api.$post({ query: {}, header: {}, json: { customer_id: "x", type: "fax" } });
      // @ts-expect-error customer_id is required
      void api.$post({ query: {}, header: {}, json: { type: "sms" } });
      // @ts-expect-error occurred_at is required
      void api[":id"].$patch({ param: { id: "x" }, query: {}, json: { status: "read" } });
      // @ts-expect-error "bounced" is not a status
      void api.$get({ query: { status: "bounced" } });
      // @ts-expect-error there is no DELETE route
      void api.$delete;
      // @ts-expect-error "xlsx" is not an export format
      void api.export.$get({ query: { format: "xlsx" } });
      // @ts-expect-error redact_after_days is a number or null
      void api.settings.$put({ query: {}, json: { redact_after_days: "30" } });
      // @ts-expect-error "provider.hacked" is not an audited action
      void api.audit.$get({ query: { action: "provider.hacked" } });
      // @ts-expect-error the audit log cannot be changed
      void api.audit.$delete;
    };
    expect(typeof wrongCalls).toBe("function");
  });

  it("reads the typed error envelope", async () => {
    const who = callers(newTenant());
    const api = clientFor(await who.driver()).delivery["customer-communications"];
    const res = await api.$get({ query: {} });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { success: boolean; message: string };
    expect(body).toMatchObject({ success: false, message: "Insufficient permissions" });
  });
});
