/**
 * The search index stays right through every path that writes a
 * communication (search.md; migrations/0007_search.sql keeps it by
 * triggers): creates, inbound messages through the queue consumer, status
 * updates, the adoption of unattributed messages, updates of content and
 * addresses through SQL (what erasure and redaction will do), retention's
 * deletes and tenant moves. After each, searches find exactly the rows
 * they should, and every communication has exactly one search document.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult, introspectWorkflow } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { countSearchDocuments } from "../../src/search";
import { shardBinding, shardNames } from "../../src/shards/config";
import { forgetCachedPlacements } from "../../src/shards/directory";
import { fromTwilio, type WebhookMessage } from "../../src/webhooks/events";
import {
  call,
  callers,
  communicationBody,
  newTenant,
  runScheduled,
  seed,
  shardOf,
  signToken,
  tenantShard,
  walkIds,
} from "../support/helpers";

beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

const DAY = 86_400_000;

/** Every communication of the tenant has exactly one document, in the table and in the index. */
async function expectOneDocumentEach(tenant: string, db?: D1Database) {
  const shard = db ?? (await tenantShard(tenant));
  const row = await shard
    .prepare(
      `SELECT (SELECT count(*) FROM communications WHERE tenant_id = ?1) AS communications,
              (SELECT count(*) FROM communication_search_docs WHERE tenant_id = ?1) AS docs,
              (SELECT count(*) FROM communication_search_docs d WHERE d.tenant_id = ?1
                 AND NOT EXISTS (SELECT 1 FROM communications c WHERE c.tenant_id = d.tenant_id AND c.id = d.id)) AS orphans`,
    )
    .bind(tenant)
    .first<{ communications: number; docs: number; orphans: number }>();
  const indexed = await countSearchDocuments(shard, tenant);
  expect({ ...row, indexed: indexed.documents }).toEqual({
    communications: row?.communications,
    docs: row?.communications,
    orphans: 0,
    indexed: row?.communications,
  });
  return row?.communications ?? 0;
}

