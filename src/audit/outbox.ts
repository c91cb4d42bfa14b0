/**
 * Audit entries of actions recorded in the directory (tenant moves: the
 * `moves` row), whose tenant's audit log lives on a shard: one D1 batch
 * cannot span two databases. So the entry is committed in the same
 * directory batch as the action's record, into `audit_outbox`
 * (migrations-directory/0004_audit_outbox.sql), and delivered afterwards to
 * the tenant's current shard: an insert that ignores an entry already there
 * (the same id), then the outbox row's delete. Delivery is at least once and
 * never doubles an entry; the move delivers its own entries at its next
 * step, the hourly cron whatever is left (a delivery refused by a move's
 * fence is simply tried again later, on the shard the directory then names).
 */
import { eq, type SQL, sql } from "drizzle-orm";
import { createDb, type DbStats, newDbStats } from "../db/client";
import { log } from "../lib/logger";
import { shardBinding } from "../shards/config";
import { directoryDb, readPlacement } from "../shards/directory";
import { auditOutbox } from "../shards/schema";
import { type AuditEntry, type AuditRow, auditInsertRecord, auditRecord } from "./store";

type Directory = ReturnType<typeof directoryDb>;

/**
 * The outbox INSERT of an entry, for the action's own directory batch;
 * `when` makes it conditional on the batch's state when it runs.
 */
export function outboxInsert(db: Directory, tenantId: string, entry: AuditEntry, when?: SQL) {
  const row = auditRecord(tenantId, entry);
  const statement = when
    ? db
        .insert(auditOutbox)
        .select(sql`SELECT ${row.id}, ${tenantId}, ${JSON.stringify(row)}, ${row.created_at} WHERE ${when}`)
    : db.insert(auditOutbox).values({
        id: row.id,
        tenant_id: tenantId,
        entry: row as unknown as Record<string, unknown>,
        created_at: row.created_at,
      });
  return { statement, row };
}

/** Entries delivered per call at most; the outbox holds a handful (one or two per move). */
const DELIVERY_LIMIT = 100;

/**
 * Delivers the outbox's entries (of one tenant, or all) to their tenants'
 * shards. Returns how many were delivered; an entry that could not be (the
 * tenant frozen by a move, D1 unavailable) stays for the next call.
 */
export async function deliverAuditOutbox(env: Env, tenantId?: string, stats: DbStats = newDbStats()) {
  const directory = directoryDb(env, stats);
  const pending = await directory
    .select()
    .from(auditOutbox)
    .where(tenantId ? eq(auditOutbox.tenant_id, tenantId) : undefined)
    .orderBy(auditOutbox.id)
    .limit(DELIVERY_LIMIT);
  let delivered = 0;
  for (const item of pending) {
    try {
      const placement = await readPlacement(env, item.tenant_id, stats);
      if (!placement) continue; // a tenant the directory forgot: kept, for an operator to see
      const shard = createDb(shardBinding(env, placement.shard), "first-primary", stats);
      await auditInsertRecord(shard, item.entry as unknown as AuditRow).run();
      await directory.delete(auditOutbox).where(eq(auditOutbox.id, item.id)).run();
      delivered++;
    } catch (err) {
      log.warn("audit entry not delivered yet", {
        tenant_id: item.tenant_id,
        entry_id: item.id,
        error: err instanceof Error ? err.message.slice(0, 200) : String(err),
      });
    }
  }
  return delivered;
}
