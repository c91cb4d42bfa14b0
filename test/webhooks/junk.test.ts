/**
 * What an unverified call can make the service do (issue 16, item 1): a
 * webhook call for a tenant the directory does not know is refused without
 * placing it, and without any D1 write; it costs at most one indexed read of
 * the directory, none when the same unknown tenant was looked up lately in
 * the isolate. The figures printed here are docs/security.md's.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { forgetCachedPlacements } from "../../src/shards/directory";
import { callers, callMeasured, newTenant, shardOf, signToken } from "../support/helpers";
import { connect, newStandardSecret, standardRequest, webhookUrl } from "../support/webhook-helpers";

beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
});

const directoryTenants = async () =>
  (await env.DIRECTORY.prepare("SELECT count(*) AS n FROM tenants").first<{ n: number }>())?.n ?? 0;

/** A call with every signature header present (so the connection is looked up) but nothing valid. */
function junk(provider: string): { method: string; rawBody: string; headers: Record<string, string> } {
  const headers: Record<string, Record<string, string>> = {
    twilio: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "bm9wZQ==" },
    sendgrid: {
      "content-type": "application/json",
      "x-twilio-email-event-webhook-signature": "bm9wZQ==",
      "x-twilio-email-event-webhook-timestamp": String(Math.floor(Date.now() / 1000)),
    },
    standard: {
      "content-type": "application/json",
      "webhook-id": `msg_${crypto.randomUUID()}`,
      "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
      "webhook-signature": "v1,bm9wZQ==",
    },
  };
  const rawBody = provider === "twilio" ? "MessageSid=SM1&MessageStatus=delivered" : "[]";
  return { method: "POST", rawBody, headers: headers[provider] as Record<string, string> };
}

describe("an unverified webhook call", () => {
  it("for tenants the directory does not know: 403, no tenant placed, no D1 write, at most one read", async () => {
    forgetCachedPlacements();
    const before = await directoryTenants();
    const providers = ["standard", "twilio", "sendgrid"];
    const calls = 60;
    let read = 0;
    let written = 0;
    let queries = 0;
    for (let i = 0; i < calls; i++) {
      const tenant = newTenant();
      const res = await callMeasured(webhookUrl(providers[i % 3] as string, tenant), junk(providers[i % 3] as string));
      expect(res.status).toBe(403);
      expect(res.json).toEqual({ success: false, message: "Webhook signature verification failed" });
      expect(res.d1.written, "rows written").toBe(0);
      expect(res.d1.queries, "queries").toBeLessThanOrEqual(1);
      expect(res.d1.read, "rows read").toBeLessThanOrEqual(1);
      read += res.d1.read;
      written += res.d1.written;
      queries += res.d1.queries;
      expect(await shardOf(tenant)).toBeUndefined();
    }
    expect(await directoryTenants()).toBe(before);
    console.info(
      `junk webhook calls at ${calls} unknown tenants: ${queries} D1 queries, ${read} rows read, ${written} rows written (per call: ${(queries / calls).toFixed(2)} queries, ${(read / calls).toFixed(2)} rows read, 0 written)`,
    );

    // The admin overview agrees: no tenant was added.
    const shards = await callMeasured("/admin/shards?limit=100", {
      token: await signToken({ is_system_admin: true, permissions: [] }),
    });
    expect(shards.status).toBe(200);
  });

  it("repeated at one unknown tenant: the absence is cached, later calls read nothing", async () => {
    forgetCachedPlacements();
    const tenant = newTenant();
    const first = await callMeasured(webhookUrl("standard", tenant), junk("standard"));
    expect(first.status).toBe(403);
    expect(first.d1.queries).toBe(1);
    for (let i = 0; i < 20; i++) {
      const again = await callMeasured(webhookUrl("standard", tenant), junk("standard"));
      expect(again.status).toBe(403);
      expect(again.d1).toEqual({ queries: 0, read: 0, written: 0 });
    }
    expect(await shardOf(tenant)).toBeUndefined();
  });

  it("at a real tenant: refused with no D1 write; a verified call still goes through", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const secret = newStandardSecret();
    await connect(admin, "standard", { secret });
    forgetCachedPlacements();
    const before = await directoryTenants();
    const bad = await callMeasured(webhookUrl("standard", tenant), junk("standard"));
    expect(bad.status).toBe(403);
    expect(bad.d1.written).toBe(0);
    // Its directory entry and its connection, then both cached for a minute.
    expect(bad.d1.read).toBeLessThanOrEqual(2);
    const again = await callMeasured(webhookUrl("standard", tenant), junk("standard"));
    expect(again.d1).toEqual({ queries: 0, read: 0, written: 0 });
    console.info(`junk at a real tenant: ${bad.d1.queries} queries, ${bad.d1.read} rows read, then none`);
    const good = await callMeasured(
      webhookUrl("standard", tenant),
      standardRequest(secret, {
        type: "communication.status",
        data: { provider_message_id: "SMnothing", status: "delivered", occurred_at: new Date().toISOString() },
      }),
    );
    expect(good.status).toBe(200);
    expect(good.d1.written).toBe(0);
    expect(await directoryTenants()).toBe(before);
  });

  it("a tenant placed after its absence was cached is found once this isolate places it", async () => {
    forgetCachedPlacements();
    const tenant = newTenant();
    expect((await callMeasured(webhookUrl("standard", tenant), junk("standard"))).status).toBe(403);
    // Staff connect a provider (placing the tenant) on this isolate: the cached absence is dropped.
    const secret = newStandardSecret();
    await connect(await callers(tenant).admin(), "standard", { secret });
    const res = await callMeasured(
      webhookUrl("standard", tenant),
      standardRequest(secret, {
        type: "communication.status",
        data: { provider_message_id: "SMx", status: "sent", occurred_at: new Date().toISOString() },
      }),
    );
    expect(res.status).toBe(200);
  });
});
