/**
 * Every list query shape is served by the primary key (tenant_id, id) or an
 * index whose first column is tenant_id: no table scan, no sort. The SQL
 * explained here is exactly what `list()` sends (CommunicationStore.listQueries).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { listIndex } from "../../src/communications/access-path";
import { CommunicationStore, type ListFilters, type PageRequest } from "../../src/communications/store";
import { createDb, newDbStats } from "../../src/db/client";
import { parseAddress } from "../../src/search/address";
import { customerToken, tenantToken } from "../../src/search/normalise";
import { parseQuery } from "../../src/search/query";

const TENANT = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b";
const CUSTOMER = "3b2a1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d";

/** One value per filter; every subset of these is a list shape. */
const FILTER_VALUES: Omit<Required<ListFilters>, "provider" | "provider_message_id" | "search"> = {
  customer_id: "9d0c1b2a-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
  delivery_id: "8e7d6c5b-4a39-4281-9f0e-d1c2b3a4f5e6",
  type: "sms",
  status: "delivered",
  direction: "inbound",
  created_after: "2026-01-01T00:00:00Z",
  created_before: "2026-02-01T00:00:00Z",
};
const FILTER_NAMES = Object.keys(FILTER_VALUES) as (keyof typeof FILTER_VALUES)[];

const subsets = FILTER_NAMES.reduce<(keyof typeof FILTER_VALUES)[][]>(
  (acc, name) => acc.concat(acc.map((s) => [...s, name])),
  [[]],
);
const shapes = subsets.map((names) => ({
  name: names.length ? names.join(" + ") : "no filter",
  filters: Object.fromEntries(names.map((n) => [n, FILTER_VALUES[n]])) as ListFilters,
}));
// The provider filters (migrations/0002_providers.sql), alone and with each
// other filter: the whole power set would be 4x the shapes.
for (const provider of [
  { provider: "twilio" },
  { provider_message_id: "SM0123456789abcdef" },
  { provider: "twilio", provider_message_id: "SM0123456789abcdef" },
] as ListFilters[]) {
  for (const other of [undefined, ...FILTER_NAMES]) {
    const filters = { ...provider, ...(other ? { [other]: FILTER_VALUES[other] } : {}) };
    shapes.push({ name: Object.keys(filters).join(" + "), filters });
  }
}

const PAGINATIONS: { name: string; req: PageRequest }[] = [
  { name: "first page, newest first", req: { limit: 10, order: "desc", page: 1 } },
  { name: "deep page", req: { limit: 25, order: "desc", page: 40 } },
  { name: "cursor, newest first", req: { limit: 10, order: "desc", after: "0195f3c2-6d1e-7b4a-9c3e-1a2b3c4d5e6f" } },
  { name: "cursor, sort asc", req: { limit: 100, order: "asc", after: "0195f3c2-6d1e-7b4a-9c3e-1a2b3c4d5e6f" } },
  { name: "sort asc", req: { limit: 10, order: "asc", page: 2 } },
];

const SCOPES = [
  { name: "staff", scope: { tenantId: TENANT } },
  { name: "customer scope", scope: { tenantId: TENANT, ownCustomerId: CUSTOMER } },
];

interface PlanRow {
  id: number;
  parent: number;
  detail: string;
}

async function explain(query: { toSQL(): { sql: string; params: unknown[] } }): Promise<string[]> {
  const { sql, params } = query.toSQL();
  const { results } = await env.SHARD_0.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...params)
    .all<PlanRow>();
  return results.map((r) => r.detail);
}

