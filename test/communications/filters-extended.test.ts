/**
 * List filters beyond the published page: direction, created_after /
 * created_before (ISO 8601 with offsets) and sort_order, alone, combined with
 * the published filters, and under page and cursor paging in both orders.
 * Every answer is compared with a model computed from the seeded rows.
 * (test/communications/query-plan.test.ts proves each shape is index-served; this file
 * proves the results.)
 */

import { beforeAll, describe, expect, it } from "vitest";
import { STATUSES, COMMUNICATION_TYPES as TYPES } from "../../src/db/schema";
import { call, callers, communicationBody, newTenant, qs, seed } from "../support/helpers";

type Row = Record<string, any>;

interface Filters {
  customer_id?: string;
  delivery_id?: string;
  type?: string;
  status?: string;
  direction?: string;
  created_after?: string;
  created_before?: string;
}

/** What the list must return: the filtered rows in id order (id order is created_at order). */
function model(rows: Row[], f: Filters, order: "asc" | "desc" = "desc"): string[] {
  const ms = (s: string) => Date.parse(s);
  return rows
    .filter(
      (r) =>
        (!f.customer_id || r.customer_id === f.customer_id) &&
        (!f.delivery_id || r.delivery_id === f.delivery_id) &&
        (!f.type || r.type === f.type) &&
        (!f.status || r.status === f.status) &&
        (!f.direction || r.direction === f.direction) &&
        (!f.created_after || ms(r.created_at) >= ms(f.created_after)) &&
        (!f.created_before || ms(r.created_at) < ms(f.created_before)),
    )
    .map((r) => r.id as string)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0) * (order === "asc" ? 1 : -1));
}

/** Follows next_cursor to the end; checks every page's envelope on the way. */
async function walk(token: string, params: Record<string, string | undefined>, limit: number) {
  const ids: string[] = [];
  const totals = new Set<number>();
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const res = await call(qs({ ...params, limit, cursor }), { token });
    expect(res.status, res.text).toBe(200);
    expect(res.json.communications.length).toBeLessThanOrEqual(limit);
    ids.push(...res.json.communications.map((c: Row) => c.id));
    totals.add(res.json.total);
    if (!res.json.next_cursor) return { ids, totals: [...totals] };
    expect(res.json.communications).toHaveLength(limit);
    cursor = res.json.next_cursor;
  }
  throw new Error("cursor walk did not end");
}

/** Moves `ms` to the same instant written with a +03:00 offset. */
const withOffset = (iso: string) => {
  const d = new Date(Date.parse(iso) + 3 * 3600_000).toISOString();
  return `${d.slice(0, 23)}+03:00`;
};

