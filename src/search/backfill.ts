/**
 * Indexes communications stored before the search index existed
 * (migrations/0007_search.sql), from the scheduled job: a SQL migration
 * cannot loop, and one INSERT ... SELECT over a full shard would outlast
 * D1's limits on one statement. Communications created since are indexed
 * by the index's triggers; these are only the older ones.
 *
 * The migration left one row per tenant in communication_search_backfill.
 * Each run walks every such tenant newest first, BATCH_ROWS ids at a time:
 * one D1 batch (one transaction) indexes the batch's rows that have no
 * document yet (rows created since the migration have one) and moves the
 * tenant's `before_id` down to the batch's lowest id, so a run cut short resumes where it stopped and a batch run
 * twice indexes nothing twice. The tenant's row goes with its last batch;
 * until then its searches answer 503 (src/search/index.ts), since the index
 * would miss rows. A run stops after RUN_BUDGET_MS of wall time per shard
 * and the next hourly run goes on. Tenants with a move under way are left
 * to the move: the target's triggers index every row the move copies.
 */
import { asc, notInArray, sql } from "drizzle-orm";
import { createDb, type Database, type DbStats, d1Fields, newDbStats } from "../db/client";
import { communicationSearchBackfill, SEARCH_INDEX } from "../db/schema";
import { log } from "../lib/logger";
import { shardBinding, shardNames } from "../shards/config";
import { tenantsBeingMoved } from "../shards/directory";

/** Communications indexed per batch. */
export const BATCH_ROWS = 500;
/** Wall time one run spends on one shard. */
export const RUN_BUDGET_MS = 60_000;
/** Tenants read per shard per run. */
const TENANTS_PER_RUN = 1000;

/**
 * One batch of one tenant: indexes up to `rows` communications below
 * `before` (from the newest when it is null). Returns where the walk goes
 * on, or null when the tenant is done (its row is gone with this batch).
 */
export async function backfillBatch(
  db: Database,
  tenantId: string,
  before: string | null,
  rows = BATCH_ROWS,
): Promise<{ before: string | null; walked: number }> {
  const client = db.$client;
  const below = before === null ? { sql: "", params: [] } : { sql: " AND c.id < ?", params: [before] };
  // The batch: the next `rows` ids down from `before`; fewer when the tenant's oldest is among them.
  const batch = await client
    .prepare(`SELECT c.id FROM communications c WHERE c.tenant_id = ?${below.sql} ORDER BY c.id DESC LIMIT ?`)
    .bind(tenantId, ...below.params, rows)
    .all<{ id: string }>();
  const ids = batch.results;
  const floor = ids.length === rows ? (ids.at(-1)?.id ?? null) : null;
  const from = floor ? { sql: " AND c.id >= ?", params: [floor] } : { sql: "", params: [] };
  // Inserting (tenant_id, id) into the index's source view indexes that
  // communication (the migration's INSTEAD OF trigger), once: rows that
  // already have a document (created since the migration) are left alone.
  const index = client
    .prepare(
      `INSERT INTO ${SEARCH_INDEX.source} (tenant_id, id)
       SELECT c.tenant_id, c.id FROM communications c
       WHERE c.tenant_id = ?${below.sql}${from.sql}
         AND NOT EXISTS (SELECT 1 FROM communication_search_docs d WHERE d.tenant_id = c.tenant_id AND d.id = c.id)`,
    )
    .bind(tenantId, ...below.params, ...from.params);
  const next = floor
    ? client.prepare("UPDATE communication_search_backfill SET before_id = ? WHERE tenant_id = ?").bind(floor, tenantId)
    : client.prepare("DELETE FROM communication_search_backfill WHERE tenant_id = ?").bind(tenantId);
  await client.batch([index, next]);
  return { before: floor, walked: ids.length };
}

/** One run over every shard (the hourly cron, src/index.ts). */
export async function backfillSearch(env: Env, { budgetMs = RUN_BUDGET_MS, batchRows = BATCH_ROWS } = {}) {
  const stats: DbStats = newDbStats();
  const moving = await tenantsBeingMoved(env, stats);
  let walked = 0;
  let tenantsDone = 0;
  let tenantsLeft = 0;
  for (const shard of shardNames(env)) {
    const db = createDb(shardBinding(env, shard), "first-primary", stats);
    const started = Date.now();
    const pending = await db
      .select()
      .from(communicationSearchBackfill)
      .where(moving.size ? notInArray(communicationSearchBackfill.tenant_id, [...moving]) : undefined)
      .orderBy(asc(communicationSearchBackfill.created_at), asc(communicationSearchBackfill.tenant_id))
      .limit(TENANTS_PER_RUN);
    for (const { tenant_id: tenantId, before_id } of pending) {
      let before = before_id;
      do {
        const batch = await backfillBatch(db, tenantId, before, batchRows);
        walked += batch.walked;
        before = batch.before;
      } while (before !== null && Date.now() - started < budgetMs);
      if (before === null) tenantsDone++;
      if (Date.now() - started >= budgetMs) break;
    }
    const [left] = await db.select({ n: sql<number>`count(*)` }).from(communicationSearchBackfill);
    tenantsLeft += Number(left?.n ?? 0);
  }
  if (walked || tenantsDone || tenantsLeft) {
    log.info("search backfill", { walked, tenants_done: tenantsDone, tenants_left: tenantsLeft, d1: d1Fields(stats) });
  }
  return { walked, tenantsDone, tenantsLeft };
}
