-- Audit entries of actions whose record lives in the directory (a tenant
-- move: `moves`), written in the same directory batch as that record, then
-- delivered to the tenant's audit_log on its shard (src/audit/outbox.ts) by
-- the move itself and, for anything left, by the hourly cron. Delivery is an
-- insert that ignores an entry already there (same id), then a delete here:
-- at least once, never twice. Empty between deliveries.
CREATE TABLE audit_outbox (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  -- The entry as audit_log stores it (src/audit/store.ts, AuditRecord).
  entry TEXT NOT NULL CHECK (json_valid(entry)),
  created_at TEXT NOT NULL
) WITHOUT ROWID;
