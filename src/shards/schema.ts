/** Drizzle view of the directory database (migrations-directory/). */
import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const tenants = sqliteTable(
  "tenants",
  {
    tenant_id: text("tenant_id").notNull(),
    shard: text("shard").notNull(),
    frozen: integer("frozen", { mode: "boolean" }).notNull(),
    created_at: text("created_at").notNull(),
    /** Events out (issue 18): the tenant's subscriptions; above 0, its changes are written to the outbox. */
    subscriptions: integer("subscriptions").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant_id] })],
);

export const shardLoad = sqliteTable(
  "shard_load",
  {
    shard: text("shard").notNull(),
    tenants: integer("tenants").notNull(),
  },
  (t) => [primaryKey({ columns: [t.shard] })],
);

export const MOVE_STATUSES = [
  "queued",
  "copying",
  "frozen",
  "verifying",
  "switched",
  "cleaning",
  "done",
  "failed",
] as const;
export type MoveStatus = (typeof MOVE_STATUSES)[number];

export const moves = sqliteTable(
  "moves",
  {
    id: text("id").notNull(),
    tenant_id: text("tenant_id").notNull(),
    from_shard: text("from_shard").notNull(),
    to_shard: text("to_shard").notNull(),
    status: text("status", { enum: MOVE_STATUSES }).notNull(),
    copied: integer("copied").notNull(),
    rows_read: integer("rows_read").notNull(),
    rows_written: integer("rows_written").notNull(),
    error: text("error"),
    created_at: text("created_at").notNull(),
    updated_at: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.id] })],
);

export type TenantRow = typeof tenants.$inferSelect;
export type MoveRow = typeof moves.$inferSelect;

/** Audit entries of directory-side actions (moves) on their way to the tenant's shard (src/audit/outbox.ts). */
export const auditOutbox = sqliteTable(
  "audit_outbox",
  {
    id: text("id").notNull(),
    tenant_id: text("tenant_id").notNull(),
    entry: text("entry", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    created_at: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.id] })],
);
