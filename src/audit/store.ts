/**
 * The audit log (privacy.md, "The audit log"): the tenant's privileged
 * actions, on the tenant's shard (audit_log, migrations/0008_privacy.sql).
 *
 * "An action and its entry are committed together": `auditInsert()` returns
 * the entry's INSERT, unexecuted, and the action adds it to its own D1
 * batch (one transaction), so the entry exists exactly when the action does.
 * Actions recorded in the directory (tenant moves) commit their entry to the
 * directory's outbox instead, in the same directory batch (./outbox.ts).
 *
 * Entries hold counts and settings in `details`, never content, addresses or
 * secrets. Nothing changes or deletes them: the table's triggers refuse it.
 */
import { and, desc, eq, getTableColumns, gte, lt, type SQL, sql } from "drizzle-orm";
import type { Principal } from "../auth/principal";
import type { Database } from "../db/client";
import { AUDIT_ACTIONS, type AuditAction, auditLog, type JsonObject } from "../db/schema";
import { uuidv7, uuidv7Floor } from "../lib/uuid";

export { AUDIT_ACTIONS, type AuditAction };

/** Who did it. For a background job's entry, the person who started the job. */
export interface Actor {
  sub: string;
  role: string | null;
  is_system_admin: boolean;
}

/** The scheduled redaction job: an entry on no one's behalf. */
export const SYSTEM_ACTOR: Actor = { sub: "system:scheduled", role: null, is_system_admin: false };

export const actorOf = (p: Principal): Actor => ({ sub: p.userId, role: p.role, is_system_admin: p.isSystemAdmin });

export interface AuditEntry {
  action: AuditAction;
  actor: Actor;
  target: { kind: string; id: string };
  /** Counts and settings only. */
  details?: JsonObject;
  requestId: string;
}

export type AuditRow = typeof auditLog.$inferSelect;

/** The row an entry is stored as (also what the directory's outbox carries). */
export function auditRecord(tenantId: string, entry: AuditEntry, now = Date.now()): AuditRow {
  return {
    tenant_id: tenantId,
    id: uuidv7(now),
    action: entry.action,
    actor_sub: entry.actor.sub,
    actor_role: entry.actor.role,
    actor_is_system_admin: entry.actor.is_system_admin,
    target_kind: entry.target.kind,
    target_id: entry.target.id,
    details: entry.details ?? {},
    request_id: entry.requestId,
    created_at: new Date(now).toISOString(),
  };
}

const COLUMNS = Object.keys(getTableColumns(auditLog)) as (keyof AuditRow)[];

/** A stored value as SQLite takes it (booleans as 0/1, JSON as text), for INSERT ... SELECT. */
const encode = (row: AuditRow, key: keyof AuditRow): unknown => {
  const value = row[key];
  if (typeof value === "boolean") return value ? 1 : 0;
  if (key === "details") return JSON.stringify(value);
  return value;
};

export interface AuditInsertOptions {
  /** The entry is written only if this holds when its statement runs (e.g. `changes() = 1` after the action's write). */
  when?: SQL;
  /** `details` computed by SQL in the batch (e.g. from the row the action is about to change). */
  details?: SQL;
}

/**
 * The INSERT of one entry, to put in the action's own batch. Returns the
 * statement and the entry's row (its id, for tests and outbox delivery).
 */
export function auditInsert(db: Database, tenantId: string, entry: AuditEntry, options: AuditInsertOptions = {}) {
  const row = auditRecord(tenantId, entry);
  if (!options.when && !options.details) return { statement: db.insert(auditLog).values(row), row };
  const values = sql.join(
    COLUMNS.map((key) => (key === "details" && options.details ? options.details : sql`${encode(row, key)}`)),
    sql`, `,
  );
  const where = options.when ? sql` WHERE ${options.when}` : sql``;
  return { statement: db.insert(auditLog).select(sql`SELECT ${values}${where}`), row };
}

/** A stored record (as the outbox carries it) inserted once: a second delivery of the same id changes nothing. */
export const auditInsertRecord = (db: Database, row: AuditRow) => db.insert(auditLog).values(row).onConflictDoNothing();

export interface AuditFilters {
  action?: AuditAction;
  actor?: string;
  created_after?: string;
  created_before?: string;
}

/** An entry as the API returns it. */
export const toAuditEntry = (row: AuditRow) => ({
  id: row.id,
  action: row.action,
  actor: { sub: row.actor_sub, role: row.actor_role, is_system_admin: row.actor_is_system_admin },
  target: { kind: row.target_kind, id: row.target_id },
  details: row.details,
  request_id: row.request_id,
  created_at: row.created_at,
});

/**
 * A page of the tenant's entries, newest first. Ids are UUIDv7, so the
 * primary key (tenant_id, id) is the time order, and each filter's index
 * (tenant_id, action | actor_sub, id) serves it newest first: a page reads
 * about `limit + 1` entries.
 */
export async function listAudit(
  db: Database,
  tenantId: string,
  f: AuditFilters,
  page: { limit: number; after?: string },
) {
  const rows = await db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.tenant_id, tenantId),
        f.action ? eq(auditLog.action, f.action) : undefined,
        f.actor ? eq(auditLog.actor_sub, f.actor) : undefined,
        f.created_after ? gte(auditLog.id, uuidv7Floor(Date.parse(f.created_after))) : undefined,
        f.created_before ? lt(auditLog.id, uuidv7Floor(Date.parse(f.created_before))) : undefined,
        page.after ? lt(auditLog.id, page.after) : undefined,
      ),
    )
    .orderBy(desc(auditLog.id))
    .limit(page.limit + 1);
  const entries = rows.slice(0, page.limit);
  return { entries: entries.map(toAuditEntry), lastId: rows.length > page.limit ? entries.at(-1)?.id : undefined };
}
