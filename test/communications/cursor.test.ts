/**
 * Keyset cursors (`cursor` / `next_cursor`): a walk returns every row that
 * existed when it started exactly once, in order, in both sort orders and
 * with filters, also while rows are being created between page fetches.
 * Malformed cursors and a cursor combined with `page` are 400s; the last
 * page has `next_cursor: null`.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { encodeCursor } from "../../src/communications/cursor";
import { COMMUNICATION_TYPES as TYPES } from "../../src/db/schema";
import { call, callers, communicationBody, newTenant, seed } from "../support/helpers";

type Row = Record<string, any>;

interface Walk {
  ids: string[];
  pages: number;
  lastNextCursor: unknown;
}

/**
 * Follows next_cursor from the first page to the end. `between` runs after
 * each page (e.g. to create rows while the walk is in progress).
 */
async function walk(token: string, query: Record<string, string>, between?: () => Promise<void>): Promise<Walk> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  let last: unknown;
  for (;;) {
    const params = new URLSearchParams({ ...query, ...(cursor ? { cursor } : {}) });
    const res = await call(`?${params}`, { token });
    expect(res.status, res.text).toBe(200);
    pages++;
    ids.push(...res.json.communications.map((c: Row) => c.id));
    last = res.json.next_cursor;
    if (cursor) expect(res.json.page, "a cursor page has no page number").toBeNull();
    if (last === null) break;
    expect(res.json.communications.length, "only the last page may be short").toBe(Number(query.limit));
    cursor = last as string;
    if (pages > 1000) throw new Error("walk does not end");
    if (between) await between();
  }
  return { ids, pages, lastNextCursor: last };
}

const sortedIds = (rows: Row[], order: "desc" | "asc") =>
  rows.map((r) => r.id as string).sort((a, b) => (order === "desc" ? (a < b ? 1 : -1) : a < b ? -1 : 1));

describe("cursor walks", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  const otherCustomer = crypto.randomUUID();
  let rows: Row[] = [];

  beforeAll(async () => {
    const admin = await who.admin();
    rows = await seed(
      admin,
      Array.from({ length: 23 }, (_, i) =>
        communicationBody({
          type: TYPES[i % 4],
          direction: i % 3 === 0 ? "inbound" : "outbound",
          customer_id: i % 2 === 0 ? who.customerId : otherCustomer,
        }),
      ),
    );
    // Another tenant's rows never show up in these walks.
    await seed(await callers(newTenant()).admin(), [communicationBody(), communicationBody()]);
  });

  const cases: { name: string; query: Record<string, string>; keep: (r: Row) => boolean }[] = [
    { name: "no filter", query: {}, keep: () => true },
    { name: "type=sms", query: { type: "sms" }, keep: (r) => r.type === "sms" },
    { name: "direction=outbound", query: { direction: "outbound" }, keep: (r) => r.direction === "outbound" },
    {
      name: "customer_id + direction=outbound",
      query: { customer_id: who.customerId, direction: "outbound" },
      keep: (r) => r.customer_id === who.customerId && r.direction === "outbound",
    },
  ];

  for (const order of ["desc", "asc"] as const) {
    for (const c of cases) {
      it(`${order}, ${c.name}: every row exactly once, in order`, async () => {
        const query = { ...c.query, sort_order: order, limit: "4" };
        const expected = sortedIds(rows.filter(c.keep), order);
        expect(expected.length, "the filter keeps more than one page").toBeGreaterThan(4);
        const result = await walk(await who.viewer(), query);
        expect(result.ids).toEqual(expected);
        expect(new Set(result.ids).size).toBe(result.ids.length);
        expect(result.pages).toBe(Math.ceil(expected.length / 4));
      });
    }
  }

  it("a customer's walk covers exactly their rows", async () => {
    const result = await walk(await who.customer(), { limit: "3" });
    expect(result.ids).toEqual(
      sortedIds(
        rows.filter((r) => r.customer_id === who.customerId),
        "desc",
      ),
    );
  });

  it("next_cursor is null on the last page, also when the rows fill it exactly", async () => {
    const token = await who.viewer();
    // 23 rows: 23 = 1 page of 23 exactly; no empty page after it.
    const exact = await call("?limit=23", { token });
    expect(exact.json.communications).toHaveLength(23);
    expect(exact.json.next_cursor).toBeNull();
    const more = await call("?limit=22", { token });
    expect(more.json.next_cursor).toEqual(expect.any(String));
    const rest = await call(`?limit=22&cursor=${more.json.next_cursor}`, { token });
    expect(rest.json.communications).toHaveLength(1);
    expect(rest.json.next_cursor).toBeNull();
  });
});

