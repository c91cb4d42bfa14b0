/**
 * GET /delivery/customer-communications/export (search.md, Export): the
 * list's filters and visibility, streamed as NDJSON or CSV by keyset pages
 * of 1,000 rows; RFC 4180 CSV that a CSV parser from npm reads back field
 * for field; formula cells neutralised; the rate limit counted per 1,000
 * rows; a failure part-way aborts the response; the first bytes leave
 * before the last rows are read.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { parse } from "csv-parse/sync";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { Communication } from "../../src/communications/schemas";
import { CSV_COLUMNS, FORMULA_STARTS } from "../../src/export/format";
import { EXPORT_PAGE_ROWS } from "../../src/export/routes";
import worker from "../../src/index";
import { uuidv7 } from "../../src/lib/uuid";
import { shardNames } from "../../src/shards/config";
import { BASE, call, callers, communicationBody, newTenant, placeTenant, qs, seed, walkIds } from "../support/helpers";
import { assertConforms } from "../support/openapi-contract";

beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
});

const today = () => new Date().toISOString().slice(0, 10);
const ndjson = (text: string) =>
  text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Communication);

/** A cell as the API's value: one leading apostrophe before a formula start is the export's, not the data's. */
const unneutralise = (cell: string) =>
  cell.startsWith("'") && FORMULA_STARTS.some((c) => cell.slice(1).startsWith(c)) ? cell.slice(1) : cell;

/** What each CSV column holds for a communication (search.md). */
function csvValues(c: Communication): Record<(typeof CSV_COLUMNS)[number], string> {
  const party = (p: unknown) => {
    const { phone, email } = (p ?? {}) as { phone?: string; email?: string };
    return phone || email || "";
  };
  return {
    id: c.id,
    created_at: c.created_at,
    updated_at: c.updated_at,
    customer_id: c.customer_id,
    delivery_id: c.delivery_id ?? "",
    type: c.type,
    direction: c.direction,
    status: c.status,
    provider: c.provider ?? "",
    provider_message_id: c.provider_message_id ?? "",
    content: c.content ?? "",
    sender: party(c.communication_details.sender),
    recipient: party(c.communication_details.recipient),
    communication_details: JSON.stringify(c.communication_details),
  };
}

/** Bulk rows through the real tables (the triggers index them), one tenant, newest last. */
async function bulk(tenant: string, n: number, customer = crypto.randomUUID()) {
  const db = await placeTenant(tenant);
  const insert = db.prepare(
    `INSERT INTO communications (tenant_id, id, customer_id, type, direction, status, content, communication_details, created_by, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'outbound', 'sent', ?, ?, 'seed', ?, ?)`,
  );
  const start = Date.now() - n * 1000;
  for (let i = 0; i < n; i += 500) {
    await db.batch(
      Array.from({ length: Math.min(500, n - i) }, (_, k) => {
        const at = start + (i + k) * 1000;
        const iso = new Date(at).toISOString();
        return insert.bind(
          tenant,
          uuidv7(at),
          customer,
          (i + k) % 3 ? "sms" : "email",
          `Your delivery #${i + k} is on its way`,
          JSON.stringify({ recipient: { phone: `+9647500${String(i + k).padStart(6, "0")}` } }),
          iso,
          iso,
        );
      }),
    );
  }
}

