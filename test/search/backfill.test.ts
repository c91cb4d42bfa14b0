/**
 * Communications stored before the search index existed are indexed by the
 * scheduled backfill (src/search/backfill.ts), in bounded batches; until a
 * tenant is done, `address` and `q` answer 503 rather than miss rows.
 *
 * The first test runs the real migrations on an empty database
 * (MIGRATION_TEST, vitest.config.ts): the ones before the index, rows
 * stored, then migration 0007.
 */
import { applyD1Migrations, env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDb, newDbStats } from "../../src/db/client";
import { translate } from "../../src/i18n/messages";
import { uuidv7 } from "../../src/lib/uuid";
import { countSearchDocuments, SEARCH_RETRY_AFTER_S } from "../../src/search";
import { backfillBatch, backfillSearch } from "../../src/search/backfill";
import { tenantToken } from "../../src/search/normalise";
import {
  call,
  callers,
  communicationBody,
  newTenant,
  qs,
  runScheduled,
  seed,
  tenantShard,
  walkIds,
} from "../support/helpers";

beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
});

const count = async (db: D1Database, sql: string, ...params: unknown[]) =>
  (
    await db
      .prepare(sql)
      .bind(...params)
      .first<{ n: number }>()
  )?.n ?? 0;

const matching = async (db: D1Database, tenant: string, words: string) =>
  count(
    db,
    "SELECT count(*) AS n FROM communication_search WHERE communication_search MATCH ?",
    `tenant : "${tenantToken(tenant)}" AND body : (${words})`,
  );

describe("migration 0007 on a database with communications", () => {
  it("marks every tenant with rows; the backfill indexes them newest first in batches, once", async () => {
    const db = env.MIGRATION_TEST;
    const before = env.TEST_MIGRATIONS.filter((m) => m.name < "0007");
    expect(before.length).toBeLessThan(env.TEST_MIGRATIONS.length);
    await applyD1Migrations(db, before);

    const tenants = [newTenant(), newTenant()];
    const insert = db.prepare(
      `INSERT INTO communications (tenant_id, id, customer_id, type, direction, status, content, communication_details, created_by, created_at, updated_at)
       VALUES (?, ?, ?, 'sms', 'outbound', 'sent', ?, ?, 'seed', ?, ?)`,
    );
    const at = new Date().toISOString();
    const stored = (tenant: string, n: number) =>
      Array.from({ length: n }, (_, i) =>
        insert.bind(
          tenant,
          uuidv7(Date.now() - (n - i) * 1000),
          crypto.randomUUID(),
          `older message ${i} about Erbil`,
          JSON.stringify({ recipient: { phone: "+9647501234567" } }),
          at,
          at,
        ),
      );
    await db.batch([...stored(tenants[0] as string, 10), ...stored(tenants[1] as string, 3)]);

    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    const marked = await db
      .prepare("SELECT tenant_id, before_id FROM communication_search_backfill ORDER BY tenant_id")
      .all<{ tenant_id: string; before_id: string | null }>();
    expect(marked.results).toEqual([...tenants].sort().map((t) => ({ tenant_id: t, before_id: null })));
    expect(await count(db, "SELECT count(*) AS n FROM communication_search_docs")).toBe(0);

    // A communication stored after the migration is indexed by its trigger at once.
    await db.batch(stored(tenants[0] as string, 1).map((s) => s));
    expect(await matching(db, tenants[0] as string, '"erbil"')).toBe(1);

    // Batches of 4: 11 rows of the first tenant (one already indexed) take 3 batches.
    const database = createDb(db, "first-primary", newDbStats());
    const tenant = tenants[0] as string;
    let cursor: string | null = null;
    let walked = 0;
    const progress: (string | null)[] = [];
    do {
      const batch = await backfillBatch(database, tenant, cursor, 4);
      walked += batch.walked;
      // A batch run again (a run cut short after its commit) indexes nothing twice.
      if (batch.before) expect((await backfillBatch(database, tenant, cursor, 4)).before).toBe(batch.before);
      cursor = batch.before;
      progress.push(cursor);
    } while (cursor);
    expect(progress).toHaveLength(3);
    expect(walked).toBe(11);
    expect(await count(db, "SELECT count(*) AS n FROM communication_search_backfill WHERE tenant_id = ?", tenant)).toBe(
      0,
    );
    expect(await matching(db, tenant, '"erbil"')).toBe(11);
    expect((await countSearchDocuments(db, tenant)).documents).toBe(11);
    expect(await count(db, "SELECT count(*) AS n FROM communication_search_docs WHERE tenant_id = ?", tenant)).toBe(11);
    // The other tenant is still waiting for its run.
    expect(await matching(db, tenants[1] as string, '"erbil"')).toBe(0);
  });
});

describe("a tenant whose older communications are not indexed yet", () => {
  /** Makes the tenant's rows look as if they predated the index (as migration 0007 finds them). */
  async function unindex(tenant: string) {
    const db = await tenantShard(tenant);
    await db.batch([
      db
        .prepare(
          "DELETE FROM communication_search WHERE rowid IN (SELECT doc FROM communication_search_docs WHERE tenant_id = ?)",
        )
        .bind(tenant),
      db.prepare("DELETE FROM communication_search_docs WHERE tenant_id = ?").bind(tenant),
      db
        .prepare("INSERT INTO communication_search_backfill (tenant_id, before_id, created_at) VALUES (?, NULL, ?)")
        .bind(tenant, new Date().toISOString()),
    ]);
  }

  it.each(["en", "ar", "ku", "fa"] as const)(
    "answers address and q with 503 search_not_ready (Retry-After) in the caller's language until the backfill is done (%s)",
    async (lang) => {
      const tenant = newTenant();
      const who = callers(tenant);
      const rows = await seed(
        await who.admin(),
        Array.from({ length: 5 }, (_, i) => communicationBody({ content: `backfill me ${i}` })),
      );
      await unindex(tenant);
      const viewer = await who.viewer();
      for (const path of [
        qs({ q: "backfill", language: lang }),
        qs({ address: "+19876543210", language: lang }),
        `/export${qs({ q: "backfill", language: lang })}`,
      ]) {
        const res = await call(path, { token: viewer });
        expect(res.status, path).toBe(503);
        expect(res.headers.get("retry-after")).toBe(String(SEARCH_RETRY_AFTER_S));
        expect(res.json).toEqual({ success: false, message: translate(lang, "search_not_ready") });
      }
      // The list without them works as ever.
      expect((await walkIds(viewer)).length).toBe(5);

      // A run cut short (no time left after its first batch of 2) goes on where it stopped.
      await backfillSearch(env, { budgetMs: 0, batchRows: 2 });
      const db = await tenantShard(tenant);
      const marker = await db
        .prepare("SELECT before_id FROM communication_search_backfill WHERE tenant_id = ?")
        .bind(tenant)
        .first<{ before_id: string }>();
      expect(marker?.before_id).toBe(rows[3]?.id);
      expect((await call(qs({ q: "backfill" }), { token: viewer })).status).toBe(503);

      // The hourly run finishes it.
      await runScheduled();
      expect(await walkIds(viewer, { q: "backfill" })).toEqual(rows.map((r) => r.id).reverse());
      expect(await walkIds(viewer, { address: "+19876543210" })).toHaveLength(5);
      expect((await countSearchDocuments(db, tenant)).documents).toBe(5);
    },
  );
});