describe("cursor walks while rows are being created", () => {
  for (const order of ["desc", "asc"] as const) {
    it(`${order}: rows present at the start come exactly once; no row twice; order kept`, async () => {
      const who = callers(newTenant());
      const admin = await who.admin();
      const before = await seed(
        admin,
        Array.from({ length: 15 }, (_, i) => communicationBody({ type: TYPES[i % 2] })),
      );
      const created: Row[] = [];
      const result = await walk(await who.viewer(), { sort_order: order, limit: "4" }, async () => {
        // Two new rows (one matching nothing special) after every page.
        created.push(...(await seed(admin, [communicationBody(), communicationBody({ type: "call" })])));
      });
      expect(created.length).toBeGreaterThan(0);
      expect(new Set(result.ids).size, "no row twice").toBe(result.ids.length);
      for (const r of before) expect(result.ids).toContain(r.id);
      const sorted = [...result.ids].sort();
      expect(result.ids).toEqual(order === "desc" ? sorted.reverse() : sorted);
      if (order === "desc") {
        // New rows are newer than the cursor: a newest-first walk already passed them.
        expect(result.ids).toEqual(sortedIds(before, "desc"));
      } else {
        // Oldest first: the walk reaches the rows created meanwhile, each once.
        expect(result.ids.slice(0, before.length)).toEqual(sortedIds(before, "asc"));
        for (const id of result.ids.slice(before.length)) expect(created.map((r) => r.id)).toContain(id);
      }
    });
  }

  it("with a filter, the filter holds on every page", async () => {
    const who = callers(newTenant());
    const admin = await who.admin();
    const before = await seed(
      admin,
      Array.from({ length: 12 }, (_, i) => communicationBody({ type: i % 2 ? "sms" : "email" })),
    );
    const result = await walk(await who.viewer(), { type: "sms", limit: "2" }, async () => {
      await seed(admin, [communicationBody({ type: "sms" }), communicationBody({ type: "email" })]);
    });
    expect(result.ids).toEqual(
      sortedIds(
        before.filter((r) => r.type === "sms"),
        "desc",
      ),
    );
  });
});

describe("invalid cursors", () => {
  const who = callers(newTenant());
  const id = "0195f3c2-6d1e-7b4a-9c3e-1a2b3c4d5e6f";

  it.each([
    ["not base64", "!!!"],
    ["garbage", "abc"],
    ["no id", Buffer.from("d:").toString("base64url")],
    ["not a uuid", Buffer.from("d:1234").toString("base64url")],
    ["uppercase id", Buffer.from(`d:${id.toUpperCase()}`).toString("base64url")],
    ["asc cursor on a desc walk", encodeCursor("asc", id)],
    ["too long", "a".repeat(201)],
  ])("%s -> 400 naming the cursor", async (_name, cursor) => {
    const res = await call(`?cursor=${encodeURIComponent(cursor)}`, { token: await who.viewer() });
    expect(res.status, res.text).toBe(400);
    expect(res.json.success).toBe(false);
    expect(JSON.stringify(res.json.errors)).toContain("cursor");
  });

  it("a desc cursor on an asc walk -> 400", async () => {
    const res = await call(`?sort_order=asc&cursor=${encodeCursor("desc", id)}`, { token: await who.viewer() });
    expect(res.status).toBe(400);
  });

  it("cursor with page -> 400", async () => {
    const res = await call(`?page=2&cursor=${encodeCursor("desc", id)}`, { token: await who.viewer() });
    expect(res.status, res.text).toBe(400);
    expect(JSON.stringify(res.json.errors)).toContain("cursor");
  });

  it("a well-formed cursor past the end -> 200, empty page, next_cursor null", async () => {
    const res = await call(`?cursor=${encodeCursor("desc", "00000000-0000-7000-8000-000000000000")}`, {
      token: await who.viewer(),
    });
    expect(res.status).toBe(200);
    expect(res.json.communications).toEqual([]);
    expect(res.json.next_cursor).toBeNull();
  });
});
