/**
 * `total` without customer/delivery/date filters is summed from
 * communication_totals, which triggers keep per (tenant, type, direction,
 * status). After a mix of creates and status changes (applied, refused,
 * concurrent), every status/type/direction filter's `total` must equal the
 * number of rows the list walk actually returns, and the state we expect.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { DIRECTIONS, STATUSES, COMMUNICATION_TYPES as TYPES } from "../../src/db/schema";
import { call, callers, callMeasured, communicationBody, newTenant, placeTenant, qs, seed } from "../support/helpers";

type Row = Record<string, any>;

const at = (minutes: number) => new Date(Date.now() - 60 * 60_000 + minutes * 60_000).toISOString();

/** The list's `total` on page 1, and the ids a full cursor walk returns. */
async function totalAndWalk(token: string, filters: Record<string, string | undefined>) {
  const first = await call(qs({ ...filters, limit: 100 }), { token });
  expect(first.status, first.text).toBe(200);
  const ids: string[] = first.json.communications.map((c: Row) => c.id);
  let cursor: string | null = first.json.next_cursor;
  while (cursor) {
    const res = await call(qs({ ...filters, limit: 100, cursor }), { token });
    ids.push(...res.json.communications.map((c: Row) => c.id));
    cursor = res.json.next_cursor;
  }
  return { total: first.json.total as number, ids };
}

/** Every combination of at most one type, direction and status (5 x 3 x 5 = 75 filters). */
const combos = TYPES.flatMap((t) => [t, undefined]).flatMap((type, i, arr) =>
  arr.indexOf(type) === i
    ? [...DIRECTIONS, undefined].flatMap((direction) =>
        [...STATUSES, undefined].map((status) => ({ type, direction, status })),
      )
    : [],
);

