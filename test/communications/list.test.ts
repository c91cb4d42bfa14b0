/**
 * GET /delivery/customer-communications: every filter alone and combined,
 * pagination (sizes, totals, no overlap, newest first with ties by id, past
 * the end, bounds, defaults), empty parameters, and `total` from the
 * trigger-kept counters after creates of every type, direction and status.
 */

import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DIRECTIONS, STATUSES, COMMUNICATION_TYPES as TYPES } from "../../src/db/schema";
import { call, callers, communicationBody, newTenant, seed } from "../support/helpers";

interface Row {
  id: string;
  tenant_id: string;
  customer_id: string;
  delivery_id: string | null;
  type: string;
  direction: string;
  status: string;
  created_at: string;
}

/** Newest first, ties by id: exactly descending id order (ids are UUIDv7). */
const newestFirst = (rows: Row[]) => [...rows].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
const idsOf = (rows: { id: string }[]) => rows.map((r) => r.id);

describe("filters", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  const customers = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
  const deliveries = [crypto.randomUUID(), crypto.randomUUID(), null];
  let rows: Row[] = [];

  beforeAll(async () => {
    const bodies = Array.from({ length: 24 }, (_, i) =>
      communicationBody({
        customer_id: customers[i % 3],
        delivery_id: deliveries[Math.floor(i / 3) % 3],
        type: TYPES[i % 4],
        status: STATUSES[Math.floor(i / 4) % 4],
        direction: DIRECTIONS[i % 5 === 0 ? 1 : 0],
      }),
    );
    rows = await seed(await who.admin(), bodies);
    // Another tenant with the same customers and deliveries: never listed here.
    await seed(await callers(newTenant()).admin(), bodies.slice(0, 6));
  });

  const c0 = () => customers[0] as string;
  const d0 = () => deliveries[0] as string;
  const cases: { name: string; query: () => string; keep: (r: Row) => boolean }[] = [
    { name: "customer_id", query: () => `customer_id=${c0()}`, keep: (r) => r.customer_id === c0() },
    { name: "delivery_id", query: () => `delivery_id=${d0()}`, keep: (r) => r.delivery_id === d0() },
    { name: "type", query: () => "type=email", keep: (r) => r.type === "email" },
    { name: "status", query: () => "status=failed", keep: (r) => r.status === "failed" },
    { name: "direction", query: () => "direction=inbound", keep: (r) => r.direction === "inbound" },
    {
      name: "customer_id + type",
      query: () => `customer_id=${c0()}&type=sms`,
      keep: (r) => r.customer_id === c0() && r.type === "sms",
    },
    {
      name: "delivery_id + status",
      query: () => `delivery_id=${d0()}&status=sent`,
      keep: (r) => r.delivery_id === d0() && r.status === "sent",
    },
    {
      name: "type + status",
      query: () => "type=call&status=delivered",
      keep: (r) => r.type === "call" && r.status === "delivered",
    },
    {
      name: "customer_id + delivery_id",
      query: () => `customer_id=${c0()}&delivery_id=${d0()}`,
      keep: (r) => r.customer_id === c0() && r.delivery_id === d0(),
    },
    {
      name: "all four published filters",
      query: () => `customer_id=${customers[1]}&delivery_id=${deliveries[1]}&type=email&status=read`,
      keep: (r) =>
        r.customer_id === customers[1] && r.delivery_id === deliveries[1] && r.type === "email" && r.status === "read",
    },
    {
      name: "all four with empty ones ignored",
      query: () => `customer_id=${c0()}&delivery_id=&type=&status=sent`,
      keep: (r) => r.customer_id === c0() && r.status === "sent",
    },
    {
      name: "a combination nothing matches",
      query: () => `customer_id=${c0()}&type=email&status=sent`,
      keep: (r) => r.customer_id === c0() && r.type === "email" && r.status === "sent",
    },
    { name: "an unknown customer", query: () => `customer_id=${crypto.randomUUID()}`, keep: () => false },
  ];

  it("the seed covers every case with at least one match, and one case with none", () => {
    for (const c of cases.slice(0, 11)) expect(rows.filter(c.keep).length, c.name).toBeGreaterThan(0);
    expect(rows.filter(cases[11]?.keep ?? (() => true))).toHaveLength(0);
  });

  it.each(cases)("$name: exactly the matching rows, newest first, with the right total", async ({ query, keep }) => {
    const res = await call(`?limit=100&${query()}`, { token: await who.viewer() });
    expect(res.status, res.text).toBe(200);
    const expected = newestFirst(rows.filter(keep));
    expect(idsOf(res.json.communications)).toEqual(idsOf(expected));
    expect(res.json.total).toBe(expected.length);
    expect(res.json.total_pages).toBe(Math.ceil(expected.length / 100));
  });

  it.each(cases)("$name: the total is the same on a page that shows only part", async ({ query, keep }) => {
    const res = await call(`?limit=1&${query()}`, { token: await who.viewer() });
    const expected = newestFirst(rows.filter(keep));
    expect(res.json.total).toBe(expected.length);
    expect(idsOf(res.json.communications)).toEqual(idsOf(expected.slice(0, 1)));
  });

  it("returns communications in the contract's shape", async () => {
    const res = await call(`?customer_id=${c0()}&limit=1`, { token: await who.viewer() });
    const [item] = res.json.communications;
    expect(Object.keys(item)).toEqual([
      "id",
      "tenant_id",
      "customer_id",
      "delivery_id",
      "type",
      "direction",
      "status",
      "content",
      "communication_details",
      "provider",
      "provider_message_id",
      "created_by",
      "created_at",
      "updated_at",
      "redacted_at",
    ]);
    expect(item.tenant_id).toBe(tenant);
    expect(item.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });
});

