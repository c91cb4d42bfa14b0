/**
 * The per-tenant tables of a shard that a tenant move copies, verifies and
 * deletes: the one list to extend when a migration adds a tenant table. Each
 * table's primary key is `tenant_id` followed by `key`. Copy order matters
 * only for readability (parents first); nothing enforces foreign keys.
 *
 * Not listed, on purpose: the tables the target's triggers rebuild from the
 * copied communications (DERIVED_TABLES below: the move still compares
 * them), tenant_fences, the move's own fence, and
 * communication_search_backfill, a shard's own progress on indexing rows
 * older than the search index (the target indexes every copied row).
 */
export interface TenantTable {
  name: string;
  /** Primary key columns after tenant_id, in key order. */
  key: readonly string[];
}

export const TENANT_TABLES: readonly TenantTable[] = [
  { name: "communications", key: ["id"] },
  { name: "communication_events", key: ["communication_id", "id"] },
  { name: "idempotency_keys", key: ["key"] },
  // Provider webhooks (migrations/0002_providers.sql).
  { name: "provider_connections", key: ["provider"] },
  { name: "pending_provider_events", key: ["provider", "provider_message_id", "event_key"] },
  // Events out (migrations/0006_subscriptions.sql).
  { name: "subscriptions", key: ["id"] },
  { name: "subscription_events", key: ["id"] },
  { name: "subscription_deliveries", key: ["subscription_id", "event_id"] },
  // Privacy (migrations/0008_privacy.sql).
  { name: "audit_log", key: ["id"] },
  { name: "erasures", key: ["id"] },
  { name: "tenant_settings", key: ["name"] },
  { name: "erased_provider_ids", key: ["id_hash"] },
];

/**
 * Rebuilt on the target by triggers as the communications are copied, and
 * compared on both sides by the move's verification:
 *  - `cells`: counters, compared cell by cell (empty cells left out);
 *  - `rows`: every row, by count and checksum of `columns` in key order
 *    (the search documents: their document numbers are the shard's own).
 * The search index itself (communication_search, FTS5, contentless) cannot
 * be read back: the move checks that it holds as many of the tenant's
 * documents as there are communications, on both sides. What each document
 * holds is computed by the same trigger SQL from the copied columns, which
 * the communications checksum covers.
 */
export interface DerivedTable extends TenantTable {
  compare: "cells" | "rows";
  /** Columns compared (`rows`). */
  columns?: readonly string[];
}

export const DERIVED_TABLES: readonly DerivedTable[] = [
  { name: "communication_totals", key: ["type", "direction", "status"], compare: "cells" },
  // Search (migrations/0007_search.sql): read by its (tenant_id, id) index.
  { name: "communication_search_docs", key: ["id"], compare: "rows", columns: ["tenant_id", "id"] },
];