describe("total from the trigger-kept counters", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  /** What we expect each row to be, kept from the API's answers. */
  const state = new Map<string, Row>();

  beforeAll(async () => {
    const admin = await who.admin();
    const bodies = Array.from({ length: 40 }, (_, i) =>
      communicationBody({
        type: TYPES[i % 4],
        direction: DIRECTIONS[Math.floor(i / 4) % 2],
        // Mostly sent; some created in a later state, as POST allows.
        status: i % 10 === 9 ? "delivered" : i % 10 === 8 ? "failed" : "sent",
        customer_id: i % 2 === 0 ? who.customerId : crypto.randomUUID(),
      }),
    );
    const rows = await seed(admin, bodies);
    for (const r of rows) state.set(r.id, r);

    // Status changes: applied, refused (terminal / backwards / late / repeated).
    const plan: [number, string, number][] = [
      [0, "delivered", 1],
      [0, "read", 2],
      [0, "failed", 3], // refused: read is terminal
      [1, "failed", 1],
      [1, "delivered", 2], // refused: failed is terminal
      [2, "read", 1],
      [3, "delivered", 5],
      [3, "failed", 4], // refused: late
      [4, "delivered", 1],
      [4, "delivered", 1], // refused: repeated
      [5, "sent", 1], // refused: backwards
      [9, "read", 1], // created delivered
      [8, "read", 1], // refused: created failed
      [12, "failed", 1],
      [13, "delivered", 1],
      [17, "read", 1],
      [21, "delivered", 1],
      [22, "delivered", 1],
      [22, "failed", 2],
      [31, "read", 1],
    ];
    for (const [index, status, minute] of plan) {
      const row = rows[index] as Row;
      const res = await call(`/${row.id}`, {
        method: "PATCH",
        token: admin,
        body: { status, occurred_at: at(minute) },
      });
      expect(res.status, res.text).toBe(200);
      state.set(row.id, res.json.communication);
    }
    // Concurrent duplicates: only one of each group may move the counters.
    for (const index of [25, 26, 27]) {
      const row = rows[index] as Row;
      const results = await Promise.all(
        ["delivered", "delivered", "read", "failed"].map((status) =>
          call(`/${row.id}`, { method: "PATCH", token: admin, body: { status, occurred_at: at(7) } }),
        ),
      );
      const final = await call(`/${row.id}`, { token: admin });
      expect(results.every((r) => r.status === 200)).toBe(true);
      state.set(row.id, final.json.communication);
    }
    // Another tenant's activity never leaks into these totals.
    const them = callers(newTenant());
    const [foreign] = await seed(await them.admin(), [communicationBody({ type: "sms", direction: "outbound" })]);
    await call(`/${foreign.id}`, {
      method: "PATCH",
      token: await them.admin(),
      body: { status: "read", occurred_at: at(1) },
    });
  });

  it("the status changes moved rows between statuses (the check below is not vacuous)", () => {
    const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
    for (const r of state.values()) counts[r.status] = (counts[r.status] ?? 0) + 1;
    for (const s of STATUSES) expect(counts[s]).toBeGreaterThan(0);
  });

  it("each type/direction/status filter: total == rows walked == rows expected", async () => {
    const token = await who.viewer();
    const mismatches: string[] = [];
    for (const f of combos) {
      const { total, ids } = await totalAndWalk(token, f);
      const expected = [...state.values()].filter(
        (r) =>
          (!f.type || r.type === f.type) &&
          (!f.direction || r.direction === f.direction) &&
          (!f.status || r.status === f.status),
      );
      if (total !== ids.length || total !== expected.length || new Set(ids).size !== ids.length) {
        mismatches.push(`${JSON.stringify(f)}: total ${total}, walked ${ids.length}, expected ${expected.length}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("the counted path (customer filter) agrees with the counters", async () => {
    const token = await who.viewer();
    for (const status of STATUSES) {
      const counted = await totalAndWalk(token, { status, customer_id: who.customerId });
      expect(counted.total).toBe(counted.ids.length);
      const expected = [...state.values()].filter((r) => r.status === status && r.customer_id === who.customerId);
      expect(counted.total).toBe(expected.length);
    }
  });

  it("a customer's totals count only their rows", async () => {
    const token = await who.customer();
    const { total, ids } = await totalAndWalk(token, {});
    expect(total).toBe(ids.length);
    expect(total).toBe([...state.values()].filter((r) => r.customer_id === who.customerId).length);
  });
});

describe("the unfiltered total's cost does not grow with the tenant", () => {
  const who = callers(newTenant());

  const rowsRead = async (token: string, query: string) => {
    const res = await call(query, { token });
    const m = /desc="(\d+) queries, (\d+) rows read/.exec(res.headers.get("server-timing") ?? "");
    return { total: res.json.total as number, read: Number(m?.[2]) };
  };

  it("same rows read for 8 and for 48 communications in the same counter cells", async () => {
    const admin = await who.admin();
    const token = await who.viewer();
    const batch = (n: number) =>
      Array.from({ length: n }, (_, i) => communicationBody({ type: TYPES[i % 4], direction: DIRECTIONS[i % 2] }));
    await seed(admin, batch(8));
    const small = await rowsRead(token, qs({ limit: 1 }));
    const smallTyped = await rowsRead(token, qs({ limit: 1, type: "sms" }));
    await seed(admin, batch(40));
    const large = await rowsRead(token, qs({ limit: 1 }));
    const largeTyped = await rowsRead(token, qs({ limit: 1, type: "sms" }));
    console.log(
      `list limit=1: ${small.total} rows -> ${small.read} rows read, ${large.total} rows -> ${large.read} rows read`,
    );
    expect([small.total, large.total]).toEqual([8, 48]);
    expect(large.read).toBe(small.read);
    expect(largeTyped.read).toBe(smallTyped.read);
    // Page (limit + 1) plus at most 4 types x 2 directions x 4 statuses counter cells.
    expect(large.read).toBeLessThanOrEqual(2 + 32 + 2);
  });
});

/**
 * D1 cost of each operation, from the Server-Timing header every response
 * carries (the same figures as the JSON log line's `d1` field). Printed for
 * SCALING.md's cost model; the assertions pin what must not grow with the
 * tenant. Run: npx vitest run test/communications/totals.test.ts -t "cost per operation"
 */
describe("cost per operation", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  const d1 = (res: { headers: Headers }) => {
    const m = /desc="(\d+) queries, (\d+) rows read, (\d+) rows written"/.exec(res.headers.get("server-timing") ?? "");
    const [queries, read, written] = (m ?? []).slice(1).map(Number);
    return { queries: queries as number, read: read as number, written: written as number };
  };

  it("measures every route on a 200-row tenant", async () => {
    const admin = await who.admin();
    const viewer = await who.viewer();
    const customers = [who.customerId, crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const bodies = Array.from({ length: 199 }, (_, i) =>
      communicationBody({
        customer_id: customers[i % 4],
        type: TYPES[i % 4],
        direction: DIRECTIONS[i % 3 === 0 ? 1 : 0],
      }),
    );
    const shard = await placeTenant(tenant);
    const dbSize = async () => (await shard.prepare("SELECT 1").run()).meta.size_after as number;
    const sizeBefore = await dbSize();
    const rows = await seed(admin, bodies);
    const bytesPerRow = (await dbSize()) - sizeBefore;
    const target = rows[150] as Row;
    const figures: Record<string, ReturnType<typeof d1>> = {};
    const measure = async (name: string, path: string, opts: Parameters<typeof call>[1]) => {
      const res = await call(path, opts);
      expect(res.status, res.text).toBeLessThan(300);
      figures[name] = d1(res);
      return res;
    };
    await measure("POST create", "", { method: "POST", token: admin, body: communicationBody() });
    await measure("POST create with Idempotency-Key", "", {
      method: "POST",
      token: admin,
      body: communicationBody(),
      headers: { "idempotency-key": crypto.randomUUID() },
    });
    const first = await measure("GET list, no filter, limit 10", "?limit=10", { token: viewer });
    await measure("GET list, next page by cursor", `?limit=10&cursor=${first.json.next_cursor}`, { token: viewer });
    await measure("GET list, page 5 (offset)", "?limit=10&page=5", { token: viewer });
    await measure("GET list, type=call", "?limit=10&type=call", { token: viewer });
    await measure("GET list, status=sent", "?limit=10&status=sent", { token: viewer });
    await measure("GET list, customer_id (count via index)", `?limit=10&customer_id=${who.customerId}`, {
      token: viewer,
    });
    // A customer's Server-Timing has no row counts: their cost is read from the log line.
    figures["GET list as the customer"] = (await callMeasured("?limit=10", { token: await who.customer() })).d1;
    await measure("GET list, created_after (last 20 rows)", `?limit=10&created_after=${rows[180]?.created_at}`, {
      token: viewer,
    });
    await measure("GET /:id", `/${target.id}`, { token: viewer });
    const occurred = new Date(Date.now() - 60_000).toISOString();
    await measure("PATCH applied", `/${target.id}`, {
      method: "PATCH",
      token: admin,
      body: { status: "delivered", occurred_at: occurred },
    });
    await measure("PATCH unchanged (repeat)", `/${target.id}`, {
      method: "PATCH",
      token: admin,
      body: { status: "delivered", occurred_at: occurred },
    });
    await measure("GET /:id/events", `/${target.id}/events`, { token: viewer });

    console.log(
      `storage: ${Math.round(bytesPerRow / bodies.length)} bytes per communication (row + indexes + page slack)`,
    );
    console.log(
      `D1 cost per operation (201-row tenant):\n${Object.entries(figures)
        .map(([name, f]) => `| ${name} | ${f.queries} | ${f.read} | ${f.written} |`)
        .join("\n")}`,
    );
    // Nothing here reads in proportion to the tenant (201 rows): pages read
    // about limit + 1 entries per query, totals come from <= 32 counters or
    // a selective index.
    for (const [name, f] of Object.entries(figures)) {
      if (!name.includes("customer")) expect(f.read, name).toBeLessThan(100);
    }
    expect(figures["GET /:id"]).toEqual({ queries: 1, read: 1, written: 0 });
    expect(figures["PATCH unchanged (repeat)"]?.written).toBe(0);
  });
});