describe("pagination", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  let all: Row[] = [];

  beforeAll(async () => {
    const created = await seed(
      await who.admin(),
      Array.from({ length: 23 }, () => communicationBody()),
    );
    all = newestFirst(created);
  });

  it("defaults to page 1 and limit 10", async () => {
    const res = await call("", { token: await who.viewer() });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ success: true, page: 1, limit: 10, total: 23, total_pages: 3 });
    expect(idsOf(res.json.communications)).toEqual(idsOf(all.slice(0, 10)));
  });

  it("empty page and limit mean not given", async () => {
    const res = await call("?page=&limit=", { token: await who.viewer() });
    expect(res.json).toMatchObject({ page: 1, limit: 10, total: 23 });
    expect(res.json.communications).toHaveLength(10);
  });

  it.each([1, 5, 7, 10, 23, 100])(
    "limit %i: pages of that size, no overlap, newest first, all rows once",
    async (limit) => {
      const token = await who.viewer();
      const pages = Math.ceil(23 / limit);
      const seen: string[] = [];
      for (let page = 1; page <= pages; page++) {
        const res = await call(`?page=${page}&limit=${limit}`, { token });
        expect(res.status).toBe(200);
        expect(res.json).toMatchObject({ page, limit, total: 23, total_pages: pages });
        expect(res.json.communications).toHaveLength(page < pages ? limit : 23 - limit * (pages - 1));
        seen.push(...idsOf(res.json.communications));
      }
      expect(new Set(seen).size).toBe(23);
      expect(seen).toEqual(idsOf(all));
    },
  );

  it("created_at never increases down the list", async () => {
    const res = await call("?limit=100", { token: await who.viewer() });
    const times = res.json.communications.map((c: Row) => c.created_at);
    expect(times).toEqual([...times].sort().reverse());
  });

  it.each([4, 5, 1000])("page %i past the end: an empty list, total still right", async (page) => {
    const res = await call(`?page=${page}&limit=10`, { token: await who.viewer() });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ success: true, communications: [], total: 23, page, limit: 10, total_pages: 3 });
  });

  it("a tenant with no communications: empty first page, total 0", async () => {
    const res = await call("", { token: await callers(newTenant()).viewer() });
    expect(res.json).toMatchObject({ communications: [], total: 0, page: 1, limit: 10, total_pages: 0 });
  });

  it("the cursor walk returns every row once, in the same order as pages", async () => {
    const token = await who.viewer();
    const seen: string[] = [];
    let query = "?limit=6";
    for (;;) {
      const res = await call(query, { token });
      expect(res.status).toBe(200);
      seen.push(...idsOf(res.json.communications));
      if (!res.json.next_cursor) break;
      query = `?limit=6&cursor=${res.json.next_cursor}`;
    }
    expect(seen).toEqual(idsOf(all));
  });
});

describe("ties: communications created in the same millisecond", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  let all: Row[] = [];

  beforeAll(async () => {
    // Workers time only moves on I/O; freezing Date makes the tie certain.
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2026-11-28T14:02:55.120Z") });
    const admin = await who.admin();
    const created = await Promise.all(
      Array.from({ length: 12 }, () => seed(admin, [communicationBody()]).then(([row]) => row as Row)),
    );
    all = newestFirst(created);
  });
  afterAll(() => {
    vi.useRealTimers();
  });

  it("all share one created_at", () => {
    expect(new Set(all.map((r) => r.created_at))).toEqual(new Set(["2026-11-28T14:02:55.120Z"]));
  });

  it("are ordered by id, stable across pages, without overlap", async () => {
    const token = await who.viewer();
    const seen: string[] = [];
    for (let page = 1; page <= 4; page++) {
      const res = await call(`?page=${page}&limit=3`, { token });
      seen.push(...idsOf(res.json.communications));
    }
    expect(seen).toEqual(idsOf(all));
    // The same request twice gives the same page.
    const again = await call("?page=2&limit=3", { token });
    expect(idsOf(again.json.communications)).toEqual(seen.slice(3, 6));
  });
});

