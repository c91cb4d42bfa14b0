-- The tenant-move fence of 0003 for the provider-webhook tables of 0002:
-- while a tenant is frozen on this shard, a connection or a callback that
-- arrived before its communication cannot be written here behind the move's
-- final copy (the write fails as "tenant_frozen": the API answers 503 with
-- Retry-After and the queue consumer retries the message later).
-- Deletes are not fenced: the move deletes the source rows itself, fence last.
CREATE TRIGGER provider_connections_fence_insert BEFORE INSERT ON provider_connections
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER provider_connections_fence_update BEFORE UPDATE ON provider_connections
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER pending_provider_events_fence_insert BEFORE INSERT ON pending_provider_events
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;
