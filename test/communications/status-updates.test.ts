/**
 * PATCH /delivery/customer-communications/{id}: provider status events.
 * Status only moves forward (sent -> delivered -> read; sent|delivered ->
 * failed; read and failed are terminal), an event older than the one that
 * set the current status changes nothing, and each applied change leaves
 * exactly one event row. Route tests go through the Worker's fetch; the race
 * tests drive CommunicationStore against the real local D1.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { CommunicationStore } from "../../src/communications/store";
import { createDb, newDbStats } from "../../src/db/client";
import type { Status } from "../../src/db/schema";
import { call, callers, communicationBody, newTenant, placeTenant, seed } from "../support/helpers";

/** Provider event times: an hour ago plus `minutes`, so never in the future. */
const BASE = Date.now() - 60 * 60_000;
const at = (minutes: number) => new Date(BASE + minutes * 60_000).toISOString();

const UPDATED = "Customer communication status updated successfully";
const UNCHANGED = "Status unchanged: the communication already has this, a later or a final status";

type Row = Record<string, any>;

async function create(token: string, overrides: Record<string, unknown> = {}): Promise<Row> {
  const [row] = await seed(token, [communicationBody(overrides)]);
  return row as Row;
}

const patch = (id: string, token: string, body: unknown, query = "") =>
  call(`/${id}${query}`, { method: "PATCH", token, body });

async function eventsOf(id: string, token: string): Promise<Row[]> {
  const res = await call(`/${id}/events`, { token });
  expect(res.status, res.text).toBe(200);
  return res.json.events;
}

describe("PATCH /:id transitions", () => {
  const who = callers(newTenant());
  let admin: string;
  beforeAll(async () => {
    admin = await who.admin();
  });

  const APPLIED: [Status, Status][] = [
    ["sent", "delivered"],
    ["sent", "read"],
    ["sent", "failed"],
    ["delivered", "read"],
    ["delivered", "failed"],
  ];
  const REFUSED: [Status, Status][] = [
    ["sent", "sent"],
    ["delivered", "delivered"],
    ["delivered", "sent"],
    ["read", "sent"],
    ["read", "delivered"],
    ["read", "read"],
    ["read", "failed"],
    ["failed", "sent"],
    ["failed", "delivered"],
    ["failed", "read"],
    ["failed", "failed"],
  ];

  it.each(APPLIED)("%s -> %s is applied and recorded once", async (from, to) => {
    const row = await create(admin, { status: from });
    const res = await patch(row.id, admin, { status: to, occurred_at: at(1), details: { provider: "twilio" } });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({
      success: true,
      message: UPDATED,
      communication: { ...row, status: to, updated_at: expect.any(String) },
    });
    expect(res.json.communication.updated_at >= row.updated_at).toBe(true);
    const events = await eventsOf(row.id, admin);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      from_status: from,
      status: to,
      occurred_at: at(1),
      details: { provider: "twilio" },
    });
    // The row as read back matches what PATCH answered.
    const read = await call(`/${row.id}`, { token: admin });
    expect(read.json.communication).toEqual(res.json.communication);
  });

  it.each(REFUSED)("%s -> %s changes nothing and answers 200 with the current state", async (from, to) => {
    const row = await create(admin, { status: from });
    const res = await patch(row.id, admin, { status: to, occurred_at: at(1) });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({ success: true, message: UNCHANGED, communication: row });
    expect(await eventsOf(row.id, admin)).toEqual([]);
  });

  it("the unchanged message is localised", async () => {
    const row = await create(admin, { status: "read" });
    const res = await patch(row.id, admin, { status: "delivered", occurred_at: at(1) }, "?language=fa");
    expect(res.status).toBe(200);
    expect(res.json.message).not.toBe(UNCHANGED);
    expect(res.json.message.length).toBeGreaterThan(0);
  });
});

