/**
 * D1 cost of `address` and `q` pages (search.md: an address page reads about
 * as many rows as a customer_id page; a q page reads rows in proportion to
 * the page and the matches skipped, never the tenant's table; `total` with
 * q is capped as the date-window totals are). Asserted from the
 * Server-Timing row counts (local D1's rows_read), not timed.
 *
 * A tenant of 3,000 communications is seeded through the real tables (the
 * index's triggers run), each shape measured, then 3,000 older ones are
 * added and each shape must read no more. A neighbour tenant on the same
 * shard with the same words and addresses must change nothing.
 */

import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeCursor } from "../../src/communications/cursor";
import { MAX_RESULT_WINDOW } from "../../src/communications/schemas";
import { uuidv7 } from "../../src/lib/uuid";
import { call, callers, callMeasured, newTenant, placeTenant, qs, shardOf } from "../support/helpers";

const GENERATION = 3000;
const LIMIT = 20;
const PER_CUSTOMER = 50;
/** Each page row costs its index step, its document number and its row (rows_read counts each). */
const PER_ROW = 3;
const SLACK = 6;

const hex12 = (n: number) => n.toString(16).padStart(12, "0");
const customer = (k: number) => `c0000000-0000-4000-8000-${hex12(k)}`;
const phoneOf = (k: number) => `+96475${String(k).padStart(8, "0")}`;

interface Row {
  id: string;
  customer: number;
  type: string;
  content: string;
}

/** Row i (0 = newest) of a tenant; words with fixed frequencies: "delivery" 90%, "closure" 1%, "#<delivery>" 4 rows each. */
function rowAt(now: number, i: number): Row {
  const delivery = Math.floor(i / 4);
  const words = [
    i % 10 === 9 ? "Your order" : "Your delivery",
    `#${delivery}`,
    i % 100 === 37 ? "is delayed by the Erbil depot closure" : "is on its way",
  ];
  return {
    id: uuidv7(now - i * 60_000),
    customer: Math.floor(i / PER_CUSTOMER),
    type: i % 5 === 0 ? "email" : "sms",
    content: words.join(" "),
  };
}

async function insert(tenant: string, rows: Row[]) {
  const db = await placeTenant(tenant);
  const stmt = db.prepare(
    `INSERT INTO communications (tenant_id, id, customer_id, type, direction, status, content, communication_details, created_by, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'outbound', ?, ?, ?, 'seed', ?, ?)`,
  );
  for (let i = 0; i < rows.length; i += 500) {
    await db.batch(
      rows.slice(i, i + 500).map((r) => {
        const at = new Date(Number.parseInt(r.id.slice(0, 8) + r.id.slice(9, 13), 16)).toISOString();
        return stmt.bind(
          tenant,
          r.id,
          customer(r.customer),
          r.type,
          Number.parseInt(r.id.slice(-2), 16) % 10 === 0 ? "failed" : "delivered",
          r.content,
          JSON.stringify({ sender: { phone: "+15551234567" }, recipient: { phone: phoneOf(r.customer) } }),
          at,
          at,
        );
      }),
    );
  }
}

function cost(headers: Headers) {
  const m = /(\d+) queries, (\d+) rows read, (\d+) rows written/.exec(headers.get("server-timing") ?? "");
  if (!m) throw new Error(`no D1 figures: ${headers.get("server-timing")}`);
  return { queries: Number(m[1]), read: Number(m[2]), written: Number(m[3]) };
}

interface Shape {
  name: string;
  query: Record<string, string>;
  asCustomer?: boolean;
  /** Rows read must stay under this at both sizes (a count capped at the window reads up to it). */
  bound: (matches: number) => number;
}

