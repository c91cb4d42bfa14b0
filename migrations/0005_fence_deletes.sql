-- Issue 16: the tenant-move fence refuses every change of a fenced tenant's
-- rows, deletes included, on every table a move carries (TENANT_TABLES,
-- src/shards/tenant-tables.ts). 0003 and 0004 fenced INSERT everywhere and
-- UPDATE on two tables: a DELETE that reached the source shard after the
-- move's last copy (an isolate still holding the old placement) answered
-- 200 and was thrown away with the source, so the deleted row came back.
--
-- The move itself deletes the source rows after the switch, while the fence
-- still stands (it goes last). It opens the fence for its own statements
-- only: one D1 batch (one transaction, nothing runs between its
-- statements) sets `releasing`, deletes a page and clears `releasing` again
-- (src/shards/copy.ts, deletePage), so no other writer ever sees it set.
ALTER TABLE tenant_fences ADD COLUMN releasing INTEGER NOT NULL DEFAULT 0;

-- communications: INSERT and UPDATE are fenced by 0003.
CREATE TRIGGER communications_fence_delete BEFORE DELETE ON communications
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = OLD.tenant_id AND releasing = 0)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

-- communication_events: INSERT fenced by 0003.
CREATE TRIGGER communication_events_fence_update BEFORE UPDATE ON communication_events
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER communication_events_fence_delete BEFORE DELETE ON communication_events
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = OLD.tenant_id AND releasing = 0)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

-- idempotency_keys: INSERT fenced by 0003.
CREATE TRIGGER idempotency_keys_fence_update BEFORE UPDATE ON idempotency_keys
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER idempotency_keys_fence_delete BEFORE DELETE ON idempotency_keys
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = OLD.tenant_id AND releasing = 0)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

-- provider_connections: INSERT and UPDATE fenced by 0004.
CREATE TRIGGER provider_connections_fence_delete BEFORE DELETE ON provider_connections
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = OLD.tenant_id AND releasing = 0)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

-- pending_provider_events: INSERT fenced by 0004.
CREATE TRIGGER pending_provider_events_fence_update BEFORE UPDATE ON pending_provider_events
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER pending_provider_events_fence_delete BEFORE DELETE ON pending_provider_events
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = OLD.tenant_id AND releasing = 0)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

-- communication_totals is not fenced: only the triggers of communications
-- (fenced above) and the move itself write it.

-- Staff's list of provider events that matched no communication yet
-- (GET /providers/unmatched): a tenant's kept events newest first, one index
-- walk per page. One index row per kept event; events that match on arrival
-- are never kept, so ordinary traffic writes none.
CREATE INDEX pending_provider_events_received ON pending_provider_events (tenant_id, received_at);
