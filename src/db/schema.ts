/**
 * Drizzle view of the tables created by migrations/*.sql (wrangler applies
 * those; test/db/schema.test.ts checks that this module and the migrated
 * database agree column for column). Property names are the column names,
 * which are also the API's snake_case field names, so rows need no renaming.
 */
import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { NIL_UUID } from "../lib/uuid";

export const COMMUNICATION_TYPES = ["sms", "email", "push_notification", "call"] as const;
export const DIRECTIONS = ["outbound", "inbound"] as const;
export const STATUSES = ["sent", "delivered", "failed", "read"] as const;

export type CommunicationType = (typeof COMMUNICATION_TYPES)[number];
export type Direction = (typeof DIRECTIONS)[number];
export type Status = (typeof STATUSES)[number];

/**
 * Secondary indexes of communications (migrations/0001_communications.sql),
 * each (tenant_id, column) plus the primary key's id: newest-first per value.
 */
export const COMMUNICATION_INDEXES = {
  customer_id: "communications_customer",
  delivery_id: "communications_delivery",
  status: "communications_status",
  type: "communications_type",
  direction: "communications_direction",
  provider: "communications_provider",
  provider_message_id: "communications_provider_message",
} as const;

/** Indexes that serve lookups rather than list filters (migrations/0002_providers.sql). */
export const LOOKUP_INDEXES = {
  address: "communications_address",
  unattributed: "communications_unattributed",
} as const;

/** customer_id of an inbound message no communication of the tenant could attribute (README): the nil UUID. */
export const UNATTRIBUTED_CUSTOMER = NIL_UUID;

export const PROVIDERS = ["twilio", "sendgrid", "standard"] as const;
export type Provider = (typeof PROVIDERS)[number];

export type JsonObject = { [key: string]: unknown };

export const communications = sqliteTable(
  "communications",
  {
    tenant_id: text("tenant_id").notNull(),
    id: text("id").notNull(),
    customer_id: text("customer_id").notNull(),
    delivery_id: text("delivery_id"),
    type: text("type", { enum: COMMUNICATION_TYPES }).notNull(),
    direction: text("direction", { enum: DIRECTIONS }).notNull(),
    status: text("status", { enum: STATUSES }).notNull(),
    content: text("content"),
    communication_details: text("communication_details", { mode: "json" }).$type<JsonObject>().notNull(),
    created_by: text("created_by").notNull(),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
    status_event_at: text("status_event_at"),
    provider: text("provider"),
    provider_message_id: text("provider_message_id"),
    /** The customer's end of the conversation (migrations/0002_providers.sql), normalised (src/privacy/address.ts). */
    address: text("address"),
    /** When content and addresses were redacted (migrations/0008_privacy.sql); null until then. */
    redacted_at: text("redacted_at"),
  },
  (t) => [primaryKey({ columns: [t.tenant_id, t.id] })],
);

export const communicationTotals = sqliteTable(
  "communication_totals",
  {
    tenant_id: text("tenant_id").notNull(),
    type: text("type", { enum: COMMUNICATION_TYPES }).notNull(),
    direction: text("direction", { enum: DIRECTIONS }).notNull(),
    status: text("status", { enum: STATUSES }).notNull(),
    n: integer("n").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant_id, t.type, t.direction, t.status] })],
);

export const communicationEvents = sqliteTable(
  "communication_events",
  {
    tenant_id: text("tenant_id").notNull(),
    communication_id: text("communication_id").notNull(),
    id: text("id").notNull(),
    from_status: text("from_status", { enum: STATUSES }).notNull(),
    status: text("status", { enum: STATUSES }).notNull(),
    occurred_at: text("occurred_at").notNull(),
    recorded_at: text("recorded_at").notNull(),
    details: text("details", { mode: "json" }).$type<JsonObject>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant_id, t.communication_id, t.id] })],
);

export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    tenant_id: text("tenant_id").notNull(),
    key: text("key").notNull(),
    request_hash: text("request_hash").notNull(),
    communication: text("communication", { mode: "json" }).$type<JsonObject>().notNull(),
    created_at: text("created_at").notNull(),
    expires_at: text("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant_id, t.key] })],
);

