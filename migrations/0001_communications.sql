-- Communications log, one set of rows per tenant.
--
-- WITHOUT ROWID with PRIMARY KEY (tenant_id, id): rows are stored clustered by
-- tenant, and `id` is a UUIDv7 whose first 48 bits are created_at in
-- milliseconds, so ordering by id IS newest-first by created_at with ties
-- broken by id. The primary key therefore serves "no filter", date ranges,
-- cursors and reads by id without any extra index (and without the extra row
-- written per insert that a separate id index would cost).
-- Every secondary index of a WITHOUT ROWID table ends with the primary key
-- columns, so (tenant_id, X) is really (tenant_id, X, tenant_id, id): each one
-- serves "filter on X, newest first" by walking the index, reading one entry
-- per row returned.
CREATE TABLE communications (
  tenant_id TEXT NOT NULL,
  id TEXT NOT NULL CHECK (length(id) = 36),
  customer_id TEXT NOT NULL,
  delivery_id TEXT,
  type TEXT NOT NULL CHECK (type IN ('sms', 'email', 'push_notification', 'call')),
  direction TEXT NOT NULL DEFAULT 'outbound' CHECK (direction IN ('outbound', 'inbound')),
  status TEXT NOT NULL DEFAULT 'sent' CHECK (status IN ('sent', 'delivered', 'failed', 'read')),
  content TEXT,
  communication_details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(communication_details) AND json_type(communication_details) = 'object'),
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  -- Provider time of the event that set the current status (NULL until the
  -- first status update). Older events never overwrite a newer state.
  status_event_at TEXT,
  PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;

-- Customer apps list their own communications: the hottest read path.
CREATE INDEX communications_customer ON communications (tenant_id, customer_id);
-- A delivery's timeline (dashboards, support).
CREATE INDEX communications_delivery ON communications (tenant_id, delivery_id);
-- Channel, delivery state and direction views. Each is one row written per
-- create; without them a rare value (failed, call, inbound) reads many rows
-- per page. See BENCHMARKS.md for the measured trade-off.
CREATE INDEX communications_type ON communications (tenant_id, type);
CREATE INDEX communications_status ON communications (tenant_id, status);
CREATE INDEX communications_direction ON communications (tenant_id, direction);

-- Totals without COUNT scans: one row per (tenant, type, direction, status)
-- cell, at most 32 per tenant. Kept by triggers so that no code path (create,
-- status update, bulk import) can forget them; the trigger runs inside the
-- same statement, hence the same batch() transaction, as the write.
CREATE TABLE communication_totals (
  tenant_id TEXT NOT NULL,
  type TEXT NOT NULL,
  direction TEXT NOT NULL,
  status TEXT NOT NULL,
  n INTEGER NOT NULL CHECK (n >= 0),
  PRIMARY KEY (tenant_id, type, direction, status)
) WITHOUT ROWID;

CREATE TRIGGER communications_totals_insert AFTER INSERT ON communications
BEGIN
  INSERT INTO communication_totals (tenant_id, type, direction, status, n)
  VALUES (NEW.tenant_id, NEW.type, NEW.direction, NEW.status, 1)
  ON CONFLICT (tenant_id, type, direction, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER communications_totals_status AFTER UPDATE OF status ON communications
WHEN OLD.status <> NEW.status
BEGIN
  UPDATE communication_totals SET n = n - 1
  WHERE tenant_id = OLD.tenant_id AND type = OLD.type AND direction = OLD.direction AND status = OLD.status;
  INSERT INTO communication_totals (tenant_id, type, direction, status, n)
  VALUES (NEW.tenant_id, NEW.type, NEW.direction, NEW.status, 1)
  ON CONFLICT (tenant_id, type, direction, status) DO UPDATE SET n = n + 1;
END;

-- Applied status changes, oldest first (id is a UUIDv7).
CREATE TABLE communication_events (
  tenant_id TEXT NOT NULL,
  communication_id TEXT NOT NULL,
  id TEXT NOT NULL,
  from_status TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('sent', 'delivered', 'failed', 'read')),
  occurred_at TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
  PRIMARY KEY (tenant_id, communication_id, id)
) WITHOUT ROWID;

-- Idempotency-Key records for create. The key row is inserted in the same
-- batch() as the communication, so both exist or neither does.
CREATE TABLE idempotency_keys (
  tenant_id TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  communication TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, key)
) WITHOUT ROWID;
-- No index on expires_at, on purpose: the hourly purge scans the table
-- (about a day of keys, 24 scans a day), which costs far fewer billed units
-- than one extra index row written on every create (1 write ~ 1000 reads).
