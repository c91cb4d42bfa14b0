-- Sharding (issue 12): what each shard needs for retention and tenant moves.

-- Deleting a communication (retention archive, the source side of a tenant
-- move) takes it out of communication_totals, in the same statement as the
-- delete, as the insert and status triggers of 0001 do for the other writes.
CREATE TRIGGER communications_totals_delete AFTER DELETE ON communications
BEGIN
  UPDATE communication_totals SET n = n - 1
  WHERE tenant_id = OLD.tenant_id AND type = OLD.type AND direction = OLD.direction AND status = OLD.status;
END;

-- A tenant being moved off this shard: from the moment its row is here, every
-- write of that tenant to this shard fails with "tenant_frozen" (answered 503
-- with Retry-After), whatever an isolate's cached directory entry says. The
-- move copies the last changes only after this row is committed, so no write
-- can land behind the copy. Empty except during a move's final phase: each
-- write pays one primary-key probe of an empty table.
CREATE TABLE tenant_fences (
  tenant_id TEXT PRIMARY KEY,
  move_id TEXT NOT NULL,
  created_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER communications_fence_insert BEFORE INSERT ON communications
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER communications_fence_update BEFORE UPDATE ON communications
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER communication_events_fence_insert BEFORE INSERT ON communication_events
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER idempotency_keys_fence_insert BEFORE INSERT ON idempotency_keys
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;