describe("rows read per search shape do not grow with the tenant, nor with a neighbour", () => {
  const tenant = newTenant();
  const neighbour = newTenant();
  const who = callers(tenant);
  const now = Date.now() - 60_000;
  const young = Array.from({ length: GENERATION }, (_, i) => rowAt(now, i));
  const old = Array.from({ length: GENERATION }, (_, i) => rowAt(now, GENERATION + i));
  const busy = young[40] as Row;
  const middle = young[GENERATION / 2] as Row;
  const page = (walked: number) => PER_ROW * walked + SLACK;

  const shapes: Shape[] = [
    // The customer's ~50 messages: the page, and a count of at most that many.
    {
      name: "address (a customer's phone)",
      query: { address: phoneOf(busy.customer) },
      bound: (n) => page(LIMIT + 1) + n,
    },
    {
      name: "customer_id (for comparison)",
      query: { customer_id: customer(busy.customer) },
      bound: (n) => 2 * (LIMIT + 1) + n + SLACK,
    },
    { name: "q: a rare word (closure)", query: { q: "closure" }, bound: (n) => page(Math.min(n, LIMIT + 1)) + n },
    { name: "q: one delivery's number", query: { q: String(Math.floor(40 / 4)) }, bound: (n) => page(n) + n },
    {
      name: "q: a common word (delivery, 90%)",
      query: { q: "delivery" },
      bound: (n) => page(LIMIT + 1) + Math.min(n, MAX_RESULT_WINDOW + 1),
    },
    {
      name: "q: a prefix (deliv*)",
      query: { q: "deliv*" },
      bound: (n) => page(LIMIT + 1) + Math.min(n, MAX_RESULT_WINDOW + 1),
    },
    {
      name: 'q: a phrase ("on its way")',
      query: { q: '"on its way"' },
      bound: (n) => page(LIMIT + 1) + Math.min(n, MAX_RESULT_WINDOW + 1),
    },
    {
      name: "q + customer token",
      query: { q: "delivery" },
      asCustomer: true,
      bound: (n) => page(LIMIT + 1) + n,
    },
    {
      name: "q + type=email (a facet, in the index)",
      query: { q: "delivery", type: "email" },
      bound: (n) => page(LIMIT + 1) + Math.min(n, MAX_RESULT_WINDOW + 1),
    },
    {
      name: "q + status=failed (filtered through the rows)",
      query: { q: "delivery", status: "failed" },
      // 1 in 10 is failed: the walk visits about ten matches per row returned. The count
      // examines at most the window's worth of the index's matches, each with its row.
      bound: () => page(10 * (LIMIT + 1) + 20) + PER_ROW * (MAX_RESULT_WINDOW + 1),
    },
    {
      name: "q + deep cursor",
      query: { q: "delivery", cursor: encodeCursor("desc", middle.id) },
      bound: (n) => page(LIMIT + 1) + 1 + Math.min(n, MAX_RESULT_WINDOW + 1),
    },
    {
      name: "q + page=5",
      query: { q: "delivery", page: "5" },
      bound: (n) => page(5 * LIMIT + 1) + Math.min(n, MAX_RESULT_WINDOW + 1),
    },
    {
      name: "address + q",
      query: { address: phoneOf(busy.customer), q: "delivery" },
      bound: (n) => page(LIMIT + 1) + n,
    },
  ];
  const measured = new Map<string, { young: number; grown: number; total: number }>();

  async function measure(s: Shape) {
    const token = s.asCustomer ? await who.customer(customer(busy.customer)) : await who.viewer();
    const res = await callMeasured(qs({ ...s.query, limit: LIMIT }), { token });
    expect(res.status, `${s.name}: ${res.text}`).toBe(200);
    return { read: res.d1.read, total: res.json.total as number, queries: res.d1.queries };
  }

  beforeAll(async () => {
    // The neighbour: as many rows, the same words and phone numbers, on the same shard.
    await placeTenant(tenant);
    const shard = await shardOf(tenant);
    await env.DIRECTORY.prepare("INSERT INTO tenants (tenant_id, shard, frozen, created_at) VALUES (?, ?, 0, ?)")
      .bind(neighbour, shard, new Date().toISOString())
      .run();
    expect(await shardOf(neighbour)).toBe(shard);
    await insert(tenant, young);
    for (const s of shapes) {
      const m = await measure(s);
      measured.set(s.name, { young: m.read, grown: 0, total: m.total });
    }
    await insert(tenant, old);
    await insert(
      neighbour,
      [...young, ...old].map((r) => ({ ...r, id: uuidv7(Number.parseInt(r.id.slice(0, 8) + r.id.slice(9, 13), 16)) })),
    );
    for (const s of shapes) {
      const entry = measured.get(s.name);
      if (entry) entry.grown = (await measure(s)).read;
    }
  }, 180_000);

  it.each(shapes.map((s) => [s.name, s] as const))("%s: bounded by the page and its matches", (_n, s) => {
    const entry = measured.get(s.name);
    if (!entry) throw new Error("not measured");
    const bound = s.bound(entry.total);
    console.info(
      `${s.name.padEnd(44)} total ${String(entry.total).padStart(5)}  rows read ${entry.young} -> ${entry.grown} (bound ${bound})`,
    );
    expect(entry.young).toBeLessThanOrEqual(bound);
    expect(entry.grown).toBeLessThanOrEqual(s.bound(entry.total) * 2);
    // Twice the rows (older), and a neighbour as big: a shape whose matches are
    // bounded reads no more; one whose count grows stops at the window.
    expect(entry.grown).toBeLessThanOrEqual(
      Math.max(entry.young, PER_ROW * (MAX_RESULT_WINDOW + 1) + page(5 * LIMIT + 1)),
    );
  });

  it("an address page reads what a customer_id page reads, plus two rows per row returned", () => {
    const address = measured.get("address (a customer's phone)");
    const byCustomer = measured.get("customer_id (for comparison)");
    console.info(`address page ${address?.grown} rows read; customer_id page ${byCustomer?.grown}`);
    // The same count (the customer's 50 messages); each page row also costs its
    // step in the search index and its document number (see BENCHMARKS.md).
    expect(address?.grown).toBeLessThanOrEqual((byCustomer?.grown ?? 0) + 2 * (LIMIT + 1) + SLACK);
  });

  it("no shape reads the tenant's table: rare shapes read a fraction of it, common ones stop at the count's window", () => {
    for (const [name, m] of measured) {
      if (m.total <= LIMIT * 3) expect(m.grown, name).toBeLessThan((2 * GENERATION) / 20);
      expect(m.grown, name).toBeLessThan(PER_ROW * (MAX_RESULT_WINDOW + 1) + page(5 * LIMIT + 1) + SLACK);
    }
  });
});

describe("total with q follows the capped-total rule", () => {
  it(`more than ${MAX_RESULT_WINDOW} matches: total ${MAX_RESULT_WINDOW}, total_relation gte, counted without reading the rest`, async () => {
    const tenant = newTenant();
    const now = Date.now() - 60_000;
    const n = MAX_RESULT_WINDOW + 600;
    await insert(
      tenant,
      Array.from({ length: n }, (_, i) => ({ ...rowAt(now, i), content: `delivery ${i}` })),
    );
    const res = await call(qs({ q: "delivery", limit: 100 }), { token: await callers(tenant).viewer() });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ total: MAX_RESULT_WINDOW, total_relation: "gte" });
    const c = cost(res.headers);
    console.info(`q with ${n} matches: ${c.read} rows read`);
    expect(c.read).toBeLessThanOrEqual(MAX_RESULT_WINDOW + 1 + PER_ROW * 101 + SLACK);
    // A rarer word on the same tenant: exact.
    const exact = await call(qs({ q: "1234" }), { token: await callers(tenant).viewer() });
    expect(exact.json).toMatchObject({ total: 1, total_relation: "eq" });
  }, 120_000);
});
