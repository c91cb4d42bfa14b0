/**
 * Erasing a customer (privacy.md, issue 21 item 1): `POST /erasures` starts
 * a Workflow that erases, in bounded steps (ERASURE_BATCH_ROWS is 4 here),
 * every communication of the customer created before the request and every
 * one of the given addresses, attributed or not, with everything that holds
 * them; totals stay right; it resumes after a restart and waits out a
 * tenant move; nothing it erased is served again, and a late provider
 * callback recreates nothing.
 */
import { env, introspectWorkflow, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { archiveKey } from "../../src/archive/retention";
import { actorOf } from "../../src/audit/store";
import { toPrincipal } from "../../src/auth/principal";
import { createDb, newDbStats } from "../../src/db/client";
import { UNATTRIBUTED_CUSTOMER } from "../../src/db/schema";
import type { ChangeEvent } from "../../src/events/event";
import { requestErasure, resumeErasures } from "../../src/privacy/erasure";
import { ERASURE_PARTS, scopeOf } from "../../src/privacy/erasure-scope";
import { providerIdHash } from "../../src/privacy/tombstones";
import { shardBinding, shardNames } from "../../src/shards/config";
import { forgetCachedPlacements } from "../../src/shards/directory";
import { hubFor, type StreamHub } from "../../src/stream/hub";
import { applyMessage } from "../../src/webhooks/consumer";
import { fromTwilio } from "../../src/webhooks/events";
import { ProviderEventStore } from "../../src/webhooks/store";
import { EXPECTED_BY_TEST } from "../support/expected-output";
import {
  call,
  callers,
  communicationBody,
  newTenant,
  runScheduled,
  shardOf,
  signToken,
  tenantShard,
  walkIds,
} from "../support/helpers";

beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
  vi.spyOn(console, "warn").mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

const DAY = 86_400_000;
const PHONE_C = "+9647501111111";
const PHONE_C3 = "+9647504444444";
const PHONE_D = "+9647502222222";
const COMPANY = "+15551234567";

type Who = ReturnType<typeof callers>;

/** A communication to `phone` (outbound) or from it (inbound), for `customer`. */
const message = (customer: string, phone: string, extra: Record<string, unknown> = {}) =>
  communicationBody({
    customer_id: customer,
    communication_details: {
      sender: { system_component: "delivery_notifications", phone: COMPANY },
      recipient: { phone, name: "Customer" },
      template_variables: { code: "1234" },
    },
    ...extra,
  });

async function create(who: Who, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await call("", { method: "POST", token: await who.admin(), body, headers });
  expect(res.status, res.text).toBe(201);
  return res.json.communication as { id: string; customer_id: string; status: string };
}

async function deliver(who: Who, id: string) {
  const res = await call(`/${id}`, {
    method: "PATCH",
    token: await who.admin(),
    body: { status: "delivered", occurred_at: new Date().toISOString(), details: { provider: "twilio", to: PHONE_C } },
  });
  expect(res.status).toBe(200);
}

/** Creates as if at `at` (ids and created_at are minted from the clock). */
async function createAt(who: Who, body: Record<string, unknown>, at: number) {
  vi.useFakeTimers({ toFake: ["Date"], now: at });
  try {
    return await create(who, body);
  } finally {
    vi.useRealTimers();
  }
}

async function totals(who: Who) {
  const viewer = await who.viewer();
  const out: Record<string, number> = {};
  for (const q of ["", "status=sent", "status=delivered", "type=sms", "direction=inbound"]) {
    out[q] = (await call(`?limit=1&${q}`, { token: viewer })).json.total;
  }
  return out;
}

const count = async (tenant: string, sql: string, ...params: unknown[]) =>
  (
    await (
      await tenantShard(tenant)
    )
      .prepare(sql)
      .bind(tenant, ...params)
      .first<{ n: number }>()
  )?.n ?? 0;

async function requestAndWait(who: Who, body: Record<string, unknown>) {
  await using introspector = await introspectWorkflow(env.ERASURE);
  const res = await call("/erasures", { method: "POST", token: await who.admin(), body });
  expect(res.status, res.text).toBe(202);
  const [instance] = await introspector.get();
  await instance?.waitForStatus("complete");
  const done = await call(`/erasures/${res.json.erasure.id}`, { token: await who.admin() });
  expect(done.status).toBe(200);
  return done.json.erasure;
}

async function inbound(tenant: string, from: string, sid: string) {
  const [m] = fromTwilio(tenant, { MessageSid: sid, From: from, To: COMPANY, Body: `hello from ${from}` }, Date.now());
  if (!m) throw new Error("no message");
  await applyMessage(env, m);
}

describe("an erasure", () => {
  it("erases the customer's communications with their events, and those of the given addresses, attributed or not; totals stay right; nothing erased is served", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const customerC = crypto.randomUUID();
    const customerD = crypto.randomUUID();
    const c = [];
    for (let i = 0; i < 5; i++) c.push(await create(who, message(customerC, PHONE_C, { content: `secret ${i}` })));
    await deliver(who, c[0]?.id as string);
    await deliver(who, c[1]?.id as string);
    const d = [];
    for (let i = 0; i < 2; i++) d.push(await create(who, message(customerD, PHONE_D)));
    // D's record, sent to a number the customer gives as theirs: erased too.
    const toC2 = await create(who, message(customerD, "+964 750 333 3333"));
    // An inbound message nobody could attribute, from another number the customer gives.
    await inbound(tenant, PHONE_C3, "SMunattributed0001");
    const viewer = await who.viewer();
    const unattributed = await call(`?customer_id=${UNATTRIBUTED_CUSTOMER}`, { token: viewer });
    expect(unattributed.json.total).toBe(1);
    const before = await totals(who);

    const erasure = await requestAndWait(who, {
      customer_id: customerC,
      addresses: ["+964 (750) 333-3333", "+964 750 444 4444"],
      reference: "DSR-2026-0001",
    });
    expect(erasure).toMatchObject({
      customer_id: customerC,
      reference: "DSR-2026-0001",
      status: "done",
      erased: { communications: 7, events: 2, archived_days: 0 },
    });
    expect(erasure.finished_at).toBeTruthy();

    // Nothing of it is served: list, read by id, events.
    expect(await walkIds(viewer, { customer_id: customerC })).toEqual([]);
    expect((await call(`?customer_id=${UNATTRIBUTED_CUSTOMER}`, { token: viewer })).json.total).toBe(0);
    expect(await walkIds(viewer, { customer_id: customerD })).toEqual([d[1]?.id, d[0]?.id]);
    for (const gone of [...c, toC2]) {
      expect((await call(`/${gone.id}`, { token: viewer })).status).toBe(404);
      expect((await call(`/${gone.id}/events`, { token: viewer })).status).toBe(404);
    }
    // Nor by search or export (issue 20): the index's documents went with their rows.
    expect((await call("?q=secret", { token: viewer })).json.total).toBe(0);
    expect((await call(`?address=${encodeURIComponent(PHONE_C)}`, { token: viewer })).json.total).toBe(0);
    expect(await count(tenant, "SELECT count(*) AS n FROM communication_search_docs WHERE tenant_id = ?")).toBe(2);
    // Nor by the live stream (issue 19): a resume would replay its buffer, which holds none of them.
    const buffered = await runInDurableObject(hubFor(env, tenant), (_hub: StreamHub, state) =>
      state.storage.sql.exec<{ event: string }>("SELECT event FROM events").toArray(),
    );
    const erasedIds = new Set([...c, toC2].map((x) => x.id));
    const inBuffer = buffered.map((r) => (JSON.parse(r.event) as ChangeEvent).data.communication);
    expect(inBuffer.filter((x) => erasedIds.has(x.id) || x.customer_id === customerC)).toEqual([]);
    expect(JSON.stringify(inBuffer)).not.toContain("secret");
    // Totals follow (the delete trigger): the rows that remain, per cell.
    const after = await totals(who);
    expect(after[""]).toBe((before[""] ?? 0) - 7);
    expect(after["status=delivered"]).toBe((before["status=delivered"] ?? 0) - 3); // two delivered, the inbound
    expect(after[""]).toBe(2);
    expect(await count(tenant, "SELECT count(*) AS n FROM communication_events WHERE tenant_id = ?")).toBe(0);
    // The record keeps no address once done; the provider id is a tombstone (a hash, not the id).
    const record = await (await tenantShard(tenant))
      .prepare("SELECT * FROM erasures WHERE tenant_id = ?")
      .bind(tenant)
      .first<Record<string, unknown>>();
    expect(record?.addresses).toBeNull();
    expect(JSON.stringify(record)).not.toContain("964");
    expect(
      await count(
        tenant,
        "SELECT count(*) AS n FROM erased_provider_ids WHERE tenant_id = ? AND id_hash = ?",
        await providerIdHash("SMunattributed0001"),
      ),
    ).toBe(1);
    // The audit log names the request and the finish, without any address.
    const audit = await call("/audit", { token: await who.admin() });
    const actions = audit.json.entries.map((e: { action: string }) => e.action);
    expect([...actions].sort()).toEqual(["erasure.finished", "erasure.requested"]);
    expect(audit.text).not.toContain("964");
    const finished = audit.json.entries.find((e: { action: string }) => e.action === "erasure.finished");
    expect(finished.details).toEqual({
      status: "done",
      customer_id: customerC,
      communications: 7,
      events: 2,
      archived_days: 0,
    });
    // Nor by an export (after the audit check: an export writes its own entry).
    const exported = await call(`/export?customer_id=${customerC}`, { token: viewer });
    expect(exported.status).toBe(200);
    expect(exported.text).toBe("");
  });

  it("racing new creates of the same customer: those created after the request stay, the earlier ones go", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const customer = crypto.randomUUID();
    const earlier = [];
    for (let i = 0; i < 9; i++) earlier.push(await create(who, message(customer, PHONE_C)));

    await using introspector = await introspectWorkflow(env.ERASURE);
    await introspector.modifyAll(async (m) => {
      // The second page fails twice with the real retry delays (2 s, 4 s): the erasure is
      // under way, half done, while the creates below land.
      await m.mockStepError({ name: "erase communications", index: 2 }, new Error(`D1 busy (${EXPECTED_BY_TEST})`), 2);
    });
    const res = await call("/erasures", { method: "POST", token: await who.admin(), body: { customer_id: customer } });
    expect(res.status).toBe(202);
    const later = [];
    for (let i = 0; i < 4; i++) later.push(await create(who, message(customer, PHONE_C, { content: `later ${i}` })));
    const [instance] = await introspector.get();
    await instance?.waitForStatus("complete");

    const remaining = await walkIds(await who.viewer(), { customer_id: customer });
    expect(remaining.sort()).toEqual(later.map((l) => l.id).sort());
    const done = (await call(`/erasures/${res.json.erasure.id}`, { token: await who.admin() })).json.erasure;
    expect(done).toMatchObject({ status: "done", erased: { communications: 9 } });
    expect((await totals(who))[""]).toBe(4);
  }, 60_000);

  it("a second request for the customer while one runs answers that one (200); once done, a new one is accepted", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const customer = crypto.randomUUID();
    await create(who, message(customer, PHONE_C));
    await using introspector = await introspectWorkflow(env.ERASURE);
    await introspector.modifyAll(async (m) => {
      await m.mockStepError({ name: "begin" }, new Error(`held (${EXPECTED_BY_TEST})`), 1);
    });
    const admin = await who.admin();
    const first = await call("/erasures", { method: "POST", token: admin, body: { customer_id: customer } });
    const again = await call("/erasures?language=ar", {
      method: "POST",
      token: admin,
      body: { customer_id: customer, reference: "other" },
    });
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.json.message).toBe("يجري بالفعل محو بيانات هذا العميل");
    expect(again.json.erasure.id).toBe(first.json.erasure.id);
    const instances = await introspector.get();
    expect(instances).toHaveLength(1);
    await instances[0]?.waitForStatus("complete");
    const third = await call("/erasures", { method: "POST", token: admin, body: { customer_id: customer } });
    expect(third.status).toBe(202);
    expect(third.json.erasure.id).not.toBe(first.json.erasure.id);
    await (await introspector.get())[1]?.waitForStatus("complete");
    const list = await call("/erasures?limit=1", { token: admin });
    expect(list.json.erasures.map((e: { id: string }) => e.id)).toEqual([third.json.erasure.id]);
    const next = await call(`/erasures?limit=1&cursor=${list.json.next_cursor}`, { token: admin });
    expect(next.json.erasures.map((e: { id: string }) => e.id)).toEqual([first.json.erasure.id]);
    expect(next.json.next_cursor).toBeNull();
  });

  it("interrupted (a page committed but not recorded, then a step failing as if the Worker restarted) resumes and counts nothing twice", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const customer = crypto.randomUUID();
    for (let i = 0; i < 10; i++) {
      const c = await create(who, message(customer, PHONE_C));
      if (i % 3 === 0) await deliver(who, c.id);
    }
    await create(who, message(crypto.randomUUID(), PHONE_D));
    // The request recorded, its Workflow not started yet.
    const d1 = await tenantShard(tenant);
    const db = createDb(d1, "first-primary", newDbStats());
    const principal = toPrincipal({ sub: "dpo-1", tenant_id: tenant, permissions: ["manage:operations:tenant"] });
    const requested = await requestErasure(
      db,
      tenant,
      { customer_id: customer, addresses: [], reference: null },
      actorOf(principal),
      "req-1",
    );
    expect(requested.outcome).toBe("created");
    // A first page whose batch committed before its step could record it (the Worker stopped there).
    const part = ERASURE_PARTS[0];
    await part?.page({ env, db, d1, scope: scopeOf(requested.row), limit: 4 }, null);

    await using introspector = await introspectWorkflow(env.ERASURE);
    await introspector.modifyAll(async (m) => {
      await m.disableRetryDelays();
      await m.mockStepError(
        { name: "erase communications", index: 2 },
        new Error(`Worker restarted (${EXPECTED_BY_TEST})`),
        1,
      );
      await m.mockStepError({ name: "finish" }, new Error(`Worker restarted (${EXPECTED_BY_TEST})`), 2);
    });
    await env.ERASURE.create({ id: requested.row.id, params: { tenantId: tenant, erasureId: requested.row.id } });
    const [instance] = await introspector.get();
    await instance?.waitForStatus("complete");

    const done = (await call(`/erasures/${requested.row.id}`, { token: await who.admin() })).json.erasure;
    expect(done).toMatchObject({ status: "done", erased: { communications: 10, events: 4, archived_days: 0 } });
    expect((await totals(who))[""]).toBe(1);
    const audit = await call("/audit?action=erasure.finished", { token: await who.admin() });
    expect(audit.json.entries).toHaveLength(1); // the finish ran three times, its entry is written once
    expect(audit.json.entries[0].actor).toEqual({ sub: "dpo-1", role: null, is_system_admin: false });
  });

  it("across a tenant move: requested while the tenant is copied, it waits, then erases on the new shard; its record and audit entries moved with the tenant", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const customer = crypto.randomUUID();
    const keep = [];
    for (let i = 0; i < 6; i++) await create(who, message(customer, PHONE_C));
    for (let i = 0; i < 3; i++) keep.push(await create(who, message(crypto.randomUUID(), PHONE_D)));
    const from = (await shardOf(tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;

    await using moves = await introspectWorkflow(env.TENANT_MOVE);
    await moves.modifyAll(async (m) => {
      await m.disableSleeps();
      // Holds the copy a few seconds (two failures, real delays of 2 s and 4 s).
      await m.mockStepError({ name: "copy communications" }, new Error(`slow copy (${EXPECTED_BY_TEST})`), 2);
    });
    await using erasures = await introspectWorkflow(env.ERASURE);
    const systemAdmin = await signToken({ is_system_admin: true, permissions: [] });
    const move = await call(`/admin/tenants/${tenant}/move`, { method: "POST", token: systemAdmin, body: { to } });
    expect(move.status).toBe(202);
    forgetCachedPlacements();
    const res = await call("/erasures", { method: "POST", token: await who.admin(), body: { customer_id: customer } });
    expect(res.status, res.text).toBe(202);

    const [moving] = await moves.get();
    await moving?.waitForStatus("complete");
    const [erasing] = await erasures.get();
    await erasing?.waitForStatus("complete");
    forgetCachedPlacements();

    expect(await shardOf(tenant)).toBe(to);
    const done = (await call(`/erasures/${res.json.erasure.id}`, { token: await who.admin() })).json.erasure;
    expect(done).toMatchObject({ status: "done", erased: { communications: 6 } });
    expect(await walkIds(await who.viewer(), { customer_id: customer })).toEqual([]);
    expect((await walkIds(await who.viewer())).sort()).toEqual(keep.map((k) => k.id).sort());
    expect((await totals(who))[""]).toBe(3);
    const source = shardBinding(env, from);
    for (const table of ["communications", "erasures", "audit_log"]) {
      const row = await source
        .prepare(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = ?`)
        .bind(tenant)
        .first<{ n: number }>();
      expect(row?.n, table).toBe(0);
    }
    const audit = await call(`/audit?tenant_id=${tenant}`, { token: systemAdmin });
    expect(audit.json.entries.map((e: { action: string }) => e.action).sort()).toEqual([
      "erasure.finished",
      "erasure.requested",
      "tenant.move_finished",
      "tenant.move_started",
    ]);
  }, 90_000);

  it("rewrites every archived day holding its communications; a day left empty answers 404; the others keep their lines", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const customer = crypto.randomUUID();
    const other = crypto.randomUUID();
    const now = Date.now();
    const mixedDay = Math.floor((now - 40 * DAY) / DAY) * DAY + 3_600_000;
    const onlyCDay = mixedDay - DAY;
    const c1 = await createAt(who, message(customer, PHONE_C), mixedDay);
    const kept = await createAt(who, message(other, PHONE_D), mixedDay + 60_000);
    const c2 = await createAt(who, message(customer, PHONE_C), onlyCDay);
    const c3 = await createAt(who, message(customer, PHONE_C), onlyCDay + 1000);
    await runScheduled({ ...env, RETENTION_DAYS: "30" });
    const viewer = await who.viewer();
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    expect((await call(`/archive/${day(mixedDay)}`, { token: viewer })).text).toContain(c1.id);

    const erasure = await requestAndWait(who, { customer_id: customer });
    expect(erasure.erased).toEqual({ communications: 3, events: 0, archived_days: 2 });
    const mixed = await call(`/archive/${day(mixedDay)}`, { token: viewer });
    expect(mixed.status).toBe(200);
    const lines = mixed.text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.id)).toEqual([kept.id]);
    expect((await call(`/archive/${day(onlyCDay)}`, { token: viewer })).status).toBe(404);
    const object = await env.ARCHIVE.head(archiveKey(tenant, day(onlyCDay)));
    expect(object?.customMetadata).toMatchObject({ communications: "0", erasure: erasure.id });
    for (const gone of [c1, c2, c3]) expect(mixed.text).not.toContain(gone.id);
  });

  it("takes the idempotency records and early provider events that hold its messages; a late callback or a redelivered inbound message recreates nothing", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const customer = crypto.randomUUID();
    const sid = `SM${crypto.randomUUID().replaceAll("-", "")}`;
    const keyed = await create(who, message(customer, PHONE_C, { provider: "twilio", provider_message_id: sid }), {
      "idempotency-key": `order-${crypto.randomUUID()}`,
    });
    const otherKey = `order-${crypto.randomUUID()}`;
    await create(who, message(crypto.randomUUID(), PHONE_D), { "idempotency-key": otherKey });
    // An inbound message from the customer's number that came in via the customer's own thread.
    const inboundSid = `SM${crypto.randomUUID().replaceAll("-", "")}`;
    await inbound(tenant, PHONE_C, inboundSid);
    // Early events kept: one for the message (as if its drain had not run), one naming the customer's number.
    const db = createDb(await tenantShard(tenant), "first-primary", newDbStats());
    const store = new ProviderEventStore(db, tenant);
    const early = {
      kind: "status" as const,
      tenant_id: tenant,
      provider: "twilio",
      provider_message_id: sid,
      status: "delivered" as const,
      provider_status: "delivered",
      occurred_at: new Date().toISOString(),
      event_key: "twilio:early-1",
      details: { provider: "twilio" },
    };
    await store.keepPending("twilio", sid, early);
    await store.keepPending("twilio", "CAunknown", {
      ...early,
      provider_message_id: "CAunknown",
      event_key: "twilio:call-1",
      inbound: {
        type: "call",
        content: null,
        communication_details: { sender: { phone: PHONE_C }, recipient: { phone: COMPANY } },
        provider: "twilio",
        provider_message_id: "CAunknown",
      },
    });
    expect(await count(tenant, "SELECT count(*) AS n FROM idempotency_keys WHERE tenant_id = ?")).toBe(2);

    // An early event is erased for an erased message, or when it names a given address.
    const erasure = await requestAndWait(who, { customer_id: customer, addresses: [PHONE_C] });
    expect(erasure.erased.communications).toBe(2); // the keyed create and the attributed inbound message
    expect(await count(tenant, "SELECT count(*) AS n FROM idempotency_keys WHERE tenant_id = ?")).toBe(1);
    expect(
      await count(tenant, "SELECT count(*) AS n FROM idempotency_keys WHERE tenant_id = ? AND key = ?", otherKey),
    ).toBe(1);
    expect(await count(tenant, "SELECT count(*) AS n FROM pending_provider_events WHERE tenant_id = ?")).toBe(0);

    // Late: a status callback for the erased message, and Twilio redelivering the inbound one.
    await applyMessage(env, { ...early, event_key: "twilio:late-1", occurred_at: new Date().toISOString() });
    await inbound(tenant, PHONE_C, inboundSid);
    expect(await count(tenant, "SELECT count(*) AS n FROM pending_provider_events WHERE tenant_id = ?")).toBe(0);
    const viewer = await who.viewer();
    expect(await walkIds(viewer, { customer_id: customer })).toEqual([]);
    expect((await call(`?provider_message_id=${inboundSid}`, { token: viewer })).json.total).toBe(0);
    expect((await call(`/${keyed.id}`, { token: viewer })).status).toBe(404);
  });

  it("the hourly cron starts an erasure whose Workflow never started", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const customer = crypto.randomUUID();
    await create(who, message(customer, PHONE_C));
    const d1 = await tenantShard(tenant);
    const db = createDb(d1, "first-primary", newDbStats());
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() - 10 * 60_000 });
    const principal = toPrincipal({ sub: "dpo-2", tenant_id: tenant, permissions: ["manage:operations:tenant"] });
    const { row } = await requestErasure(
      db,
      tenant,
      { customer_id: customer, addresses: [], reference: null },
      actorOf(principal),
      "req",
    );
    vi.useRealTimers();
    await using introspector = await introspectWorkflow(env.ERASURE);
    expect(await resumeErasures(env, db)).toBe(1);
    const [instance] = await introspector.get();
    await instance?.waitForStatus("complete");
    expect((await call(`/erasures/${row.id}`, { token: await who.admin() })).json.erasure.status).toBe("done");
    expect(await resumeErasures(env, db)).toBe(0);
  });
});

describe("erasure routes: who may, and what is refused", () => {
  it("viewer, driver and customer get 403; another tenant never sees one; a system administrator names the tenant", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const customer = crypto.randomUUID();
    await create(who, message(customer, PHONE_C));
    const erasure = await requestAndWait(who, { customer_id: customer });
    for (const token of [await who.viewer(), await who.driver(), await who.customer(customer)]) {
      expect((await call("/erasures", { method: "POST", token, body: { customer_id: customer } })).status).toBe(403);
      expect((await call("/erasures", { token })).status).toBe(403);
      expect((await call(`/erasures/${erasure.id}`, { token })).status).toBe(403);
    }
    const stranger = callers(newTenant());
    expect((await call(`/erasures/${erasure.id}`, { token: await stranger.admin() })).status).toBe(404);
    expect((await call("/erasures", { token: await stranger.admin() })).json.erasures).toEqual([]);
    expect((await call(`/erasures?tenant_id=${tenant}`, { token: await stranger.admin() })).status).toBe(403);
    const systemAdmin = await who.systemAdmin();
    expect((await call("/erasures", { token: systemAdmin })).status).toBe(400);
    const seen = await call(`/erasures/${erasure.id}?tenant_id=${tenant}`, { token: systemAdmin });
    expect(seen.json.erasure.id).toBe(erasure.id);
  });

  it("refuses bad input with a 400 naming each field, in the caller's language", async () => {
    const who = callers(newTenant());
    const admin = await who.admin();
    const cases: [unknown, string[]][] = [
      [{}, ["customer_id"]],
      [{ customer_id: "nope" }, ["customer_id"]],
      [{ customer_id: UNATTRIBUTED_CUSTOMER }, ["customer_id"]],
      [
        { customer_id: crypto.randomUUID(), addresses: ["+9647501234567", "07501234567", "hello"] },
        ["addresses.1", "addresses.2"],
      ],
      [{ customer_id: crypto.randomUUID(), addresses: Array(21).fill("+9647501234567") }, ["addresses"]],
      [{ customer_id: crypto.randomUUID(), reference: "x".repeat(201) }, ["reference"]],
      [{ customer_id: crypto.randomUUID(), status: "done" }, ["status"]],
    ];
    for (const [body, fields] of cases) {
      const res = await call("/erasures", { method: "POST", token: admin, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.errors.map((e: { field: string }) => e.field)).toEqual(fields);
    }
    const messages = {
      en: "addresses.0 must start with + and the country code",
      ar: "يجب أن يبدأ الحقل addresses.0 بالرمز + ورمز الدولة",
      ku: "خانەی addresses.0 دەبێت بە + و کۆدی وڵات دەست پێبکات",
      fa: "فیلد addresses.0 باید با + و کد کشور شروع شود",
    };
    for (const [language, text] of Object.entries(messages)) {
      const res = await call(`/erasures?language=${language}`, {
        method: "POST",
        token: admin,
        body: { customer_id: crypto.randomUUID(), addresses: ["964 750 123 4567"] },
      });
      expect(res.json.errors).toEqual([{ field: "addresses.0", message: text }]);
    }
    expect((await call(`/erasures/${crypto.randomUUID()}?language=fa`, { token: admin })).json.message).toBe(
      "درخواست پاک‌سازی یافت نشد",
    );
  });
});
