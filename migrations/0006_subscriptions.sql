-- Events out (issue 18, ../shared/spec/events.md): subscriptions, the event
-- log they are served from (the outbox, kept 7 days), and one delivery row
-- per (subscription, event) once it was attempted. Every table and key starts
-- with tenant_id, so a tenant's rows move between shards whole; each table
-- is in src/shards/tenant-tables.ts and is fenced below.

-- A tenant's endpoints (at most 20). `events` is a JSON array of event
-- types. `secret` and `previous_secret` are base64(iv || AES-GCM ciphertext)
-- of the `whsec_` signing secrets under PROVIDER_SECRETS_KEY, with
-- "tenant_id:subscription:id" as additional data (src/providers/secrets.ts);
-- the previous one signs beside the current one until
-- previous_secret_expires_at (24 hours after a rotation). `service_host` is
-- the host the subscription was created or last changed through: the URL may
-- not point back at it, which the consumer checks again before each attempt.
-- `failing_since`: the first failed attempt since the last success (a
-- subscription failing for 5 days is disabled).
CREATE TABLE subscriptions (
  tenant_id TEXT NOT NULL,
  id TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL CHECK (json_valid(events)),
  description TEXT,
  status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'disabled')),
  secret TEXT NOT NULL,
  previous_secret TEXT,
  previous_secret_expires_at TEXT,
  service_host TEXT NOT NULL,
  failing_since TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;

-- The event log (the outbox): written in the same D1 batch as the change,
-- only for a tenant that has subscriptions. `payload` is the body as it is
-- delivered, byte for byte (retries and replays sign the same bytes).
-- `dispatched_at` is set once the queue took the event's deliveries; the
-- scheduled job sends what is still NULL a minute after its commit.
-- `communication_id` and `customer_id` are there for erasure (privacy.md).
-- No secondary index: an index entry is a row written per event, and the
-- only readers that do not go by (tenant_id, id) are the hourly jobs and an
-- erasure, which scan instead (reads cost a thousandth of a write).
CREATE TABLE subscription_events (
  tenant_id TEXT NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  communication_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at TEXT NOT NULL,
  dispatched_at TEXT,
  PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;

-- The delivery log: one row per (subscription, event), written by the queue
-- consumer at the first attempt and updated by each later one; newest first
-- is the primary key read backwards (event ids sort by time). `generation`
-- grows with each replay: a queue message carries the generation it was
-- sent for, and one that is not the row's current generation is dropped.
-- `last_response` holds at most the first 256 bytes of the receiver's answer.
CREATE TABLE subscription_deliveries (
  tenant_id TEXT NOT NULL,
  subscription_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  type TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  generation INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  last_status_code INTEGER,
  last_error TEXT,
  last_response TEXT,
  last_attempt_at TEXT,
  next_attempt_at TEXT,
  last_failure_at TEXT,
  succeeded_at TEXT,
  PRIMARY KEY (tenant_id, subscription_id, event_id)
) WITHOUT ROWID;

-- The move's fence (0003, 0005) for these tables, DELETE included. A move
-- deletes the source's rows itself after the switch, while the fence still
-- refuses every other write: its own delete batches set `releasing` around
-- their statement (0005; src/shards/copy.ts, throughFence).

CREATE TRIGGER subscriptions_fence_insert BEFORE INSERT ON subscriptions
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER subscriptions_fence_update BEFORE UPDATE ON subscriptions
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER subscriptions_fence_delete BEFORE DELETE ON subscriptions
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = OLD.tenant_id AND releasing = 0)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER subscription_events_fence_insert BEFORE INSERT ON subscription_events
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER subscription_events_fence_update BEFORE UPDATE ON subscription_events
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER subscription_events_fence_delete BEFORE DELETE ON subscription_events
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = OLD.tenant_id AND releasing = 0)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER subscription_deliveries_fence_insert BEFORE INSERT ON subscription_deliveries
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER subscription_deliveries_fence_update BEFORE UPDATE ON subscription_deliveries
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = NEW.tenant_id)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;

CREATE TRIGGER subscription_deliveries_fence_delete BEFORE DELETE ON subscription_deliveries
WHEN EXISTS (SELECT 1 FROM tenant_fences WHERE tenant_id = OLD.tenant_id AND releasing = 0)
BEGIN
  SELECT RAISE(ABORT, 'tenant_frozen');
END;
