/**
 * D1 cost per request, asserted (not timed): every list shape reads about
 * "the rows it walks for its page, plus what its total needs", never the
 * tenant, and a create writes a fixed number of rows. The figures come from
 * the Server-Timing header the app sets from D1's `meta`
 * (`d1;desc="Q queries, R rows read, W rows written"`).
 *
 * A tenant of 3,000 communications is seeded in bulk through the real
 * tables (the totals triggers run), each shape is measured, then 3,000
 * older communications of other customers and deliveries are added (the
 * tenant grows over time, as in `npm run bench`) and each shape must read
 * no more than before. The bounds are computed from the seeded rows: for
 * each shape, the index entries its page walk visits (via whichever of its
 * equality filters' indexes the store picks), plus the rows its count visits
 * or the at most 32 counter cells, plus a little slack.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { encodeCursor } from "../../src/communications/cursor";
import { MAX_RESULT_WINDOW } from "../../src/communications/schemas";
import { uuidv7, uuidv7Floor, uuidv7Time } from "../../src/lib/uuid";
import {
  call,
  callers,
  callMeasured,
  communicationBody,
  newTenant,
  placeTenant,
  tenantShard,
} from "../support/helpers";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** One communication every 10 minutes, going back in time. */
const SPACING = 10 * MINUTE;
const GENERATION = 3000;
const PER_CUSTOMER = 50;
const PER_DELIVERY = 4;
const LIMIT = 20;
/** D1 reads the counter cells of the filters: at most 4 types x 2 directions x 4 statuses. */
const COUNTER_CELLS = 32;
/** End-of-range probes and the like. */
const SLACK = 4;
/**
 * The most rows one list request reads when its filters are served by one
 * index (BENCHMARKS.md): the deepest offset page (10,000 rows skipped or
 * served, plus the look-ahead row) and a count capped at 10,001 matches.
 */
const WORST_CASE_ROWS_READ = 2 * (MAX_RESULT_WINDOW + 1) + SLACK;

interface Row {
  id: string;
  customer_id: string;
  delivery_id: string;
  type: string;
  status: string;
  direction: string;
}
type Filters = Partial<Pick<Row, "customer_id" | "delivery_id" | "type" | "status" | "direction">> & {
  /** created_after / created_before as id bounds. */
  after?: string;
  before?: string;
  /** A desc cursor: bounds the page walk, not the total. */
  cursor?: string;
};