const firstColumn = new Map<string, string | undefined>();
async function indexFirstColumn(index: string): Promise<string | undefined> {
  if (!firstColumn.has(index)) {
    const { results } = await env.SHARD_0.prepare("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
      .bind(index)
      .all<{
        name: string;
      }>();
    firstColumn.set(index, results[0]?.name);
  }
  return firstColumn.get(index);
}

/** A plan step that reads a table: SEARCH ... USING ... (tenant_id=? ...). */
const ACCESS = /^SEARCH (\w+) USING (?:(?:COVERING )?INDEX (\w+)|PRIMARY KEY) \((.*)\)$/;

async function expectTenantFirst(plan: string[], shape: string, sortAllowed = false) {
  const where = `${shape}: ${plan.join(" | ")}`;
  expect(plan.length, `the plan has steps: ${where}`).toBeGreaterThan(0);
  for (const step of plan) {
    // The bounded count (at most MAX_RESULT_WINDOW + 1 matches) runs its
    // match search as a co-routine and counts its output: not a table scan.
    if (step === "CO-ROUTINE matches" || step === "SCAN matches") continue;
    expect(step, `no scan: ${where}`).not.toMatch(/\bSCAN\b/);
    if (!sortAllowed) expect(step, `no sort: ${where}`).not.toMatch(/TEMP B-TREE/);
  }
  const access = plan.filter((step) => /^SEARCH /.test(step));
  expect(access, `one table access: ${where}`).toHaveLength(1);
  const [, table, index, constraint] = ACCESS.exec(access[0] as string) ?? [];
  expect(["communications", "communication_totals"], where).toContain(table);
  expect(constraint, `the search is keyed on tenant_id first: ${where}`).toMatch(/^tenant_id=\?/);
  if (index) expect(await indexFirstColumn(index), where).toBe("tenant_id");
  return { table, index };
}

const store = (scope: { tenantId: string; ownCustomerId?: string }) =>
  new CommunicationStore(createDb(env.SHARD_0, undefined, newDbStats()), scope);

describe("EXPLAIN QUERY PLAN of every list shape", () => {
  // One test per scope; each loops over paginations x 128 filter subsets and
  // names the failing shape in its message.
  it.each(SCOPES)("$name: page and count use a tenant-first key, never a scan or a sort", async ({ scope }) => {
    for (const { name: pagination, req } of PAGINATIONS) {
      for (const { name, filters } of shapes) {
        const shape = `${pagination}, ${name}`;
        const { page, count } = store(scope).listQueries(filters, req);

        // provider_message_id without provider: the index is (tenant_id,
        // provider_message_id, provider), so its at most one row per provider is sorted.
        const sortAllowed = Boolean(filters.provider_message_id && !filters.provider);
        const pageAccess = await expectTenantFirst(await explain(page), shape, sortAllowed);
        expect(pageAccess.table, shape).toBe("communications");
        await expectTenantFirst(await explain(count), shape);

        // The index the rule (src/communications/access-path.ts) picks is the one the plan uses.
        expect(pageAccess.index, shape).toBe(listIndex(filters, scope.ownCustomerId));
      }
    }
  });
});

describe("the explained SQL is the SQL list() runs", () => {
  it("binds the tenant (and a customer's own id) in both statements", () => {
    const { page, count } = store({ tenantId: TENANT, ownCustomerId: CUSTOMER }).listQueries(
      { type: "sms" },
      { limit: 10, order: "desc", page: 1 },
    );
    for (const q of [page.toSQL(), count.toSQL()]) {
      expect(q.params).toContain(TENANT);
      expect(q.params).toContain(CUSTOMER);
    }
    const staffCount = store({ tenantId: TENANT }).listQueries({ type: "sms" }, { limit: 10, order: "desc" }).count;
    expect(staffCount.toSQL().sql).toMatch(/communication_totals/);
    expect(staffCount.toSQL().params).toContain(TENANT);
  });
});

/**
 * Search shapes (`address`, `q`; migrations/0007_search.sql): the search
 * index drives (its MATCH narrowed to the tenant, and to a customer, by
 * their tokens; ORDER BY its rowid, so no sort), each match is joined to its
 * document number by rowid and to its row by primary key; the count is the
 * index alone, or the same join. Never a scan of a table, never a sort.
 */
describe("EXPLAIN QUERY PLAN of every search shape", () => {
  const SEARCHES: { name: string; search: NonNullable<ListFilters["search"]> }[] = [
    { name: "address", search: { address: parseAddress("+964 750 123 4567") } },
    { name: "q", search: { query: parseQuery('deliv* "erbil depot"') } },
    { name: "address + q", search: { address: parseAddress("user@example.com"), query: parseQuery("erbil") } },
  ];
  const OTHER: ListFilters[] = [
    {},
    ...FILTER_NAMES.map((n) => ({ [n]: FILTER_VALUES[n] }) as ListFilters),
    { provider: "twilio" },
    { provider_message_id: "SM0123456789abcdef" },
    { type: "sms", status: "delivered", created_after: FILTER_VALUES.created_after },
  ];
  /** Steps a search statement may have, each a reading of an index by key or the FTS5 index itself. */
  const ALLOWED = [
    /^SCAN communication_search VIRTUAL TABLE INDEX \d+:/,
    /^SEARCH communication_search_docs USING INTEGER PRIMARY KEY \(rowid=\?\)$/,
    // The row by its key (or, for a count, an index that holds the key and the filtered column).
    /^SEARCH communications USING (PRIMARY KEY|(COVERING )?INDEX \w+) \(tenant_id=\? AND (\w+=\? AND )?id=\?\)( LEFT-JOIN)?$/,
    /^(SCALAR|REUSE) SUBQUERY \d+$/,
    /^SEARCH cursor USING COVERING INDEX communication_search_docs_id \(tenant_id=\? AND id=\?\)$/,
    /^CO-ROUTINE matches$/,
    /^SCAN matches$/,
  ];

  it.each(SCOPES)(
    "$name: the search index drives, narrowed to the tenant; no table scan, no sort",
    async ({ scope }) => {
      const token = tenantToken(scope.tenantId);
      for (const { name: pagination, req } of PAGINATIONS) {
        for (const { name: searchName, search } of SEARCHES) {
          for (const other of OTHER) {
            const shape = `${pagination}, ${searchName} + ${Object.keys(other).join(" + ") || "nothing else"}`;
            const { page, count, pending } = store(scope).listQueries({ ...other, search }, req);
            for (const [which, statement] of [
              ["page", page],
              ["count", count],
            ] as const) {
              const plan = await explain(statement);
              const where = `${shape} (${which}): ${plan.join(" | ")}`;
              const reads = plan.filter((step) => /^(SCAN|SEARCH) /.test(step) && step !== "SCAN matches");
              expect(reads[0], `the index is read first: ${where}`).toMatch(ALLOWED[0] as RegExp);
              for (const step of plan) {
                expect(
                  ALLOWED.some((re) => re.test(step)),
                  `${where}: ${step}`,
                ).toBe(true);
              }
              // The MATCH names the tenant's token (and a customer's own), so FTS5 only walks theirs.
              const match = statement.toSQL().params.find((p) => typeof p === "string" && p.startsWith("tenant :"));
              expect(match, where).toContain(`tenant : "${token}"`);
              if (scope.ownCustomerId)
                expect(match, where).toContain(`customer : "${customerToken(scope.ownCustomerId)}"`);
            }
            // The rows are the tenant's under visible() as well.
            expect(page.toSQL().params, shape).toContain(scope.tenantId);
            expect(pending?.toSQL().params, shape).toEqual([scope.tenantId]);
          }
        }
      }
    },
  );
});
