/**
 * GET /delivery/customer-communications/{id}/events: the applied status
 * changes of one communication, oldest first, under the same 404 rules as
 * GET /{id}.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { call, callers, communicationBody, newTenant, seed } from "../support/helpers";

const BASE = Date.now() - 60 * 60_000;
const at = (minutes: number) => new Date(BASE + minutes * 60_000).toISOString();

type Row = Record<string, any>;

const create = async (token: string, overrides: Record<string, unknown> = {}) =>
  (await seed(token, [communicationBody(overrides)]))[0] as Row;

const patch = (id: string, token: string, body: unknown) => call(`/${id}`, { method: "PATCH", token, body });

describe("GET /:id/events", () => {
  const tenant = newTenant();
  const other = newTenant();
  const who = callers(tenant);
  const them = callers(other);
  let admin: string;
  let own: Row;
  let someoneElses: Row;
  let foreign: Row;

  beforeAll(async () => {
    admin = await who.admin();
    own = await create(admin, { customer_id: who.customerId });
    someoneElses = await create(admin);
    foreign = await create(await them.admin(), { customer_id: who.customerId });
    const d = await patch(own.id, admin, {
      status: "delivered",
      occurred_at: "2026-03-01T12:00:00+03:00",
      details: { provider: "twilio", event_id: "SM1" },
    });
    expect(d.status, d.text).toBe(200);
    const r = await patch(own.id, admin, { status: "read", occurred_at: "2026-03-01T09:05:00Z" });
    expect(r.status, r.text).toBe(200);
    // Ignored events leave no trace.
    await patch(own.id, admin, { status: "read", occurred_at: "2026-03-01T09:06:00Z" });
    await patch(own.id, admin, { status: "failed", occurred_at: "2026-03-01T09:07:00Z" });
    await patch(someoneElses.id, admin, { status: "failed", occurred_at: at(1) });
    await patch(foreign.id, await them.admin(), { status: "delivered", occurred_at: at(1) });
  });

  it("lists applied changes oldest first, with the documented fields only", async () => {
    const res = await call(`/${own.id}/events`, { token: await who.viewer() });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({
      success: true,
      message: "Customer communication events retrieved successfully",
      events: [
        {
          id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
          communication_id: own.id,
          from_status: "sent",
          status: "delivered",
          // 12:00+03:00, normalised to UTC.
          occurred_at: "2026-03-01T09:00:00.000Z",
          recorded_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
          details: { provider: "twilio", event_id: "SM1" },
        },
        {
          id: expect.any(String),
          communication_id: own.id,
          from_status: "delivered",
          status: "read",
          occurred_at: "2026-03-01T09:05:00.000Z",
          recorded_at: expect.any(String),
          details: {},
        },
      ],
    });
    const [first, second] = res.json.events;
    expect(first.recorded_at <= second.recorded_at).toBe(true);
    expect(first.id).not.toBe(second.id);
  });

  it("a communication with no status change has an empty history", async () => {
    const fresh = await create(admin);
    const res = await call(`/${fresh.id}/events`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.json.events).toEqual([]);
  });

  it("the row's own customer sees its events", async () => {
    const res = await call(`/${own.id}/events`, { token: await who.customer() });
    expect(res.status, res.text).toBe(200);
    expect(res.json.events.map((e: Row) => e.status)).toEqual(["delivered", "read"]);
  });

  it("a system admin naming the tenant sees them", async () => {
    const res = await call(`/${own.id}/events?tenant_id=${tenant}`, { token: await who.systemAdmin() });
    expect(res.status, res.text).toBe(200);
    expect(res.json.events).toHaveLength(2);
  });

  it.each([
    ["unknown id", () => who.admin(), () => crypto.randomUUID()],
    ["another tenant's row (admin)", () => who.admin(), () => foreign.id],
    ["another tenant's row (customer with the same customer id)", () => who.customer(), () => foreign.id],
    ["another customer's row", () => who.customer(), () => someoneElses.id],
  ])("%s is 404 like an unknown id, and reveals no events", async (_name, token, id) => {
    const res = await call(`/${id()}/events`, { token: await token() });
    expect(res.status, res.text).toBe(404);
    expect(res.json).toEqual({ success: false, message: "Customer communication not found" });
  });

  it("the other tenant does see its own history (the 404 is scoping)", async () => {
    const res = await call(`/${foreign.id}/events`, { token: await them.viewer() });
    expect(res.status).toBe(200);
    expect(res.json.events).toHaveLength(1);
  });

  it("a malformed id is 400, a driver 403, no token 401, POST 405", async () => {
    expect((await call("/nope/events", { token: admin })).status).toBe(400);
    expect((await call(`/${own.id}/events`, { token: await who.driver() })).status).toBe(403);
    expect((await call(`/${own.id}/events`)).status).toBe(401);
    const post = await call(`/${own.id}/events`, { method: "POST", token: admin, body: {} });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET");
  });

  it("costs one batch: the visibility check plus the history, by primary key", async () => {
    const res = await call(`/${own.id}/events`, { token: admin });
    const m = /desc="(\d+) queries, (\d+) rows read, (\d+) rows written"/.exec(res.headers.get("server-timing") ?? "");
    const [queries, read, written] = (m ?? []).slice(1).map(Number);
    console.log(`events cost: ${queries} queries, ${read} rows read, ${written} rows written`);
    expect(queries).toBe(2);
    expect(written).toBe(0);
    // The communication row, read again by the history's own visibility
    // lookup (so an invisible one reads no event: test/app/hardening.test.ts),
    // and 2 event rows (visited by the range and by the small sort): 8 here,
    // nothing proportional to the tenant's size.
    expect(read).toBeLessThanOrEqual(8);
  });
});

describe("GET /:id/events order when changes land in the same millisecond", () => {
  const who = callers(newTenant());
  afterEach(() => {
    vi.useRealTimers();
  });

  it("is the order the changes were applied in, not the random tail of same-millisecond ids", async () => {
    const admin = await who.admin();
    // Freeze the clock (Date only) inside the Worker, which runs in this
    // isolate: every event id below shares one millisecond, so ordering by
    // id alone would put read before delivered about half the time.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const rows = [];
    for (let i = 0; i < 8; i++) rows.push(await create(admin));
    for (const row of rows) {
      expect((await patch(row.id, admin, { status: "delivered", occurred_at: at(1) })).json.communication.status).toBe(
        "delivered",
      );
      expect((await patch(row.id, admin, { status: "read", occurred_at: at(2) })).json.communication.status).toBe(
        "read",
      );
    }
    for (const row of rows) {
      const res = await call(`/${row.id}/events`, { token: admin });
      expect(res.json.events.map((e: Row) => `${e.from_status}->${e.status}`)).toEqual([
        "sent->delivered",
        "delivered->read",
      ]);
    }
  });
});