const hex12 = (n: number) => n.toString(16).padStart(12, "0");
const customer = (k: number) => `c0000000-0000-4000-8000-${hex12(k)}`;
const delivery = (k: number) => `d0000000-0000-4000-8000-${hex12(k)}`;
/** Deterministic, independent draws in [0, 100) for row i (murmur3's finaliser). */
function draw(i: number, salt: number): number {
  let x = Math.imul(i ^ Math.imul(salt, 0x9e3779b9), 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return (x >>> 0) % 100;
}

/** Rows i = offset .. offset + count - 1, i = 0 the newest. */
function generation(now: number, offset: number, count: number): Row[] {
  const rows: Row[] = [];
  for (let i = offset; i < offset + count; i++) {
    const d = Math.floor(i / PER_DELIVERY);
    const r1 = draw(i, 1);
    const r2 = draw(i, 7);
    rows.push({
      id: uuidv7(now - i * SPACING),
      // A delivery's messages go to one customer; customers grow with the tenant.
      customer_id: customer(Math.floor(d / (PER_CUSTOMER / PER_DELIVERY))),
      delivery_id: delivery(d),
      type: r1 < 40 ? "sms" : r1 < 70 ? "push_notification" : r1 < 90 ? "email" : "call",
      status: r2 < 50 ? "delivered" : r2 < 70 ? "read" : r2 < 90 ? "sent" : "failed",
      direction: draw(i, 13) < 10 ? "inbound" : "outbound",
    });
  }
  return rows;
}

async function insert(tenant: string, rows: Row[]) {
  const db = await placeTenant(tenant);
  const stmt = db.prepare(
    `INSERT INTO communications (tenant_id, id, customer_id, delivery_id, type, direction, status, content,
       communication_details, created_by, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (let i = 0; i < rows.length; i += 500) {
    await db.batch(
      rows.slice(i, i + 500).map((r) => {
        const at = new Date(uuidv7Time(r.id)).toISOString();
        return stmt.bind(
          tenant,
          r.id,
          r.customer_id,
          r.delivery_id,
          r.type,
          r.direction,
          r.status,
          "Your delivery is on its way.",
          '{"template_id":"delivery-on-way"}',
          "seed",
          at,
          at,
        );
      }),
    );
  }
}

const INDEXED = ["customer_id", "delivery_id", "status", "type", "direction"] as const;
const EQUALITIES = ["customer_id", "delivery_id", "type", "status", "direction"] as const;

const matches = (r: Row, f: Filters) =>
  EQUALITIES.every((k) => f[k] === undefined || r[k] === f[k]) &&
  (f.after === undefined || r.id >= f.after) &&
  (f.before === undefined || r.id < f.before) &&
  (f.cursor === undefined || r.id < f.cursor);

/**
 * Index entries a walk visits: the entries of the index range (index column
 * equal to its filter value, ids within the bounds), in order, until `take`
 * rows match all filters (Infinity: a count, which visits the whole range).
 */
function visited(rowsDesc: Row[], index: (typeof INDEXED)[number] | undefined, f: Filters, take: number, asc = false) {
  let seen = 0;
  let found = 0;
  const ordered = asc ? [...rowsDesc].reverse() : rowsDesc;
  for (const r of ordered) {
    if (index && r[index] !== f[index]) continue;
    if ((f.after !== undefined && r.id < f.after) || (f.before !== undefined && r.id >= f.before)) continue;
    if (take !== Number.POSITIVE_INFINITY && f.cursor !== undefined && r.id >= f.cursor) continue;
    seen++;
    if (matches(r, f) && ++found === take) break;
  }
  return seen;
}

interface Shape {
  name: string;
  query: Record<string, string>;
  filters: Filters;
  /** A customer's token (their rows only) instead of a staff token. */
  asCustomer?: boolean;
  asc?: boolean;
  /** Offset rows skipped before the page (page=N). */
  skipped?: number;
}

/** The cheapest bound any sensible plan meets: page walk (worst of the filters' indexes) + count + slack. */
function bound(rowsDesc: Row[], s: Shape): number {
  const candidates = INDEXED.filter((k) => s.filters[k] !== undefined);
  const take = (s.skipped ?? 0) + LIMIT + 1;
  const page = Math.max(
    ...(candidates.length ? candidates : [undefined]).map((k) => visited(rowsDesc, k, s.filters, take, s.asc)),
  );
  const selective = s.filters.customer_id ?? s.filters.delivery_id ?? s.filters.after ?? s.filters.before;
  const countIndex = s.filters.customer_id ? "customer_id" : s.filters.delivery_id ? "delivery_id" : undefined;
  const counted = { ...s.filters, cursor: undefined };
  const count = selective ? visited(rowsDesc, countIndex, counted, Number.POSITIVE_INFINITY) : COUNTER_CELLS;
  return page + count + SLACK;
}

interface Cost {
  queries: number;
  read: number;
  written: number;
}

function cost(headers: Headers): Cost {
  const m = /d1;dur=[\d.]+;desc="(\d+) queries, (\d+) rows read, (\d+) rows written"/.exec(
    headers.get("server-timing") ?? "",
  );
  if (!m) throw new Error(`no D1 figures in Server-Timing: ${headers.get("server-timing")}`);
  return { queries: Number(m[1]), read: Number(m[2]), written: Number(m[3]) };
}

describe("rows read per list shape do not grow with the tenant", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  const now = Date.now() - MINUTE;
  const young = generation(now, 0, GENERATION);
  const all = [...young, ...generation(now, GENERATION, GENERATION)];
  const iso = (ms: number) => new Date(ms).toISOString();
  const dayFilter = { after: uuidv7Floor(now - 3 * DAY), before: uuidv7Floor(now - 2 * DAY) };
  const busy = young[40] as Row;
  const middle = young[GENERATION / 2] as Row;

  const shapes: Shape[] = [
    { name: "no filter", query: {}, filters: {} },
    { name: "type=call", query: { type: "call" }, filters: { type: "call" } },
    { name: "status=failed", query: { status: "failed" }, filters: { status: "failed" } },
    { name: "direction=inbound", query: { direction: "inbound" }, filters: { direction: "inbound" } },
    { name: "customer_id", query: { customer_id: busy.customer_id }, filters: { customer_id: busy.customer_id } },
    { name: "customer token", query: {}, filters: { customer_id: busy.customer_id }, asCustomer: true },
    {
      name: "customer token + status=read",
      query: { status: "read" },
      filters: { customer_id: busy.customer_id, status: "read" },
      asCustomer: true,
    },
    { name: "delivery_id", query: { delivery_id: busy.delivery_id }, filters: { delivery_id: busy.delivery_id } },
    {
      name: "type=sms + status=delivered",
      query: { type: "sms", status: "delivered" },
      filters: { type: "sms", status: "delivered" },
    },
    {
      name: "type=email + direction=outbound + status=read",
      query: { type: "email", direction: "outbound", status: "read" },
      filters: { type: "email", direction: "outbound", status: "read" },
    },
    {
      name: "date range (one day)",
      query: { created_after: iso(now - 3 * DAY), created_before: iso(now - 2 * DAY) },
      filters: dayFilter,
    },
    {
      name: "date range + type=email",
      query: { created_after: iso(now - 3 * DAY), created_before: iso(now - 2 * DAY), type: "email" },
      filters: { ...dayFilter, type: "email" },
    },
    {
      name: "deep page by cursor",
      query: { cursor: encodeCursor("desc", middle.id) },
      filters: { cursor: middle.id },
    },
    {
      name: "deep cursor + type=sms",
      query: { type: "sms", cursor: encodeCursor("desc", middle.id) },
      filters: { type: "sms", cursor: middle.id },
    },
    { name: "sort asc", query: { sort_order: "asc" }, filters: {}, asc: true },
    { name: "page=10 (offset)", query: { page: "10" }, filters: {}, skipped: 9 * LIMIT },
  ];

  const measured = new Map<string, { young: Cost; grown?: Cost; total: number }>();

  async function measure(s: Shape) {
    const token = s.asCustomer ? await who.customer(busy.customer_id) : await who.viewer();
    // A customer's Server-Timing has no row counts: their cost is read from the log line.
    const res = await callMeasured(`?${new URLSearchParams({ ...s.query, limit: String(LIMIT) })}`, { token });
    expect(res.status, `${s.name}: ${res.text}`).toBe(200);
    return { cost: s.asCustomer ? res.d1 : cost(res.headers), total: res.json.total as number };
  }

  beforeAll(async () => {
    await insert(tenant, young);
    for (const s of shapes) {
      const { cost: c, total } = await measure(s);
      measured.set(s.name, { young: c, total });
    }
    await insert(tenant, all.slice(GENERATION));
    for (const s of shapes) {
      const entry = measured.get(s.name);
      if (entry) entry.grown = (await measure(s)).cost;
    }
  });

  it("the seed is what the bounds assume (counters and ids agree with the rows)", async () => {
    const res = await call(`?limit=1`, { token: await who.viewer() });
    expect(res.json.total).toBe(2 * GENERATION);
    const failed = await call(`?limit=1&status=failed`, { token: await who.viewer() });
    expect(failed.json.total).toBe(all.filter((r) => r.status === "failed").length);
    expect(res.json.communications[0].id).toBe(young[0]?.id);
  });

  it("the total a COUNT would cost: every row of the tenant (what the counters avoid)", async () => {
    const scan = await (await tenantShard(tenant))
      .prepare("SELECT count(*) AS n FROM communications WHERE tenant_id = ?")
      .bind(tenant)
      .all<{ n: number }>();
    expect(scan.results[0]?.n).toBe(2 * GENERATION);
    const ours = measured.get("no filter")?.grown;
    console.log(`COUNT(*) over the tenant: ${scan.meta.rows_read} rows read; our whole list request: ${ours?.read}`);
    expect(scan.meta.rows_read).toBeGreaterThanOrEqual(2 * GENERATION);
    expect(ours?.read).toBeLessThan(scan.meta.rows_read / 50);
  });

  it.each([
    ["type", "call", "type=call"],
    ["status", "failed", "status=failed"],
    ["direction", "inbound", "direction=inbound"],
    ["type", "sms", null],
  ] as const)(
    "without the %s index, a %s page walks the primary key (what the index saves)",
    async (column, value, shape) => {
      const page = await (await tenantShard(tenant))
        .prepare(
          `SELECT * FROM communications NOT INDEXED WHERE tenant_id = ? AND ${column} = ? ORDER BY id DESC LIMIT ?`,
        )
        .bind(tenant, value, LIMIT + 1)
        .all();
      expect(page.results).toHaveLength(LIMIT + 1);
      const ours = shape ? measured.get(shape)?.grown?.read : undefined;
      console.log(
        `${column}=${value} page by primary key: ${page.meta.rows_read} rows read; our request: ${ours ?? "-"}`,
      );
      expect(page.meta.rows_read).toBeGreaterThan(LIMIT + 1);
      // A value of about 10%: the walk reads about ten times the page.
      if (shape) expect(page.meta.rows_read).toBeGreaterThan(5 * (LIMIT + 1));
    },
  );

  it.each(shapes.map((s) => [s.name, s] as const))("%s: page + total in one batch, bounded rows read", (_n, s) => {
    const entry = measured.get(s.name);
    if (!entry?.grown) throw new Error("not measured");
    const limitYoung = bound(young, s);
    const limitGrown = bound(all, s);
    // Shown in the test output for BENCHMARKS.md.
    console.log(
      `${s.name.padEnd(46)} rows read ${entry.young.read} -> ${entry.grown.read} (bound ${limitYoung}/${limitGrown})`,
    );
    expect(entry.young.queries, "one batch: the page and the total").toBe(2);
    expect(entry.young.written).toBe(0);
    expect(entry.young.read).toBeLessThanOrEqual(limitYoung);
    expect(entry.grown.read).toBeLessThanOrEqual(limitGrown);
    // Twice the rows, older: the same shape reads no more.
    expect(entry.grown.read).toBeLessThanOrEqual(entry.young.read);
    // Far below a scan of the tenant (3,000 then 6,000 rows).
    expect(entry.grown.read).toBeLessThan(GENERATION / 10);
  });
});

describe("a combination rarer than one page", () => {
  /**
   * Known limit (BENCHMARKS.md): with fewer matches than a page, the walk
   * through the status index visits that status's whole range, which grows
   * with the tenant. It is bounded by that range, never the tenant.
   */
  it("walks at most its status range, never the tenant", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const rows = generation(Date.now() - MINUTE, 0, GENERATION);
    await insert(tenant, rows);
    const f = { type: "call", direction: "inbound", status: "failed" } as const;
    const matching = rows.filter((r) => matches(r, f)).length;
    const failed = rows.filter((r) => r.status === "failed").length;
    expect(matching).toBeLessThan(LIMIT);
    const res = await call(`?${new URLSearchParams({ ...f, limit: String(LIMIT) })}`, { token: await who.viewer() });
    expect(res.json.total).toBe(matching);
    const c = cost(res.headers);
    console.log(`rare combination: ${matching} matches, status range ${failed} rows, ${c.read} rows read`);
    expect(c.read).toBeLessThanOrEqual(failed + COUNTER_CELLS + SLACK);
    expect(c.read).toBeLessThan(GENERATION / 5);
  });
});

/**
 * The worst case of one list request (BENCHMARKS.md): an offset page reaches
 * at most MAX_RESULT_WINDOW rows deep, and a count stops after
 * MAX_RESULT_WINDOW + 1 matches, whatever the tenant's size.
 */
describe("the worst case of a list request is bounded, not the tenant (issue 11)", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  const SIZE = 12_000;
  beforeAll(async () => {
    await insert(tenant, generation(Date.now() - MINUTE, 0, SIZE));
  }, 120_000);

  it("offsets past 10,000 rows: 400 naming page, pointing at cursor, before anything is read", async () => {
    const viewer = await who.viewer();
    for (const query of ["?page=101&limit=100", "?page=201&limit=50", "?page=1000&limit=11"]) {
      const res = await callMeasured(query, { token: viewer });
      expect(res.status, `${query}: ${res.text}`).toBe(400);
      expect(res.json.errors).toEqual([
        { field: "page", message: "page reaches past the first 10000 results; use cursor (next_cursor) to go further" },
      ]);
      expect(res.d1.read).toBe(0);
    }
    // The deepest pages allowed: 10,000 rows.
    for (const query of ["?page=100&limit=100", "?page=1000&limit=10"]) {
      expect((await call(query, { token: viewer })).status).toBe(200);
    }
  });

  it("a date range from 1970: total 10,000 and total_relation gte, counted without reading the rest", async () => {
    const res = await call("?created_after=1970-01-01T00:00:00Z&limit=100", { token: await who.viewer() });
    expect(res.status).toBe(200);
    expect(res.json.total).toBe(MAX_RESULT_WINDOW);
    expect(res.json.total_relation).toBe("gte");
    const c = cost(res.headers);
    console.log(`date range from 1970 on ${SIZE} rows: ${c.read} rows read`);
    // The page (limit + 1) and the capped count (window + 1): not the tenant's 12,000.
    expect(c.read).toBeLessThanOrEqual(101 + MAX_RESULT_WINDOW + 1 + SLACK);
  });

  it("the deepest offset page with an unbounded range: at most 2 x (10,000 + 1) rows + slack", async () => {
    const res = await call("?created_after=1970-01-01T00:00:00Z&limit=100&page=100", { token: await who.viewer() });
    expect(res.status).toBe(200);
    expect(res.json.communications).toHaveLength(100);
    const c = cost(res.headers);
    console.log(`deepest offset page on ${SIZE} rows: ${c.read} rows read`);
    expect(c.read).toBeLessThanOrEqual(WORST_CASE_ROWS_READ);
  });

  it("a small exact count stays exact: total_relation eq", async () => {
    const res = await call(`?customer_id=${customer(0)}`, { token: await who.viewer() });
    expect(res.json.total_relation).toBe("eq");
    const expected = generation(Date.now() - MINUTE, 0, SIZE).filter((r) => r.customer_id === customer(0)).length;
    expect(res.json.total).toBe(expected);
  });
});

describe("rows written per create", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  // The tenant's first request also reads (and writes) the directory; measure a placed tenant.
  beforeAll(() => placeTenant(tenant));

  /**
   * The search index (migrations/0007_search.sql) adds three rows written to
   * every create: the document number row, its (tenant_id, id) index entry
   * and the FTS5 document (D1 counts the virtual table's row, not FTS5's
   * own pages). Its trigger reads the new row twice (the number, then the
   * document), probes the numbers of that millisecond and reads the number
   * back: about six rows read.
   */
  const SEARCH_WRITTEN = 3;
  const SEARCH_READ = 6;

  it("one row, its five index entries, the address entry, one counter cell and its search document", async () => {
    const res = await call("", { method: "POST", token: await who.admin(), body: communicationBody() });
    expect(res.status, res.text).toBe(201);
    const c = cost(res.headers);
    // The insert, and in the same batch the adoption of unattributed inbound
    // messages from the recipient's address (migrations/0002_providers.sql),
    // served by a partial index that holds only unattributed rows.
    expect(c.queries).toBe(2);
    expect(c.written).toBeGreaterThan(0);
    expect(c.written).toBeLessThanOrEqual(8 + SEARCH_WRITTEN);
    // Plan: PRIMARY KEY (tenant_id=? AND id=?) over a LIST SUBQUERY on the
    // covering partial index communications_unattributed: no tenant walk.
    expect(c.read).toBeLessThanOrEqual(4 + SEARCH_READ);
  });

  it("without a recipient address: one query, no address entry", async () => {
    const body = communicationBody({ communication_details: {} });
    const res = await call("", { method: "POST", token: await who.admin(), body });
    expect(res.status, res.text).toBe(201);
    const c = cost(res.headers);
    expect(c.queries).toBe(1);
    expect(c.written).toBeLessThanOrEqual(7 + SEARCH_WRITTEN);
  });

  it("with an Idempotency-Key: plus the key row, in one batch", async () => {
    const res = await call("", {
      method: "POST",
      token: await who.admin(),
      body: communicationBody(),
      headers: { "idempotency-key": crypto.randomUUID() },
    });
    expect(res.status, res.text).toBe(201);
    const c = cost(res.headers);
    expect(c.queries).toBe(4);
    expect(c.written).toBeLessThanOrEqual(9 + SEARCH_WRITTEN);
  });

  it("the counter cell is updated in place after the first create of a kind", async () => {
    const admin = await who.admin();
    const body = communicationBody({ type: "call", direction: "inbound", status: "failed" });
    const first = cost((await call("", { method: "POST", token: admin, body })).headers);
    const second = cost((await call("", { method: "POST", token: admin, body })).headers);
    expect(second.written).toBeLessThanOrEqual(first.written);
  });
});
