/**
 * The per-tenant tables of a shard that a tenant move copies, verifies and
 * deletes: the one list to extend when a migration adds a tenant table. Each
 * table's primary key is `tenant_id` followed by `key`. Copy order matters
 * only for readability (parents first); nothing enforces foreign keys.
 *
 * Not listed, on purpose: communication_totals, which the target's triggers
 * rebuild from the copied communications (the move still verifies it), and
 * tenant_fences, the move's own fence.
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

/** Checked by the move's verification as well: rebuilt by triggers, so compared, not copied. */
export const DERIVED_TABLES: readonly TenantTable[] = [
  { name: "communication_totals", key: ["type", "direction", "status"] },
];