describe("invalid list parameters", () => {
  const tenant = newTenant();
  const who = callers(tenant);

  it.each([
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["limit=-1", "limit"],
    ["limit=abc", "limit"],
    ["limit=1.5", "limit"],
    ["limit=10abc", "limit"],
    ["limit=0x10", "limit"],
    ["limit=1e1", "limit"],
    ["limit=Infinity", "limit"],
    ["limit= 5", "limit"],
    ["page=+1", "page"],
    ["limit=10&limit=20", "limit"],
    ["page=0", "page"],
    ["page=-3", "page"],
    ["page=abc", "page"],
    ["page=2.5", "page"],
    ["page=1001", "page"],
    ["type=fax", "type"],
    ["type=SMS", "type"],
    ["type=sms&type=email", "type"],
    ["status=pending", "status"],
    ["direction=sideways", "direction"],
    ["customer_id=uuid", "customer_id"],
    ["customer_id=123", "customer_id"],
    ["delivery_id=uuid", "delivery_id"],
    ["tenant_id=acme", "tenant_id"],
    ["created_after=yesterday", "created_after"],
    ["sort_order=random", "sort_order"],
    ["cursor=not-a-cursor", "cursor"],
  ])("%s: 400 naming %s", async (query, field) => {
    const res = await call(`?${query}`, { token: await who.viewer() });
    expect(res.status, res.text).toBe(400);
    expect(res.json.success).toBe(false);
    expect(res.json.message).toBe("Invalid request parameters");
    expect(res.json.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    expect(res.json.errors[0].message).toMatch(new RegExp(`^${field} `));
  });

  it("names every offending field at once", async () => {
    const res = await call("?page=0&limit=500&type=fax&status=x&customer_id=1", { token: await who.viewer() });
    expect(res.status).toBe(400);
    expect(res.json.errors.map((e: { field: string }) => e.field).sort()).toEqual(
      ["customer_id", "limit", "page", "status", "type"].sort(),
    );
  });

  it.each(["limit=1", "limit=100", "page=1000", "limit=010", "limit=0100"])("%s is accepted", async (query) => {
    const res = await call(`?${query}`, { token: await who.viewer() });
    expect(res.status, res.text).toBe(200);
  });
});

describe("total from the counters, after creates of every type, direction and status", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  const customer = crypto.randomUUID();
  let rows: Row[] = [];

  beforeAll(async () => {
    const bodies = TYPES.flatMap((type) =>
      DIRECTIONS.flatMap((direction) =>
        STATUSES.map((status) => communicationBody({ type, direction, status, customer_id: customer })),
      ),
    );
    rows = await seed(await who.admin(), bodies);
  });

  const any = [undefined] as const;
  const combos = [...any, ...TYPES].flatMap((type) =>
    [...any, ...DIRECTIONS].flatMap((direction) =>
      [...any, ...STATUSES].map((status) => ({ type, direction, status })),
    ),
  );

  it("every one of the 32 cells was created once", () => {
    expect(rows).toHaveLength(32);
    expect(new Set(rows.map((r) => `${r.type}/${r.direction}/${r.status}`)).size).toBe(32);
  });

  it("total is right for every combination of type, direction and status, counted or not", async () => {
    const token = await who.viewer();
    for (const { type, direction, status } of combos) {
      const params = new URLSearchParams({ limit: "100" });
      if (type) params.set("type", type);
      if (direction) params.set("direction", direction);
      if (status) params.set("status", status);
      const expected = rows.filter(
        (r) =>
          (!type || r.type === type) && (!direction || r.direction === direction) && (!status || r.status === status),
      ).length;
      const fromCounters = await call(`?${params}`, { token });
      expect(fromCounters.json.total, params.toString()).toBe(expected);
      expect(fromCounters.json.communications).toHaveLength(expected);
      // The same filters with a customer: counted through the customer index.
      params.set("customer_id", customer);
      const counted = await call(`?${params}`, { token });
      expect(counted.json.total, params.toString()).toBe(expected);
    }
  });
});
