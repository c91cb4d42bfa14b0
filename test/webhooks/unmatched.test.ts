/**
 * GET /providers/unmatched (issue 16, item 7): staff see the provider events
 * kept because they matched no communication yet, newest first, in cursor
 * pages; one info line is logged per event kept.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { fromStandard, fromTwilio, type WebhookMessage } from "../../src/webhooks/events";
import { call, callers, communicationBody, newTenant, seed, signToken } from "../support/helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

async function runQueue(messages: WebhookMessage[]) {
  const batch = createMessageBatch<WebhookMessage>(
    "customer-communications-webhooks",
    messages.map((body, i) => ({ id: `u${i}-${crypto.randomUUID()}`, timestamp: Date.now(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

const sid = () => `SM${crypto.randomUUID().replaceAll("-", "")}`;

describe("provider events that matched nothing", () => {
  it("are listed for staff, newest first, with when they expire; one info line each, none for a redelivery", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    await seed(await who.admin(), [communicationBody()]); // places the tenant
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const sids = [sid(), sid(), sid()];
    const messages = [
      ...fromTwilio(tenant, { MessageSid: sids[0] as string, MessageStatus: "delivered" }, Date.now()),
      ...fromTwilio(tenant, { MessageSid: sids[1] as string, MessageStatus: "undelivered" }, Date.now()),
      ...fromStandard(tenant, "msg_1", {
        type: "communication.status",
        data: { provider_message_id: sids[2] as string, status: "opened-twice", occurred_at: "2026-11-28T14:03:11Z" },
      }),
    ];
    for (const m of messages) expect((await runQueue([m])).retryMessages).toEqual([]);
    expect((await runQueue(messages)).retryMessages).toEqual([]); // redelivered: kept once, logged once
    const kept = log.mock.calls
      .map(([l]) => JSON.parse(String(l)))
      .filter((l) => l.msg === "provider event kept: no communication matches it yet");
    expect(kept).toHaveLength(3);
    expect(kept.every((l) => l.level === "info" && l.tenant_id === tenant)).toBe(true);

    const res = await call("/providers/unmatched", { token: await who.viewer() });
    expect(res.status, res.text).toBe(200);
    expect(res.json.message).toBe("Unmatched provider events retrieved successfully");
    expect(res.json.events.map((e: { provider_message_id: string }) => e.provider_message_id)).toEqual(
      [...sids].reverse(),
    );
    expect(res.json.events[0]).toEqual({
      provider: null,
      provider_message_id: sids[2],
      status: null,
      provider_status: "opened-twice",
      occurred_at: "2026-11-28T14:03:11.000Z",
      received_at: expect.any(String),
      expires_at: expect.any(String),
    });
    expect(res.json.events[1]).toMatchObject({ provider: "twilio", status: "failed", provider_status: "undelivered" });
    const first = res.json.events[0];
    expect(Date.parse(first.expires_at) - Date.parse(first.received_at)).toBe(7 * 24 * 3600 * 1000);
    expect(res.json.next_cursor).toBeNull();
    // Staff with manage:operations:tenant too; rows read stay within the page.
    const managed = await call("/providers/unmatched?language=fa", { token: await who.admin() });
    expect(managed.json.events).toHaveLength(3);
    const timing = managed.headers.get("server-timing") ?? "";
    expect(Number(/(\d+) rows read/.exec(timing)?.[1])).toBeLessThanOrEqual(2 * 4 + 1);

    // Once the communication is created, its event is applied and leaves the list.
    await seed(await who.admin(), [communicationBody({ provider: "twilio", provider_message_id: sids[0] })]);
    await vi.waitFor(
      async () => {
        const after = await call("/providers/unmatched", { token: await who.viewer() });
        expect(after.json.events.map((e: { provider_message_id: string }) => e.provider_message_id)).toEqual([
          sids[2],
          sids[1],
        ]);
      },
      { timeout: 15_000, interval: 200 },
    );
  });

  it("come in cursor pages that return every event once", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    await seed(await who.admin(), [communicationBody()]);
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const sids = Array.from({ length: 7 }, sid);
    expect(
      (
        await runQueue(
          sids.flatMap((s) => fromTwilio(tenant, { MessageSid: s, MessageStatus: "delivered" }, Date.now())),
        )
      ).retryMessages,
    ).toEqual([]);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Awaited<ReturnType<typeof call>> = await call(
        `/providers/unmatched?limit=3${cursor ? `&cursor=${cursor}` : ""}`,
        { token: await who.viewer() },
      );
      expect(res.status, res.text).toBe(200);
      seen.push(...res.json.events.map((e: { provider_message_id: string }) => e.provider_message_id));
      cursor = res.json.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect([...seen].sort()).toEqual([...sids].sort());
    const bad = await call("/providers/unmatched?cursor=bm9wZQ", { token: await who.viewer() });
    expect(bad.status).toBe(400);
    expect(bad.json.errors).toEqual([{ field: "cursor", message: "cursor is invalid" }]);
  });

  it("are for the tenant's staff: customers and other roles 403; a system administrator names the tenant", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    await seed(await who.admin(), [communicationBody()]);
    expect((await call("/providers/unmatched")).status).toBe(401);
    expect((await call("/providers/unmatched", { token: await who.customer() })).status).toBe(403);
    expect((await call("/providers/unmatched", { token: await who.driver() })).status).toBe(403);
    const admin = await signToken({ is_system_admin: true, permissions: [] });
    expect((await call("/providers/unmatched", { token: admin })).status).toBe(400);
    expect((await call(`/providers/unmatched?tenant_id=${tenant}`, { token: admin })).status).toBe(200);
    // Another tenant's staff see their own tenant's, never this one's.
    const other = await call(`/providers/unmatched?tenant_id=${tenant}`, {
      token: await callers(newTenant()).viewer(),
    });
    expect(other.status).toBe(403);
  });
});