async function runQueue(messages: WebhookMessage[]) {
  const batch = createMessageBatch<WebhookMessage>(
    "customer-communications-webhooks",
    messages.map((body, i) => ({ id: `m${i}-${crypto.randomUUID()}`, timestamp: Date.now(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

describe("the write paths keep the index right", () => {
  it("create, inbound messages (queue consumer), status updates and the adoption of unattributed messages", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const customer = crypto.randomUUID();
    const [outbound] = await seed(admin, [
      communicationBody({
        customer_id: customer,
        content: "Your parcel to Erbil is on its way",
        communication_details: { recipient: { phone: "+9647501234567" } },
      }),
    ]);
    // A reply from that number: attributed to the customer, indexed by its sender's address.
    const now = Date.now();
    await runQueue(
      fromTwilio(
        tenant,
        { MessageSid: "SMreply1", From: "+9647501234567", To: "+15551234567", Body: "شكراً، وصل الطرد" },
        now,
      ),
    );
    // A message from a number nobody wrote to: kept under the nil customer until adopted.
    await runQueue(
      fromTwilio(
        tenant,
        { MessageSid: "SMstranger", From: "+9647709999999", To: "+15551234567", Body: "who is this" },
        now,
      ),
    );
    const mine = await who.customer(customer);
    expect(await walkIds(mine, { q: "وصل" })).toHaveLength(1);
    expect(await walkIds(mine, { address: "+964 750 123 4567" })).toHaveLength(2);
    expect(await walkIds(await who.viewer(), { q: "who" })).toHaveLength(1);

    // A status update changes nothing in the index.
    const patched = await call(`/${outbound?.id}`, {
      method: "PATCH",
      token: admin,
      body: { status: "delivered", occurred_at: new Date().toISOString() },
    });
    expect(patched.status).toBe(200);
    expect(await walkIds(mine, { q: "parcel erbil" })).toEqual([outbound?.id]);

    // A communication to the stranger's number adopts their message: it is now
    // found under the new customer (whose token is in the index).
    const other = crypto.randomUUID();
    await seed(admin, [
      communicationBody({
        customer_id: other,
        content: "Hello",
        communication_details: { recipient: { phone: "+9647709999999" } },
      }),
    ]);
    expect(await walkIds(await who.customer(other), { q: "who is this" })).toHaveLength(1);
    expect(await walkIds(await who.customer(other), { address: "+9647709999999" })).toHaveLength(2);
    await expectOneDocumentEach(tenant);
  });

  it("an UPDATE of content or communication_details through SQL (erasure and redaction): old words and addresses go, new ones come", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const [row] = await seed(await who.admin(), [
      communicationBody({
        content: "The old words about Erbil",
        communication_details: { recipient: { phone: "+9647501234567", email: "old@example.com" } },
      }),
    ]);
    const db = await tenantShard(tenant);
    const viewer = await who.viewer();
    const update = (set: string, ...values: unknown[]) =>
      db
        .prepare(`UPDATE communications SET ${set} WHERE tenant_id = ? AND id = ?`)
        .bind(...values, tenant, row?.id)
        .run();

    await update("content = ?", "New words about Duhok");
    expect(await walkIds(viewer, { q: "old" })).toEqual([]);
    expect(await walkIds(viewer, { q: "erbil" })).toEqual([]);
    expect(await walkIds(viewer, { q: "duhok new" })).toEqual([row?.id]);

    await update("communication_details = json_set(communication_details, '$.recipient.email', ?)", "new@example.com");
    expect(await walkIds(viewer, { address: "old@example.com" })).toEqual([]);
    expect(await walkIds(viewer, { address: "NEW@example.com" })).toEqual([row?.id]);
    expect(await walkIds(viewer, { address: "+9647501234567" })).toEqual([row?.id]);

    // Redaction as privacy.md describes it: content null, phone and email masked.
    await update(
      "content = NULL, communication_details = json_set(communication_details, '$.recipient.phone', ?, '$.recipient.email', ?)",
      "+9647*******67",
      "n***@example.com",
    );
    expect(await walkIds(viewer, { q: "duhok" })).toEqual([]);
    expect(await walkIds(viewer, { address: "+9647501234567" })).toEqual([]);
    expect(await walkIds(viewer, { address: "new@example.com" })).toEqual([]);
    // Still listed, and still one document (without words or addresses).
    expect(await walkIds(viewer)).toEqual([row?.id]);
    await expectOneDocumentEach(tenant);
  });

  it("retention's deletes take the documents with the rows", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const old = Math.floor((Date.now() - 40 * DAY) / DAY) * DAY + 3_600_000;
    vi.useFakeTimers({ toFake: ["Date"], now: old });
    const [archived] = await seed(await who.admin(), [communicationBody({ content: "an old message about Zakho" })]);
    vi.useRealTimers();
    const [kept] = await seed(await who.admin(), [communicationBody({ content: "a young message about Zakho" })]);
    expect(await walkIds(await who.viewer(), { q: "zakho" })).toEqual([kept?.id, archived?.id]);

    await runScheduled({ ...env, RETENTION_DAYS: "30" });
    expect(await walkIds(await who.viewer(), { q: "zakho" })).toEqual([kept?.id]);
    expect(await expectOneDocumentEach(tenant)).toBe(1);
  });
});

describe("a tenant move", () => {
  const systemAdmin = () => signToken({ is_system_admin: true, permissions: [] });

  async function move(
    tenant: string,
    mock?: (m: { mockStepResult: (s: { name: string }, r: unknown) => Promise<void> }) => Promise<void>,
  ) {
    const from = (await shardOf(tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;
    await using introspector = await introspectWorkflow(env.TENANT_MOVE);
    await introspector.modifyAll(async (m) => {
      await m.disableSleeps();
      if (mock) await mock(m);
    });
    const res = await call(`/admin/tenants/${tenant}/move`, {
      method: "POST",
      token: await systemAdmin(),
      body: { to },
    });
    expect(res.status, res.text).toBe(202);
    const [instance] = await introspector.get();
    await instance?.waitForStatus("complete");
    forgetCachedPlacements();
    const state = await call(`/admin/tenants/${tenant}`, { token: await systemAdmin() });
    return { from, to, move: state.json.tenant.move };
  }

  it("the target's triggers build the tenant's index from the copied rows; the source's entries go with its rows", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const customer = crypto.randomUUID();
    await seed(
      await who.admin(),
      Array.from({ length: 9 }, (_, i) =>
        communicationBody({
          customer_id: i % 3 ? customer : crypto.randomUUID(),
          content: i % 2 ? `مرحبا delivery number ${i}` : `deliveries resume ${i}`,
          communication_details: { recipient: { phone: `+96475000000${i}` } },
        }),
      ),
    );
    const searches = [{ q: "deliv*" }, { q: "مرحبا" }, { address: "+964750000003" }, { q: '"delivery number"' }];
    const before = [];
    for (const s of searches) before.push(await walkIds(await who.viewer(), s));
    const beforeMine = await walkIds(await who.customer(customer), { q: "deliv*" });

    const { from, to, move: done } = await move(tenant);
    expect(done).toMatchObject({ status: "done" });
    expect(await shardOf(tenant)).toBe(to);
    for (const [i, s] of searches.entries())
      expect(await walkIds(await who.viewer(), s), JSON.stringify(s)).toEqual(before[i]);
    expect(await walkIds(await who.customer(customer), { q: "deliv*" })).toEqual(beforeMine);
    expect(await expectOneDocumentEach(tenant, shardBinding(env, to))).toBe(9);
    // Nothing of the tenant is left in the source's index.
    expect((await countSearchDocuments(shardBinding(env, from), tenant)).documents).toBe(0);
    const left = await shardBinding(env, from)
      .prepare("SELECT count(*) AS n FROM communication_search_docs WHERE tenant_id = ?")
      .bind(tenant)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it("an index that differs between the two sides fails the move, which rolls back", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    await seed(await who.admin(), [communicationBody({ content: "stay where you are" })]);
    const { from, move: failed } = await move(tenant, (m) =>
      m.mockStepResult(
        { name: "count communication_search" },
        { source: 1, target: 0, communications: 1, rowsRead: 0 },
      ),
    );
    expect(failed).toMatchObject({ status: "failed" });
    expect(failed.error).toContain("communication_search");
    expect(await shardOf(tenant)).toBe(from);
    expect(await walkIds(await who.viewer(), { q: "stay" })).toHaveLength(1);
  });
});
