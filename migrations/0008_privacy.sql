-- Privacy (issue 21, ../shared/spec/privacy.md): redaction, erasure and the
-- audit log. Every table here starts with tenant_id and is listed in
-- src/shards/tenant-tables.ts, so a tenant move carries it; each has INSERT,
-- UPDATE and DELETE fence triggers (below).

-- When the communication's content and addresses were redacted (NULL until
-- then). Redaction also clears `address`, so a redacted message no longer
-- attributes inbound messages nor is found by its address.
ALTER TABLE communications ADD COLUMN redacted_at TEXT;

-- `address` is compared in one form from now on (src/privacy/address.ts):
-- phones in E.164 (spaces, dashes, dots and parentheses dropped), emails
-- trimmed and lower-cased. Rows stored before in another form get it once,
-- here; only rows whose value changes are written.
UPDATE communications
SET address = replace(replace(replace(replace(replace(address, ' ', ''), '-', ''), '.', ''), '(', ''), ')', '')
WHERE address LIKE '+%' AND address GLOB '*[ ().-]*';
UPDATE communications SET address = lower(trim(address))
WHERE address LIKE '%@%' AND address <> lower(trim(address));

-- The audit log: the tenant's privileged actions, newest first (id is a
-- UUIDv7). Written in the same D1 batch as the action it records
-- (src/audit/store.ts). Never changed; deleted only by a tenant move (the
-- copy it leaves behind) or, past 400 days, by a purge (none runs today).
CREATE TABLE audit_log (
  tenant_id TEXT NOT NULL,
  id TEXT NOT NULL CHECK (length(id) = 36),
  action TEXT NOT NULL,
  actor_sub TEXT NOT NULL,
  actor_role TEXT,
  actor_is_system_admin INTEGER NOT NULL CHECK (actor_is_system_admin IN (0, 1)),
  target_kind TEXT NOT NULL,
  target_id TEXT NOT NULL,
  -- Counts and settings only: never content, addresses or secrets.
  details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details) AND json_type(details) = 'object'),
  request_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
-- The route's filters, newest first (each index ends with the primary key's id).
CREATE INDEX audit_log_action ON audit_log (tenant_id, action);
CREATE INDEX audit_log_actor ON audit_log (tenant_id, actor_sub);

-- Erasure requests (one Workflow each, src/privacy/erasure-workflow.ts).
-- Personal data kept: customer_id only. `addresses` (normalised phones and
-- emails to erase) is needed while the erasure runs and is set to NULL in the
-- same batch that marks it done or failed; the API never returns it.
CREATE TABLE erasures (
  tenant_id TEXT NOT NULL,
  id TEXT NOT NULL CHECK (length(id) = 36),
  customer_id TEXT NOT NULL,
  addresses TEXT CHECK (addresses IS NULL OR json_valid(addresses)),
  reference TEXT,
  status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
  erased_communications INTEGER NOT NULL DEFAULT 0,
  erased_events INTEGER NOT NULL DEFAULT 0,
  erased_archived_days INTEGER NOT NULL DEFAULT 0,
  -- The requester (`sub`), and what the audit entry of the finish names as its actor.
  requested_by TEXT NOT NULL,
  requester_role TEXT,
  requester_is_system_admin INTEGER NOT NULL CHECK (requester_is_system_admin IN (0, 1)),
  request_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  finished_at TEXT,
  PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
-- "While one runs for that customer, that one is answered": at most one
-- unfinished erasure per customer.
CREATE UNIQUE INDEX erasures_one_active ON erasures (tenant_id, customer_id)
  WHERE status IN ('pending', 'running');
-- GET /erasures?customer_id=..., newest first.
CREATE INDEX erasures_customer ON erasures (tenant_id, customer_id);

-- Per-tenant settings and the redaction job's state, one row per name:
--   redact_after_days            the setting (PUT /settings), a number or null;
--   redaction.through            id below which every communication is redacted;
--   redaction.archive_through    last archived day (YYYY-MM-DD) already redacted in R2;
--   redaction.unaudited          rows redacted by a job run that ended before writing its audit entry.
CREATE TABLE tenant_settings (
  tenant_id TEXT NOT NULL,
  name TEXT NOT NULL,
  value TEXT CHECK (value IS NULL OR json_valid(value)),
  updated_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, name)
) WITHOUT ROWID;

-- Provider message ids of erased communications, as SHA-256 of the id (never
-- the id itself): a late provider callback or a redelivered inbound message
-- for an erased message is dropped instead of being kept or recreated. Kept
-- 30 days (the hourly cron deletes older ones).
CREATE TABLE erased_provider_ids (
  tenant_id TEXT NOT NULL,
  id_hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, id_hash)
) WITHOUT ROWID;

-- Audit entries are never changed, and deleted only by a tenant move or once
-- older than 400 days. While the tenant is fenced, the fences below refuse
-- its writes ("tenant_frozen"); a tenant move deletes through the fence,
-- `releasing` set for its own batch only (migrations/0005_fence_deletes.sql,
-- src/shards/copy.ts), and fences the tenant first where it clears a shard
-- that does not serve it (src/shards/move.ts, clearTenant).
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'audit_log_immutable');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.created_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-400 days')
  AND NOT EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = OLD.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'audit_log_immutable');
END;

-- Fences (migrations/0003_shards.sql): while the tenant is frozen on this
-- shard, no write of it lands here behind the move's final copy.
CREATE TRIGGER audit_log_fence_insert BEFORE INSERT ON audit_log
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER audit_log_fence_update BEFORE UPDATE ON audit_log
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER audit_log_fence_delete BEFORE DELETE ON audit_log
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = OLD.tenant_id AND releasing = 0)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER erasures_fence_insert BEFORE INSERT ON erasures
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER erasures_fence_update BEFORE UPDATE ON erasures
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER erasures_fence_delete BEFORE DELETE ON erasures
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = OLD.tenant_id AND releasing = 0)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER tenant_settings_fence_insert BEFORE INSERT ON tenant_settings
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER tenant_settings_fence_update BEFORE UPDATE ON tenant_settings
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER tenant_settings_fence_delete BEFORE DELETE ON tenant_settings
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = OLD.tenant_id AND releasing = 0)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER erased_provider_ids_fence_insert BEFORE INSERT ON erased_provider_ids
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER erased_provider_ids_fence_update BEFORE UPDATE ON erased_provider_ids
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER erased_provider_ids_fence_delete BEFORE DELETE ON erased_provider_ids
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = OLD.tenant_id AND releasing = 0)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;