describe("extended list filters", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  const otherCustomer = crypto.randomUUID();
  const deliveries = [crypto.randomUUID(), crypto.randomUUID()];
  let rows: Row[] = [];
  /** Instants inside the seeded range, taken from the rows themselves. */
  let t1: string;
  let t2: string;

  beforeAll(async () => {
    const admin = await who.admin();
    const bodies = Array.from({ length: 24 }, (_, i) =>
      communicationBody({
        customer_id: i % 3 === 0 ? who.customerId : otherCustomer,
        delivery_id: i % 5 === 0 ? null : deliveries[i % 2],
        type: TYPES[i % 4],
        direction: i % 3 === 1 ? "inbound" : "outbound",
        status: STATUSES[(i * 7) % 4],
      }),
    );
    rows = await seed(admin, bodies);
    // Another tenant's rows must never show up.
    const them = callers(newTenant());
    await seed(await them.admin(), [communicationBody({ customer_id: who.customerId, direction: "inbound" })]);
    const times = [...new Set(rows.map((r) => r.created_at as string))].sort();
    expect(times.length).toBeGreaterThanOrEqual(6); // enough distinct instants for meaningful windows
    t1 = times[Math.floor(times.length / 4)] as string;
    t2 = times[Math.floor((times.length * 3) / 4)] as string;
  });

  const cases: [string, () => Filters][] = [
    ["direction=inbound", () => ({ direction: "inbound" })],
    ["direction=outbound", () => ({ direction: "outbound" })],
    ["created_after", () => ({ created_after: t1 })],
    ["created_before", () => ({ created_before: t2 })],
    ["created_after + created_before", () => ({ created_after: t1, created_before: t2 })],
    ["created_after with a +03:00 offset", () => ({ created_after: withOffset(t1) })],
    ["created_before with a +03:00 offset", () => ({ created_before: withOffset(t2) })],
    ["window before all rows", () => ({ created_before: "2020-01-01T00:00:00Z" })],
    ["window after all rows", () => ({ created_after: "2999-01-01T00:00:00Z" })],
    ["empty window (after > before)", () => ({ created_after: t2, created_before: t1 })],
    ["direction + type", () => ({ direction: "outbound", type: "sms" })],
    ["direction + status", () => ({ direction: "inbound", status: "failed" })],
    ["direction + customer_id", () => ({ direction: "outbound", customer_id: who.customerId })],
    ["direction + delivery_id", () => ({ direction: "inbound", delivery_id: deliveries[1] })],
    ["created window + customer_id", () => ({ created_after: t1, created_before: t2, customer_id: otherCustomer })],
    ["created window + delivery_id", () => ({ created_after: t1, delivery_id: deliveries[0] })],
    ["created window + type", () => ({ created_before: t2, type: "email" })],
    ["created window + status", () => ({ created_after: t1, status: "delivered" })],
    [
      "everything at once",
      () => ({ direction: "outbound", created_after: t1, created_before: t2, type: "sms", customer_id: otherCustomer }),
    ],
  ];

  it.each(cases)("%s: first page, total and both orders match the model", async (_name, filters) => {
    const f = filters();
    const token = await who.viewer();
    for (const order of ["desc", "asc"] as const) {
      const expected = model(rows, f, order);
      const res = await call(qs({ ...f, sort_order: order, limit: 100 }), { token });
      expect(res.status, res.text).toBe(200);
      expect(res.json.communications.map((c: Row) => c.id)).toEqual(expected);
      expect(res.json.total).toBe(expected.length);
      expect(res.json.total_pages).toBe(Math.ceil(expected.length / 100));
    }
  });

  it.each(cases)("%s: cursor walk (limit 4) returns every match once, in order", async (_name, filters) => {
    const f = filters();
    const token = await who.viewer();
    for (const order of ["asc", "desc"] as const) {
      const { ids, totals } = await walk(token, { ...f, sort_order: order }, 4);
      expect(ids).toEqual(model(rows, f, order));
      expect(totals).toEqual([ids.length]);
    }
  });

  it("the seeded mix makes the filters selective (the cases above are not trivially all or nothing)", () => {
    const all = rows.length;
    for (const f of [{ direction: "inbound" }, { created_after: t1 }, { created_before: t2 }]) {
      const n = model(rows, f).length;
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThan(all);
    }
  });

  it("sort_order defaults to desc (newest first)", async () => {
    const res = await call(qs({ limit: 100 }), { token: await who.viewer() });
    expect(res.json.communications.map((c: Row) => c.id)).toEqual(model(rows, {}, "desc"));
    const created = res.json.communications.map((c: Row) => c.created_at);
    expect([...created].sort().reverse()).toEqual(created);
  });

  it("page paging in asc order: pages partition the ordered result", async () => {
    const token = await who.viewer();
    const expected = model(rows, { direction: "outbound" }, "asc");
    const got: string[] = [];
    for (let page = 1; page <= Math.ceil(expected.length / 5); page++) {
      const res = await call(qs({ direction: "outbound", sort_order: "asc", limit: 5, page }), { token });
      expect(res.json.page).toBe(page);
      got.push(...res.json.communications.map((c: Row) => c.id));
    }
    expect(got).toEqual(expected);
  });

  it("created_after is inclusive and created_before exclusive, to the millisecond", async () => {
    const token = await who.viewer();
    const row = rows[10] as Row;
    const after = await call(qs({ created_after: row.created_at, limit: 100 }), { token });
    expect(after.json.communications.map((c: Row) => c.id)).toContain(row.id);
    const before = await call(qs({ created_before: row.created_at, limit: 100 }), { token });
    expect(before.json.communications.map((c: Row) => c.id)).not.toContain(row.id);
    const justAfter = new Date(Date.parse(row.created_at) + 1).toISOString();
    const upTo = await call(qs({ created_before: justAfter, limit: 100 }), { token });
    expect(upTo.json.communications.map((c: Row) => c.id)).toContain(row.id);
  });

  it("a customer's filters apply within their own rows only", async () => {
    const token = await who.customer();
    const f = { direction: "outbound", created_after: t1 };
    const res = await call(qs({ ...f, sort_order: "asc", limit: 100 }), { token });
    expect(res.status, res.text).toBe(200);
    expect(res.json.communications.map((c: Row) => c.id)).toEqual(
      model(rows, { ...f, customer_id: who.customerId }, "asc"),
    );
    expect(res.json.total).toBe(res.json.communications.length);
  });

  it("empty values mean not given (as in the seed's example URLs)", async () => {
    const res = await call("?direction=&created_after=&created_before=&sort_order=&limit=100", {
      token: await who.viewer(),
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.communications.map((c: Row) => c.id)).toEqual(model(rows, {}, "desc"));
  });

  it("a cursor from a desc walk is refused in asc order (and vice versa)", async () => {
    const token = await who.viewer();
    const desc = await call(qs({ limit: 2 }), { token });
    const asc = await call(qs({ limit: 2, sort_order: "asc" }), { token });
    for (const [cursor, order] of [
      [desc.json.next_cursor, "asc"],
      [asc.json.next_cursor, "desc"],
    ]) {
      const res = await call(qs({ cursor, sort_order: order }), { token });
      expect(res.status, res.text).toBe(400);
      expect(res.json.errors).toEqual([{ field: "cursor", message: "cursor is invalid" }]);
    }
  });

  it.each([
    ["direction", "sideways"],
    ["sort_order", "newest"],
    ["sort_order", "ASC"],
    ["created_after", "yesterday"],
    ["created_after", "2026-01-01"],
    ["created_after", "2026-13-01T00:00:00Z"],
    ["created_after", "2026-01-01T00:00:00"],
    ["created_before", "2026-02-30T00:00:00Z"],
    ["created_before", "1767225600000"],
  ])("%s=%s is 400 naming the parameter", async (name, value) => {
    const res = await call(qs({ [name]: value }), { token: await who.viewer() });
    expect(res.status, res.text).toBe(400);
    expect(res.json.success).toBe(false);
    expect(res.json.errors.map((e: { field: string }) => e.field)).toEqual([name]);
  });
});