describe("an export", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  const customer = crypto.randomUUID();
  const other = newTenant();
  let rows: Communication[] = [];

  beforeAll(async () => {
    rows = await seed(await who.admin(), [
      communicationBody({ customer_id: customer, content: "line one\nline two\r\nline three" }),
      communicationBody({ customer_id: customer, content: 'He said "hello", then left, twice' }),
      communicationBody({ content: "مَرْحَبًا، طلبك في الطريق إلى أربيل" }),
      communicationBody({ content: "گەیاندنەکەت لە ڕێگادایە" }),
      communicationBody({ content: "=SUM(A1:A2)" }),
      communicationBody({ content: "+1 555 0100 call me" }),
      communicationBody({ content: "-5 degrees" }),
      communicationBody({ content: "@handle said hi" }),
      communicationBody({ content: "\tTabbed start" }),
      communicationBody({ content: "\rCarriage return start" }),
      communicationBody({ content: "'already quoted" }),
      communicationBody({
        content: null,
        type: "call",
        communication_details: { sender: { email: "=evil@example.com" } },
      }),
      communicationBody({
        customer_id: customer,
        content: "plain",
        provider: "twilio",
        provider_message_id: "=1+1",
        delivery_id: null,
        communication_details: { recipient: { email: "User@Example.COM", name: 'Al "Quoted", Jr' } },
      }),
    ]);
    await seed(await callers(other).admin(), [communicationBody({ content: "another tenant's" })]);
  });

  it("NDJSON: every communication the list shows, as the list shows it, newest first; headers as the contract says", async () => {
    const res = await call("/export", { token: await who.viewer() });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe(
      `attachment; filename="communications-${tenant}-${today()}.ndjson"`,
    );
    expect(res.headers.get("cache-control")).toBe("no-store");
    const lines = ndjson(res.text);
    expect(lines).toEqual([...rows].reverse());
    const asc = ndjson((await call("/export?sort_order=asc", { token: await who.viewer() })).text);
    expect(asc.map((c) => c.id)).toEqual(rows.map((c) => c.id));
  });

  it("CSV: UTF-8 with a byte order mark, RFC 4180, read back field for field by csv-parse (newlines, quotes, Arabic, formulas)", async () => {
    const res = await call("/export?format=csv", { token: await who.viewer() });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe(
      `attachment; filename="communications-${tenant}-${today()}.csv"`,
    );
    const raw = new Uint8Array(await (await exportResponse("/export?format=csv", await who.viewer())).arrayBuffer());
    expect([...raw.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = new TextDecoder().decode(raw.slice(3));
    expect(text.startsWith(`${CSV_COLUMNS.join(",")}\r\n`)).toBe(true);
    expect(text.endsWith("\r\n")).toBe(true);

    const records = parse(Buffer.from(raw), { bom: true, columns: true }) as Record<string, string>[];
    expect(records).toHaveLength(rows.length);
    expect(Object.keys(records[0] ?? {})).toEqual([...CSV_COLUMNS]);
    const byId = new Map(rows.map((c) => [c.id, c]));
    for (const record of records) {
      const expected = csvValues(byId.get(record.id as string) as Communication);
      for (const column of CSV_COLUMNS) {
        expect(unneutralise(record[column] as string), `${record.id} ${column}`).toBe(expected[column]);
      }
    }
    // Formula-looking cells start with the apostrophe in the file: spreadsheets never run them.
    for (const record of records) {
      for (const column of CSV_COLUMNS) {
        const cell = record[column] as string;
        const first = cell[0];
        if (first && ["=", "+", "-", "@", "\t", "\r"].includes(first))
          throw new Error(`${column} starts with ${first}`);
      }
    }
    const formula = records.find((r) => r.content?.includes("SUM"));
    expect(formula?.content).toBe("'=SUM(A1:A2)");
    expect(records.find((r) => r.provider_message_id?.includes("1+1"))?.provider_message_id).toBe("'=1+1");
  });

  it("the list's filters, q and address included, select the same communications", async () => {
    const viewer = await who.viewer();
    for (const params of [
      { q: "line" },
      { q: "اربيل" },
      { address: "+1 987 654 3210" },
      { customer_id: customer },
      { type: "call" },
      { q: "hello", customer_id: customer },
    ] as Record<string, string>[]) {
      const listed = await walkIds(viewer, params);
      const exported = ndjson((await call(`/export${qs(params)}`, { token: viewer })).text).map((c) => c.id);
      expect(exported, JSON.stringify(params)).toEqual(listed);
      expect(exported.length, JSON.stringify(params)).toBeGreaterThan(0);
    }
  });

  it("a customer exports their own data, and only theirs (GDPR article 15)", async () => {
    const mine = ndjson((await call("/export", { token: await who.customer(customer) })).text);
    expect(mine.map((c) => c.id)).toEqual(
      rows
        .filter((c) => c.customer_id === customer)
        .map((c) => c.id)
        .reverse(),
    );
    expect(mine).toHaveLength(3);
    const csv = await call("/export?format=csv&q=hello", { token: await who.customer(customer) });
    expect(parse(csv.text, { bom: true, columns: true })).toHaveLength(1);
  });

  it("refuses what the list refuses: another customer, a driver, another tenant, a bad filter; never shows another tenant", async () => {
    const another = await call(`/export${qs({ customer_id: crypto.randomUUID() })}`, {
      token: await who.customer(customer),
    });
    expect(another.status).toBe(403);
    expect((await call("/export", { token: await who.driver() })).status).toBe(403);
    expect((await call(`/export${qs({ tenant_id: newTenant() })}`, { token: await who.viewer() })).status).toBe(403);
    expect((await call("/export")).status).toBe(401);
    const bad = await call(`/export${qs({ format: "xlsx", address: "0750" })}`, { token: await who.viewer() });
    expect(bad.status).toBe(400);
    expect(bad.json.errors.map((e: { field: string }) => e.field).sort()).toEqual(["format"]);
    const badAddress = await call(`/export${qs({ address: "0750", language: "ar" })}`, { token: await who.viewer() });
    expect(badAddress.status).toBe(400);
    expect(badAddress.json.errors[0].field).toBe("address");
    for (const param of ["page=2", "limit=5", "cursor=abc"]) {
      // Pages do not apply to an export: ignored like any unknown parameter.
      const res = await call(`/export?${param}`, { token: await who.viewer() });
      expect(res.status, param).toBe(200);
      expect(ndjson(res.text), param).toHaveLength(rows.length);
    }
    const foreign = ndjson((await call("/export", { token: await callers(other).viewer() })).text);
    expect(foreign.map((c) => c.content)).toEqual(["another tenant's"]);
  });
});

/** The Worker's response, its body not read yet (call() reads it whole). */
async function exportResponse(path: string, token: string, overrides: Partial<Env> = {}) {
  const request = new Request(`${BASE}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return worker.fetch(request, { ...env, ...overrides }, createExecutionContext());
}

/** Reads a body to its end; rejects when the transfer is cut. */
async function readAll(res: Response): Promise<string> {
  return new TextDecoder().decode(await res.arrayBuffer());
}

/** The tenant's shard bindings wrapped: each page query of an export is counted, and from the n-th on they fail when asked. */
function countingShards(failOn?: number) {
  const pages = { n: 0 };
  const wrap = (db: D1Database): D1Database => {
    const statement = (s: D1PreparedStatement, sql: string): D1PreparedStatement =>
      new Proxy(s, {
        get(target, prop) {
          if (prop === "bind") return (...v: unknown[]) => statement(target.bind(...v), sql);
          if (prop === "all" && /\border by\b[\s\S]*\blimit\b/i.test(sql)) {
            return async () => {
              pages.n++;
              // From the n-th on (the client's retries of a read fail too).
              if (failOn !== undefined && pages.n >= failOn) throw new Error("D1_ERROR: Network connection lost.");
              return target.all();
            };
          }
          const value = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    const session = (s: D1DatabaseSession) =>
      new Proxy(s, {
        get(target, prop) {
          if (prop === "prepare") return (sql: string) => statement(target.prepare(sql), sql);
          const value = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    return new Proxy(db, {
      get(target, prop) {
        if (prop === "withSession") return (b?: string) => session(target.withSession(b));
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };
  const shards = Object.fromEntries(shardNames(env).map((name) => [name, wrap(env[name as keyof Env] as D1Database)]));
  return { shards: shards as Partial<Env>, pages };
}

/** A rate limiter that records its keys and answers from `answers` (then true). */
function limiter(answers: boolean[] = []) {
  const keys: string[] = [];
  return {
    keys,
    binding: {
      limit: async ({ key }: { key: string }) => {
        keys.push(key);
        return { success: answers.shift() ?? true };
      },
    } as RateLimit,
  };
}

describe("a large export", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  const N = 2 * EXPORT_PAGE_ROWS + 500;

  beforeAll(async () => {
    await bulk(tenant, N);
  }, 120_000);

  it(`streams ${N} rows in pages of ${EXPORT_PAGE_ROWS}: all of them, in order, each once; conforms to the document`, async () => {
    const res = await call("/export", { token: await who.viewer() });
    expect(res.status).toBe(200);
    const ids = ndjson(res.text).map((c) => c.id);
    expect(ids).toHaveLength(N);
    expect(new Set(ids).size).toBe(N);
    expect(ids).toEqual([...ids].sort().reverse());
    const csv = parse((await call("/export?format=csv&type=email", { token: await who.viewer() })).text, {
      bom: true,
      columns: true,
    });
    expect(csv).toHaveLength(Math.ceil(N / 3));
  });

  it("the first bytes leave before the last rows are read", async () => {
    const { shards, pages } = countingShards();
    const res = await exportResponse("/export", await who.viewer(), shards);
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    expect(new TextDecoder().decode(first.value).split("\n")[0]).toMatch(/^\{"id":/);
    // One page read to answer, at most the next one fetched: not the three the export needs.
    expect(pages.n).toBeLessThanOrEqual(2);
    let rest = 0;
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += chunk.value.length;
    expect(rest).toBeGreaterThan(0);
    expect(pages.n).toBe(Math.ceil(N / EXPORT_PAGE_ROWS));
  });

  it("a failure part-way aborts the response: the client sees a transfer error, never a clean end", async () => {
    const { shards } = countingShards(2);
    const res = await exportResponse("/export", await who.viewer(), shards);
    expect(res.status).toBe(200);
    assertConforms({
      method: "GET",
      url: `${BASE}/export`,
      status: res.status,
      headers: res.headers,
      text: "",
      json: undefined,
    });
    await expect(readAll(res)).rejects.toThrow();
    // The same failure on the first page is an ordinary 503, before anything is sent.
    const early = await exportResponse("/export", await who.viewer(), countingShards(1).shards);
    expect(early.status).toBe(503);
  });

  it(`counts against the caller's rate limit once per ${EXPORT_PAGE_ROWS} rows, in the user's then the tenant's bucket`, async () => {
    const user = limiter();
    const staff = limiter();
    const viewer = await who.viewer();
    const res = await exportResponse("/export", viewer, {
      USER_RATE_LIMITER: user.binding,
      TENANT_RATE_LIMITER: staff.binding,
    });
    expect(ndjson(await readAll(res))).toHaveLength(N);
    // The request itself, then one count per further page of 1,000 rows.
    const counts = Math.ceil(N / EXPORT_PAGE_ROWS);
    expect(user.keys).toHaveLength(counts);
    expect(new Set(user.keys).size).toBe(1);
    expect(staff.keys).toEqual(Array(counts).fill(`tenant:${tenant}`));
  });

  it("a refused count waits one window and goes on; refused again, the export is cut", async () => {
    const viewer = await who.viewer();
    const once = limiter([true, false]);
    const paused = await exportResponse("/export", viewer, { USER_RATE_LIMITER: once.binding });
    expect(ndjson(await readAll(paused))).toHaveLength(N);
    const twice = limiter([true, false, false]);
    const cut = await exportResponse("/export", viewer, { USER_RATE_LIMITER: twice.binding });
    expect(cut.status).toBe(200);
    await expect(readAll(cut)).rejects.toThrow();
    expect(twice.keys).toHaveLength(3);
  }, 60_000);
});