describe("PATCH /:id with late, repeated and out-of-order events", () => {
  const who = callers(newTenant());
  let admin: string;
  beforeAll(async () => {
    admin = await who.admin();
  });

  it("a repeated event changes nothing the second time", async () => {
    const row = await create(admin);
    const first = await patch(row.id, admin, { status: "delivered", occurred_at: at(1) });
    const again = await patch(row.id, admin, { status: "delivered", occurred_at: at(1) });
    expect(first.json.message).toBe(UPDATED);
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ success: true, message: UNCHANGED, communication: first.json.communication });
    expect(await eventsOf(row.id, admin)).toHaveLength(1);
  });

  it("read arriving before delivered: read wins, the later-arriving delivered is ignored", async () => {
    const row = await create(admin);
    const read = await patch(row.id, admin, { status: "read", occurred_at: at(3) });
    const delivered = await patch(row.id, admin, { status: "delivered", occurred_at: at(2) });
    expect(read.json.message).toBe(UPDATED);
    expect(delivered.json).toEqual({ success: true, message: UNCHANGED, communication: read.json.communication });
    expect((await eventsOf(row.id, admin)).map((e) => [e.from_status, e.status])).toEqual([["sent", "read"]]);
  });

  it("failed arriving after read does not overwrite the terminal read", async () => {
    const row = await create(admin);
    await patch(row.id, admin, { status: "delivered", occurred_at: at(1) });
    await patch(row.id, admin, { status: "read", occurred_at: at(2) });
    const failed = await patch(row.id, admin, { status: "failed", occurred_at: at(3) });
    expect(failed.json.message).toBe(UNCHANGED);
    expect(failed.json.communication.status).toBe("read");
    expect((await eventsOf(row.id, admin)).map((e) => e.status)).toEqual(["delivered", "read"]);
  });

  it("a late failed (older than the delivered it follows) changes nothing", async () => {
    const row = await create(admin);
    await patch(row.id, admin, { status: "delivered", occurred_at: at(5) });
    const late = await patch(row.id, admin, { status: "failed", occurred_at: at(4) });
    expect(late.json.message).toBe(UNCHANGED);
    expect(late.json.communication.status).toBe("delivered");
    expect(await eventsOf(row.id, admin)).toHaveLength(1);
  });

  it("a late read (older than the delivered it follows) changes nothing", async () => {
    const row = await create(admin);
    await patch(row.id, admin, { status: "delivered", occurred_at: at(5) });
    const late = await patch(row.id, admin, { status: "read", occurred_at: at(4) });
    expect(late.json.message).toBe(UNCHANGED);
    expect(late.json.communication.status).toBe("delivered");
  });

  it("an event at the same instant as the current one still moves forward", async () => {
    const row = await create(admin);
    await patch(row.id, admin, { status: "delivered", occurred_at: at(5) });
    const read = await patch(row.id, admin, { status: "read", occurred_at: at(5) });
    expect(read.json.message).toBe(UPDATED);
    expect(read.json.communication.status).toBe("read");
  });

  it("compares instants, not strings: offsets are normalised to UTC", async () => {
    const row = await create(admin);
    // 10:00+05:00 is 05:00Z; 06:00Z is an hour LATER although "06" < "10" as text.
    const delivered = await patch(row.id, admin, { status: "delivered", occurred_at: "2026-01-01T10:00:00+05:00" });
    const failed = await patch(row.id, admin, { status: "failed", occurred_at: "2026-01-01T06:00:00Z" });
    expect(delivered.json.message).toBe(UPDATED);
    expect(failed.json.message).toBe(UPDATED);
    const events = await eventsOf(row.id, admin);
    expect(events.map((e) => e.occurred_at)).toEqual(["2026-01-01T05:00:00.000Z", "2026-01-01T06:00:00.000Z"]);

    // And the reverse: 09:00+05:00 (04:00Z) is EARLIER than 05:00Z although "09" > "05".
    const other = await create(admin);
    await patch(other.id, admin, { status: "delivered", occurred_at: "2026-01-01T05:00:00Z" });
    const late = await patch(other.id, admin, { status: "failed", occurred_at: "2026-01-01T09:00:00+05:00" });
    expect(late.json.message).toBe(UNCHANGED);
  });

  it("the same event sent twice concurrently is applied once, with one event row", async () => {
    const row = await create(admin);
    const body = { status: "delivered", occurred_at: at(1) };
    const results = await Promise.all([patch(row.id, admin, body), patch(row.id, admin, body)]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    expect(results.map((r) => r.json.message).sort()).toEqual([UNCHANGED, UPDATED].sort());
    expect(results.map((r) => r.json.communication.status)).toEqual(["delivered", "delivered"]);
    expect(await eventsOf(row.id, admin)).toHaveLength(1);
  });

  it("many concurrent events settle in the right final state with one event per applied change", async () => {
    const row = await create(admin);
    const bodies = [
      { status: "delivered", occurred_at: at(1) },
      { status: "delivered", occurred_at: at(1) },
      { status: "read", occurred_at: at(2) },
      { status: "read", occurred_at: at(2) },
      { status: "delivered", occurred_at: at(1) },
    ];
    const results = await Promise.all(bodies.map((b) => patch(row.id, admin, b)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const applied = results.filter((r) => r.json.message === UPDATED).length;
    const events = await eventsOf(row.id, admin);
    // Whatever the interleaving: read is the final state, and the history
    // is a chain of applied changes (one per "updated" answer).
    expect(events).toHaveLength(applied);
    expect(events.at(-1)?.status).toBe("read");
    let previous = "sent";
    for (const e of events) {
      expect(e.from_status).toBe(previous);
      previous = e.status;
    }
    const read = await call(`/${row.id}`, { token: admin });
    expect(read.json.communication.status).toBe("read");
  });
});

describe("the guarded write (UPDATE ... RETURNING, then INSERT event WHERE changes() = 1, in one batch)", () => {
  const tenantId = newTenant();
  const who = callers(tenantId);
  let shard: D1Database;
  beforeAll(async () => {
    shard = await placeTenant(tenantId);
  });

  /**
   * A store whose first batch is held back until `competitor` has run: the
   * store has already read the row, so its guarded UPDATE sees a row that
   * changed underneath it. Deterministic, on the real local D1.
   */
  function racingStore(competitor: () => Promise<unknown>) {
    const db = createDb(shard, undefined, newDbStats());
    // The update's batch goes straight to the database client (src/db/client.ts).
    const client = db.$client;
    const batch = client.batch.bind(client);
    let raced = false;
    const held: typeof client.batch = async (statements) => {
      if (!raced) {
        raced = true;
        await competitor();
      }
      return batch(statements);
    };
    client.batch = held;
    return new CommunicationStore(db, { tenantId });
  }
  const plainStore = () => new CommunicationStore(createDb(shard, undefined, newDbStats()), { tenantId });

  it("a stale UPDATE matches no row, and its event row is not inserted", async () => {
    const admin = await who.admin();
    const row = await create(admin);
    const store = racingStore(() => plainStore().updateStatus(row.id, { status: "delivered", occurred_at: at(1) }));
    const result = await store.updateStatus(row.id, { status: "delivered", occurred_at: at(1) });
    expect(result?.changed).toBe(false);
    expect(result?.communication.status).toBe("delivered");
    // One event (the competitor's). Had the INSERT ignored changes(), the
    // stale batch would have added a second sent -> delivered row.
    const events = await eventsOf(row.id, admin);
    expect(events.map((e) => [e.from_status, e.status])).toEqual([["sent", "delivered"]]);
  });

  it("after losing the race the update decides again from the new state", async () => {
    const admin = await who.admin();
    const row = await create(admin);
    const store = racingStore(() => plainStore().updateStatus(row.id, { status: "delivered", occurred_at: at(1) }));
    const result = await store.updateStatus(row.id, { status: "read", occurred_at: at(2) });
    expect(result?.changed).toBe(true);
    expect(result?.communication.status).toBe("read");
    const events = await eventsOf(row.id, admin);
    expect(events.map((e) => [e.from_status, e.status])).toEqual([
      ["sent", "delivered"],
      ["delivered", "read"],
    ]);
  });

  it("a competitor that makes the event late wins: the retry sees the newer event time", async () => {
    const admin = await who.admin();
    const row = await create(admin);
    const store = racingStore(() => plainStore().updateStatus(row.id, { status: "delivered", occurred_at: at(10) }));
    const result = await store.updateStatus(row.id, { status: "failed", occurred_at: at(5) });
    expect(result?.changed).toBe(false);
    expect(result?.communication.status).toBe("delivered");
    expect(await eventsOf(row.id, admin)).toHaveLength(1);
  });

  it("the status trigger's own writes do not confuse changes(): an applied update records its event", async () => {
    // The UPDATE fires communications_totals_status (two more writes); the
    // event is still inserted because changes() counts only the UPDATE's row.
    const admin = await who.admin();
    const row = await create(admin);
    const result = await plainStore().updateStatus(row.id, { status: "failed", occurred_at: at(1) });
    expect(result?.changed).toBe(true);
    expect(await eventsOf(row.id, admin)).toHaveLength(1);
  });
});

describe("PATCH /:id access", () => {
  const tenant = newTenant();
  const other = newTenant();
  const who = callers(tenant);
  const them = callers(other);
  const body = { status: "delivered", occurred_at: at(1) };
  let row: Row;
  let foreign: Row;
  beforeAll(async () => {
    row = await create(await who.admin(), { customer_id: who.customerId });
    foreign = await create(await them.admin());
  });

  it.each([
    ["viewer (view:tenant)", () => who.viewer()],
    ["driver", () => who.driver()],
    ["the row's own customer", () => who.customer()],
  ])("%s is 403, and the row is unchanged", async (_name, token) => {
    const res = await patch(row.id, await token(), body);
    expect(res.status, res.text).toBe(403);
    expect(res.json).toEqual({ success: false, message: "Insufficient permissions" });
    // Permission is checked before the body: an invalid body is still 403.
    const invalid = await patch(row.id, await token(), { status: "bogus" });
    expect(invalid.status).toBe(403);
    const read = await call(`/${row.id}`, { token: await who.admin() });
    expect(read.json.communication.status).toBe("sent");
  });

  it("another tenant's admin gets 404 and the row is untouched", async () => {
    const res = await patch(foreign.id, await who.admin(), body);
    expect(res.status, res.text).toBe(404);
    expect(res.json).toEqual({ success: false, message: "Customer communication not found" });
    const read = await call(`/${foreign.id}`, { token: await them.admin() });
    expect(read.json.communication.status).toBe("sent");
    expect(await eventsOf(foreign.id, await them.admin())).toEqual([]);
  });

  it("an unknown id is 404, a malformed one 400", async () => {
    const unknown = await patch(crypto.randomUUID(), await who.admin(), body);
    expect(unknown.status).toBe(404);
    const malformed = await patch("nope", await who.admin(), body);
    expect(malformed.status).toBe(400);
    expect(malformed.json.errors).toEqual([{ field: "id", message: "id is not a valid UUID" }]);
  });

  it("a tenant_id other than the token's is 403", async () => {
    const res = await patch(row.id, await who.admin(), body, `?tenant_id=${other}`);
    expect(res.status).toBe(403);
  });

  it("a system admin naming the tenant may apply it", async () => {
    const fresh = await create(await who.admin());
    const res = await patch(fresh.id, await who.systemAdmin(), body, `?tenant_id=${tenant}`);
    expect(res.status, res.text).toBe(200);
    expect(res.json.message).toBe(UPDATED);
  });

  it("without a token it is 401", async () => {
    const res = await call(`/${row.id}`, { method: "PATCH", body });
    expect(res.status).toBe(401);
  });
});

describe("PATCH /:id body validation", () => {
  const who = callers(newTenant());
  let admin: string;
  let row: Row;
  beforeAll(async () => {
    admin = await who.admin();
    row = await create(admin);
  });

  const in10Minutes = () => new Date(Date.now() + 10 * 60_000).toISOString();

  it.each([
    ["unknown field", () => ({ status: "delivered", occurred_at: at(1), provider: "x" }), "provider"],
    ["server-owned field", () => ({ status: "delivered", occurred_at: at(1), updated_at: at(1) }), "updated_at"],
    ["bad status", () => ({ status: "bounced", occurred_at: at(1) }), "status"],
    ["missing status", () => ({ occurred_at: at(1) }), "status"],
    ["missing occurred_at", () => ({ status: "delivered" }), "occurred_at"],
    ["occurred_at not a date", () => ({ status: "delivered", occurred_at: "yesterday" }), "occurred_at"],
    ["occurred_at without offset", () => ({ status: "delivered", occurred_at: "2026-01-01T00:00:00" }), "occurred_at"],
    [
      "occurred_at impossible date",
      () => ({ status: "delivered", occurred_at: "2026-02-30T00:00:00Z" }),
      "occurred_at",
    ],
    ["occurred_at a number", () => ({ status: "delivered", occurred_at: 1767225600000 }), "occurred_at"],
    ["occurred_at 10 minutes ahead", () => ({ status: "delivered", occurred_at: in10Minutes() }), "occurred_at"],
    ["details not an object", () => ({ status: "delivered", occurred_at: at(1), details: ["x"] }), "details"],
  ])("%s is 400 naming the field, and nothing changes", async (_name, body, field) => {
    const res = await patch(row.id, admin, body());
    expect(res.status, res.text).toBe(400);
    expect(res.json.success).toBe(false);
    expect(res.json.message).toBe("Invalid request parameters");
    expect(res.json.errors.map((e: { field: string }) => e.field)).toContain(field);
    const read = await call(`/${row.id}`, { token: admin });
    expect(read.json.communication.status).toBe("sent");
  });

  it("the future check names the rule", async () => {
    const res = await patch(row.id, admin, { status: "delivered", occurred_at: in10Minutes() });
    expect(res.json.errors).toEqual([{ field: "occurred_at", message: "occurred_at must not be in the future" }]);
  });

  it("an event up to 5 minutes ahead (provider clock skew) is accepted", async () => {
    const fresh = await create(admin);
    const soon = new Date(Date.now() + 60_000).toISOString();
    const res = await patch(fresh.id, admin, { status: "delivered", occurred_at: soon });
    expect(res.status, res.text).toBe(200);
    expect(res.json.message).toBe(UPDATED);
  });

  it("a body that is not JSON is 400, a non-JSON content type 415", async () => {
    const broken = await call(`/${row.id}`, {
      method: "PATCH",
      token: admin,
      rawBody: "{",
      headers: { "content-type": "application/json" },
    });
    expect(broken.status).toBe(400);
    expect(broken.json.message).toBe("The request body is not valid JSON");
    const form = await call(`/${row.id}`, {
      method: "PATCH",
      token: admin,
      rawBody: "status=delivered",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(415);
  });
});

describe("PATCH /:id cost", () => {
  const who = callers(newTenant());

  const d1 = (res: { headers: Headers }) => {
    const m = /d1;dur=[\d.]+;desc="(\d+) queries, (\d+) rows read, (\d+) rows written"/.exec(
      res.headers.get("server-timing") ?? "",
    );
    expect(m).not.toBeNull();
    const [queries, read, written] = (m ?? []).slice(1).map(Number);
    return { queries, read, written };
  };

  it("an unchanged event writes nothing; an applied one writes a bounded handful of rows", async () => {
    const admin = await who.admin();
    const row = await create(admin);
    const applied = d1(await patch(row.id, admin, { status: "delivered", occurred_at: at(1) }));
    const repeated = d1(await patch(row.id, admin, { status: "delivered", occurred_at: at(1) }));
    console.log(`PATCH cost: applied ${JSON.stringify(applied)}, unchanged ${JSON.stringify(repeated)}`);
    // Applied: one read of the row, then one batch (UPDATE + event INSERT).
    expect(applied.queries).toBe(3);
    // The row, its status index entry, two counter rows, the event row: no scans.
    expect(applied.written).toBeGreaterThan(0);
    expect(applied.written).toBeLessThanOrEqual(8);
    expect(applied.read).toBeLessThanOrEqual(8);
    // Unchanged: the one read, nothing written.
    expect(repeated).toEqual({ queries: 1, read: 1, written: 0 });
  });
});
