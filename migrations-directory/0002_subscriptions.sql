-- Events out (issue 18): how many subscriptions a tenant has. Read with the
-- placement every request already reads (and caches per isolate for 60 s,
-- src/shards/directory.ts), so a change learns for free whether its event
-- goes to the outbox: a tenant without subscriptions writes and reads no
-- extra row per change. Kept by the subscription routes (src/subscriptions).
ALTER TABLE tenants ADD COLUMN subscriptions INTEGER NOT NULL DEFAULT 0 CHECK (subscriptions >= 0);