/** A tenant being moved off this shard: its writes here fail (migrations/0003_shards.sql; src/shards/move.ts). */
export const tenantFences = sqliteTable(
  "tenant_fences",
  {
    tenant_id: text("tenant_id").notNull(),
    move_id: text("move_id").notNull(),
    created_at: text("created_at").notNull(),
    /** 1 only inside the move's own delete batch (migrations/0005_fence_deletes.sql). */
    releasing: integer("releasing").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant_id] })],
);

export const providerConnections = sqliteTable(
  "provider_connections",
  {
    tenant_id: text("tenant_id").notNull(),
    provider: text("provider", { enum: PROVIDERS }).notNull(),
    secret: text("secret").notNull(),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant_id, t.provider] })],
);

export const pendingProviderEvents = sqliteTable(
  "pending_provider_events",
  {
    tenant_id: text("tenant_id").notNull(),
    provider: text("provider").notNull(),
    provider_message_id: text("provider_message_id").notNull(),
    event_key: text("event_key").notNull(),
    event: text("event", { mode: "json" }).$type<JsonObject>().notNull(),
    received_at: text("received_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant_id, t.provider, t.provider_message_id, t.event_key] })],
);

// Events out (issue 18): migrations/0006_subscriptions.sql.
export const SUBSCRIPTION_STATUSES = ["active", "paused", "disabled"] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];
export const DELIVERY_STATUSES = ["pending", "succeeded", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const subscriptions = sqliteTable(
  "subscriptions",
  {
    tenant_id: text("tenant_id").notNull(),
    id: text("id").notNull(),
    url: text("url").notNull(),
    events: text("events", { mode: "json" }).$type<string[]>().notNull(),
    description: text("description"),
    status: text("status", { enum: SUBSCRIPTION_STATUSES }).notNull(),
    /** Sealed (src/providers/secrets.ts); never returned after the create or rotation that made it. */
    secret: text("secret").notNull(),
    previous_secret: text("previous_secret"),
    previous_secret_expires_at: text("previous_secret_expires_at"),
    service_host: text("service_host").notNull(),
    failing_since: text("failing_since"),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant_id, t.id] })],
);

export const subscriptionEvents = sqliteTable(
  "subscription_events",
  {
    tenant_id: text("tenant_id").notNull(),
    id: text("id").notNull(),
    type: text("type").notNull(),
    communication_id: text("communication_id").notNull(),
    customer_id: text("customer_id").notNull(),
    payload: text("payload").notNull(),
    created_at: text("created_at").notNull(),
    dispatched_at: text("dispatched_at"),
  },
  (t) => [primaryKey({ columns: [t.tenant_id, t.id] })],
);

export const subscriptionDeliveries = sqliteTable(
  "subscription_deliveries",
  {
    tenant_id: text("tenant_id").notNull(),
    subscription_id: text("subscription_id").notNull(),
    event_id: text("event_id").notNull(),
    type: text("type").notNull(),
    status: text("status", { enum: DELIVERY_STATUSES }).notNull(),
    generation: integer("generation").notNull(),
    attempts: integer("attempts").notNull(),
    last_status_code: integer("last_status_code"),
    last_error: text("last_error"),
    last_response: text("last_response"),
    last_attempt_at: text("last_attempt_at"),
    next_attempt_at: text("next_attempt_at"),
    last_failure_at: text("last_failure_at"),
    succeeded_at: text("succeeded_at"),
  },
  (t) => [primaryKey({ columns: [t.tenant_id, t.subscription_id, t.event_id] })],
);

export type SubscriptionRow = typeof subscriptions.$inferSelect;
export type SubscriptionEventRow = typeof subscriptionEvents.$inferSelect;
export type DeliveryRow = typeof subscriptionDeliveries.$inferSelect;

// Privacy (issue 21): migrations/0008_privacy.sql.

