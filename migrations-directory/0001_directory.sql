-- The directory: which shard (a D1 binding named SHARD_<n>) holds each
-- tenant, and the record of tenant moves. Its own database, so that it stays
-- tiny and every shard holds tenant data only (migrations/ is applied to the
-- shards, this folder to the directory; scripts/migrate.mjs does both).
CREATE TABLE tenants (
  tenant_id TEXT PRIMARY KEY,
  shard TEXT NOT NULL,
  -- Set while a move is in its final phase: writes answer 503 + Retry-After,
  -- reads keep going to `shard`.
  frozen INTEGER NOT NULL DEFAULT 0 CHECK (frozen IN (0, 1)),
  created_at TEXT NOT NULL
) WITHOUT ROWID;

-- Tenants per shard, kept by triggers, so that placing a new tenant reads one
-- row per shard instead of counting the tenants table.
CREATE TABLE shard_load (
  shard TEXT PRIMARY KEY,
  tenants INTEGER NOT NULL CHECK (tenants >= 0)
) WITHOUT ROWID;

CREATE TRIGGER tenants_load_insert AFTER INSERT ON tenants
BEGIN
  INSERT INTO shard_load (shard, tenants) VALUES (NEW.shard, 1)
  ON CONFLICT (shard) DO UPDATE SET tenants = tenants + 1;
END;

CREATE TRIGGER tenants_load_move AFTER UPDATE OF shard ON tenants
WHEN OLD.shard <> NEW.shard
BEGIN
  UPDATE shard_load SET tenants = tenants - 1 WHERE shard = OLD.shard;
  INSERT INTO shard_load (shard, tenants) VALUES (NEW.shard, 1)
  ON CONFLICT (shard) DO UPDATE SET tenants = tenants + 1;
END;

-- One row per move; `id` is the Workflow instance id.
CREATE TABLE moves (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  from_shard TEXT NOT NULL,
  to_shard TEXT NOT NULL,
  -- queued -> copying -> frozen -> verifying -> switched -> cleaning -> done; or failed
  status TEXT NOT NULL CHECK (status IN ('queued', 'copying', 'frozen', 'verifying', 'switched', 'cleaning', 'done', 'failed')),
  -- Rows copied (all tables, both passes) and the D1 rows read/written by
  -- the move so far: the measured cost of a move (SCALING.md).
  copied INTEGER NOT NULL DEFAULT 0,
  rows_read INTEGER NOT NULL DEFAULT 0,
  rows_written INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) WITHOUT ROWID;

-- The latest move of a tenant, and "is one running" (at most one at a time).
CREATE INDEX moves_tenant ON moves (tenant_id, created_at);
CREATE UNIQUE INDEX moves_one_active ON moves (tenant_id) WHERE status NOT IN ('done', 'failed');
