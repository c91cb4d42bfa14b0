/**
 * The queue consumer under D1 failure: a batch whose D1 calls fail part way
 * (before D1 sees them, or after D1 applied them and the answer was lost)
 * acknowledges what it applied and retries the rest; redelivering every
 * message of the batch (what a queue may do) loses nothing and doubles
 * nothing. The Worker's own queue() handler is called with createMessageBatch.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { fromTwilio, type WebhookMessage } from "../../src/webhooks/events";
import { call, callers, communicationBody, newTenant, seed, shardOf, tenantShard } from "../support/helpers";

const lost = () => new Error("D1_ERROR: Network connection lost.");

/** env.SHARD_0 whose n-th D1 call (1-based, any kind) fails as `faults` says. */
function flakyDb(faults: Map<number, "before" | "lost">, real: D1Database = env.SHARD_0) {
  let n = 0;
  const intercept = async <T>(run: () => Promise<T>): Promise<T> => {
    const fault = faults.get(++n);
    if (fault === "before") throw lost();
    const result = await run();
    if (fault === "lost") throw lost();
    return result;
  };
  const wrapStatement = (s: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(s, {
      get(target, prop) {
        if (prop === "bind") return (...v: unknown[]) => wrapStatement(target.bind(...v));
        if (prop === "all" || prop === "run" || prop === "raw" || prop === "first") {
          return (...args: unknown[]) =>
            intercept(() => (target[prop] as (...a: unknown[]) => Promise<unknown>).apply(target, args));
        }
        return Reflect.get(target, prop);
      },
    });
  const unwrap = new WeakMap<object, D1PreparedStatement>();
  const session = (real: D1DatabaseSession) => ({
    prepare: (sql: string) => {
      const inner = real.prepare(sql);
      const wrapped = wrapStatement(inner);
      unwrap.set(wrapped, inner);
      return wrapped;
    },
    batch: (statements: D1PreparedStatement[]) => intercept(() => real.batch(statements)),
    getBookmark: () => real.getBookmark(),
  });
  return {
    withSession: (b?: string) => session(real.withSession(b)),
    calls: () => n,
  } as unknown as D1Database & {
    calls(): number;
  };
}

async function runBatch(messages: WebhookMessage[], bindings: Env, ids = messages.map((_, i) => `m${i}`)) {
  const batch = createMessageBatch<WebhookMessage>(
    "customer-communications-webhooks",
    messages.map((body, i) => ({ id: ids[i] as string, timestamp: Date.now(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, bindings, ctx);
  return getQueueResult(batch, ctx);
}

describe("queue consumer with a D1 failure mid-batch", () => {
  it("acks what it applied, retries the rest; a full redelivery loses nothing and doubles nothing", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const sids = Array.from({ length: 8 }, (_, i) => `SM${i}${crypto.randomUUID().replaceAll("-", "")}`);
    const comms = await seed(
      admin,
      sids.map((sid) => communicationBody({ provider: "twilio", provider_message_id: sid })),
    );
    const now = Date.now();
    const messages: WebhookMessage[] = [
      ...sids.flatMap((sid, i) => [
        ...fromTwilio(tenant, { MessageSid: sid, MessageStatus: "delivered" }, now + i),
        ...fromTwilio(tenant, { MessageSid: sid, MessageStatus: "read" }, now + 100 + i),
      ]),
      ...fromTwilio(tenant, { MessageSid: "SMinbound", From: "+15550000001", To: "+15551234567", Body: "hi" }, now),
      ...fromTwilio(tenant, { MessageSid: "SMlater", MessageStatus: "delivered" }, now),
    ];

    // A clean run counts the D1 calls; the faulty run fails some in the middle.
    const probe = flakyDb(new Map());
    const faults = new Map<number, "before" | "lost">([
      [9, "before"],
      [14, "lost"],
      [20, "before"],
      [27, "lost"],
      [33, "before"],
    ]);
    const db = flakyDb(faults, await tenantShard(tenant));
    const first = await runBatch(messages, { ...env, [(await shardOf(tenant)) ?? "SHARD_0"]: db });
    expect(db.calls()).toBeGreaterThan(33);
    // Reads that lose the connection are retried inside the request (src/db/client.ts); writes are not.
    expect(first.retryMessages.length).toBeGreaterThanOrEqual(1);
    expect(first.explicitAcks.length + first.retryMessages.length).toBe(messages.length);
    expect(probe.calls()).toBe(0);

    // The queue redelivers the retried ones; and then, as queues may, everything again.
    const retried = new Set(first.retryMessages.map((r) => r.msgId));
    const again = messages.filter((_, i) => retried.has(`m${i}`));
    const second = await runBatch(again, env);
    expect(second.retryMessages).toEqual([]);
    const third = await runBatch(messages, env);
    expect(third.retryMessages).toEqual([]);

    for (const c of comms) {
      const got = await call(`/${c.id}`, { token: admin });
      expect(got.json.communication.status).toBe("read");
      // One event per provider event. A "delivered" retried after its "read"
      // was applied is recorded without changing the status (read > read).
      const events = (await call(`/${c.id}/events`, { token: admin })).json.events;
      expect(events.map((e: { details: { provider_status: string } }) => e.details.provider_status).sort()).toEqual([
        "delivered",
        "read",
      ]);
      expect(
        events.filter((e: { from_status: string; status: string }) => e.from_status !== e.status).at(-1),
      ).toMatchObject({ status: "read" });
    }
    const inbound = await call("?provider_message_id=SMinbound", { token: admin });
    expect(inbound.json.total).toBe(1);
    const kept = await (await tenantShard(tenant))
      .prepare(
        "SELECT count(*) AS n FROM pending_provider_events WHERE tenant_id = ? AND provider_message_id = 'SMlater'",
      )
      .bind(tenant)
      .first<{ n: number }>();
    expect(kept?.n).toBe(1);
    // Totals: 8 read, 1 inbound delivered, nothing left in sent.
    expect((await call("?status=read", { token: admin })).json.total).toBe(8);
    expect((await call("?status=sent", { token: admin })).json.total).toBe(0);
    expect((await call("?status=delivered", { token: admin })).json.total).toBe(1);
  });

  it("a message that keeps failing is retried, never acknowledged (after max_retries the dead-letter queue takes it)", async () => {
    const tenant = newTenant();
    const always = new Map(Array.from({ length: 50 }, (_, i) => [i + 1, "before" as const]));
    const messages = fromTwilio(tenant, { MessageSid: "SMx", MessageStatus: "delivered" }, Date.now());
    const batch = createMessageBatch<WebhookMessage>("customer-communications-webhooks", [
      { id: "a", timestamp: Date.now(), attempts: 4, body: messages[0] as WebhookMessage },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, { ...env, SHARD_0: flakyDb(always), SHARD_1: flakyDb(always) }, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryMessages.map((r) => r.msgId)).toEqual(["a"]);
    expect(result.explicitAcks).toEqual([]);
    expect(result.ackAll).toBe(false);
  });
});

describe("the consumer's log when a message fails (issue 16, item 9)", () => {
  it("names the error's class and code, never the driver's text (which can hold bound values)", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const sid = `SM${crypto.randomUUID().replaceAll("-", "")}`;
    await seed(admin, [communicationBody({ provider: "twilio", provider_message_id: sid })]);
    const secret = "Leave it with the neighbour at +15557654321";
    const leaky = () =>
      new Error(`D1_ERROR: CHECK constraint failed: json_valid(details) params: ${secret}: SQLITE_CONSTRAINT`);
    // A shard whose every statement fails with that message.
    const fail = () => Promise.reject(leaky());
    const db: D1Database = {
      withSession: () => db,
      prepare: () => ({ bind: () => ({ all: fail, run: fail, first: fail, raw: fail }) }),
      batch: fail,
    } as unknown as D1Database;
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const result = await runBatch(fromTwilio(tenant, { MessageSid: sid, MessageStatus: "delivered" }, Date.now()), {
      ...env,
      [(await shardOf(tenant)) ?? "SHARD_0"]: db,
    });
    expect(result.retryMessages).toHaveLength(1);
    const lines = error.mock.calls.map(([l]) => String(l));
    const line = JSON.parse(lines.find((l) => l.includes("webhook event not applied")) as string);
    expect(line).toMatchObject({ level: "error", error_code: "internal_error", sqlite_code: "SQLITE_CONSTRAINT" });
    expect(line.error_class).toContain("Error");
    expect(lines.join("\n")).not.toContain("+15557654321");
    expect(lines.join("\n")).not.toContain("neighbour");
  });
});