/** The actions the audit log records (privacy.md, "The audit log"). */
export const AUDIT_ACTIONS = [
  "provider.connected",
  "provider.disconnected",
  "subscription.created",
  "subscription.updated",
  "subscription.deleted",
  "subscription.secret_rotated",
  "erasure.requested",
  "erasure.finished",
  "communication.redacted",
  "settings.updated",
  "tenant.move_started",
  "tenant.move_finished",
  "export.downloaded",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** The tenant's privileged actions (src/audit): never changed, kept at least 400 days. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    tenant_id: text("tenant_id").notNull(),
    id: text("id").notNull(),
    action: text("action", { enum: AUDIT_ACTIONS }).notNull(),
    actor_sub: text("actor_sub").notNull(),
    actor_role: text("actor_role"),
    actor_is_system_admin: integer("actor_is_system_admin", { mode: "boolean" }).notNull(),
    target_kind: text("target_kind").notNull(),
    target_id: text("target_id").notNull(),
    details: text("details", { mode: "json" }).$type<JsonObject>().notNull(),
    request_id: text("request_id").notNull(),
    created_at: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant_id, t.id] })],
);

export const ERASURE_STATUSES = ["pending", "running", "done", "failed"] as const;
export type ErasureStatus = (typeof ERASURE_STATUSES)[number];

/** Erasure requests (src/privacy/erasure.ts); `addresses` only while one runs. */
export const erasures = sqliteTable(
  "erasures",
  {
    tenant_id: text("tenant_id").notNull(),
    id: text("id").notNull(),
    customer_id: text("customer_id").notNull(),
    addresses: text("addresses", { mode: "json" }).$type<string[]>(),
    reference: text("reference"),
    status: text("status", { enum: ERASURE_STATUSES }).notNull(),
    erased_communications: integer("erased_communications").notNull(),
    erased_events: integer("erased_events").notNull(),
    erased_archived_days: integer("erased_archived_days").notNull(),
    requested_by: text("requested_by").notNull(),
    requester_role: text("requester_role"),
    requester_is_system_admin: integer("requester_is_system_admin", { mode: "boolean" }).notNull(),
    request_id: text("request_id").notNull(),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
    finished_at: text("finished_at"),
  },
  (t) => [primaryKey({ columns: [t.tenant_id, t.id] })],
);

/** Settings and the redaction job's state, one row per name (src/privacy/settings.ts). */
export const tenantSettings = sqliteTable(
  "tenant_settings",
  {
    tenant_id: text("tenant_id").notNull(),
    name: text("name").notNull(),
    value: text("value", { mode: "json" }).$type<unknown>(),
    updated_at: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant_id, t.name] })],
);

/** SHA-256 of erased communications' provider message ids: late callbacks for them are dropped. */
export const erasedProviderIds = sqliteTable(
  "erased_provider_ids",
  {
    tenant_id: text("tenant_id").notNull(),
    id_hash: text("id_hash").notNull(),
    created_at: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant_id, t.id_hash] })],
);

export type CommunicationRow = typeof communications.$inferSelect;
export type EventRow = typeof communicationEvents.$inferSelect;

// Search (issue 20, migrations/0007_search.sql) ---------------------------

/**
 * The FTS5 index of communications (a virtual table: no Drizzle table) and
 * what its rows hold; see migrations/0007_search.sql.
 */
export const SEARCH_INDEX = {
  table: "communication_search",
  /** What triggers insert (tenant_id, id) into to index one communication. */
  source: "communication_search_source",
  columns: { tenant: "tenant", customer: "customer", facets: "facets", addresses: "addresses", body: "body" },
} as const;

/** Document number (the index's rowid: creation ms x 65,536 + a sequence) <-> communication. */
export const communicationSearchDocs = sqliteTable("communication_search_docs", {
  doc: integer("doc").primaryKey(),
  tenant_id: text("tenant_id").notNull(),
  id: text("id").notNull(),
});

/** Tenants whose communications from before migration 0007 are still being indexed (src/search/backfill.ts). */
export const communicationSearchBackfill = sqliteTable(
  "communication_search_backfill",
  {
    tenant_id: text("tenant_id").notNull(),
    before_id: text("before_id"),
    created_at: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant_id] })],
);
