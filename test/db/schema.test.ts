/**
 * src/db/schema.ts is a hand-kept view of what migrations/*.sql create.
 * These tests compare the two, column for column, on the migrated database.
 */
import { env } from "cloudflare:test";
import { getTableConfig, type SQLiteTable } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import {
  auditLog,
  COMMUNICATION_INDEXES,
  communicationEvents,
  communicationSearchBackfill,
  communicationSearchDocs,
  communications,
  communicationTotals,
  erasedProviderIds,
  erasures,
  idempotencyKeys,
  LOOKUP_INDEXES,
  pendingProviderEvents,
  providerConnections,
  SEARCH_INDEX,
  subscriptionDeliveries,
  subscriptionEvents,
  subscriptions,
  tenantFences,
  tenantSettings,
} from "../../src/db/schema";
import { uuidv7 } from "../../src/lib/uuid";
import { auditOutbox, moves, shardLoad, tenants } from "../../src/shards/schema";
import { DERIVED_TABLES, TENANT_TABLES } from "../../src/shards/tenant-tables";

interface ColumnInfo {
  cid: number;
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
}

const TABLES: SQLiteTable[] = [
  communications,
  communicationTotals,
  communicationEvents,
  idempotencyKeys,
  tenantFences,
  providerConnections,
  pendingProviderEvents,
  subscriptions,
  subscriptionEvents,
  subscriptionDeliveries,
  communicationSearchDocs,
  communicationSearchBackfill,
  auditLog,
  erasures,
  tenantSettings,
  erasedProviderIds,
];
/** The directory database (migrations-directory/, src/shards/schema.ts). */
const DIRECTORY_TABLES: SQLiteTable[] = [tenants, shardLoad, moves, auditOutbox];

async function tableInfo(name: string, db: D1Database = env.SHARD_0): Promise<ColumnInfo[]> {
  const { results } = await db.prepare("SELECT * FROM pragma_table_info(?) ORDER BY cid").bind(name).all<ColumnInfo>();
  return results;
}

const SCHEMAS = [
  { database: "shard", db: () => env.SHARD_0, tables: TABLES },
  { database: "directory", db: () => env.DIRECTORY, tables: DIRECTORY_TABLES },
];

describe.each(SCHEMAS)("Drizzle schema vs the migrated $database database", ({ db, tables }) => {
  it("every migrated table has a Drizzle table and vice versa", async () => {
    const { results } = await db()
      .prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name <> 'd1_migrations' ORDER BY name",
      )
      .all<{ name: string; sql: string }>();
    // A virtual table (the search index, FTS5) has no Drizzle table; it and
    // its shadow tables are FTS5's own storage.
    const virtual = results.filter((r) => /^CREATE VIRTUAL TABLE/i.test(r.sql)).map((r) => r.name);
    const shadow = (name: string) =>
      virtual.some((v) => ["data", "idx", "content", "docsize", "config"].some((s) => name === `${v}_${s}`));
    const plain = results.filter((r) => !virtual.includes(r.name) && !shadow(r.name));
    expect(plain.map((r) => r.name)).toEqual(tables.map((t) => getTableConfig(t).name).sort());
    if (tables.includes(communications)) expect(virtual).toEqual([SEARCH_INDEX.table]);
  });

  it.each(tables.map((table) => ({ name: getTableConfig(table).name, table })))(
    "$name: same columns, in order, with the same types, nullability and primary key",
    async ({ name, table }) => {
      const config = getTableConfig(table);
      const actual = await tableInfo(name, db());
      expect(actual.length, `${name} exists`).toBeGreaterThan(0);

      // A composite key is the table's; a single-column one (`.primaryKey()`) the column's own.
      const pkColumns = [
        ...config.primaryKeys.flatMap((pk) => pk.columns.map((c) => c.name)),
        ...config.columns.filter((c) => c.primary).map((c) => c.name),
      ];
      // An INTEGER PRIMARY KEY is the rowid: SQLite never stores NULL there, yet reports notnull 0.
      const rowid = (column: (typeof config.columns)[number]) =>
        column.primary && column.getSQLType().toUpperCase() === "INTEGER";
      const expected = config.columns.map((column) => ({
        name: column.name,
        type: column.getSQLType().toUpperCase(),
        notnull: !rowid(column) && (column.notNull || pkColumns.includes(column.name)) ? 1 : 0,
        pk: pkColumns.indexOf(column.name) + 1,
      }));
      expect(actual.map(({ name, type, notnull, pk }) => ({ name, type: type.toUpperCase(), notnull, pk }))).toEqual(
        expected,
      );
    },
  );
});

describe("the shard's communications table and indexes", () => {
  it("communications is WITHOUT ROWID (the primary key is the storage order)", async () => {
    const row = await env.SHARD_0.prepare(
      "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'communications'",
    ).first<{ sql: string }>();
    expect(row?.sql).toMatch(/WITHOUT ROWID\s*$/i);
  });

  it.each(Object.entries(COMMUNICATION_INDEXES))(
    "index for %s (%s) exists on communications as (tenant_id, column, ...)",
    async (column, index) => {
      const owner = await env.SHARD_0.prepare("SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name = ?")
        .bind(index)
        .first<{ tbl_name: string }>();
      expect(owner?.tbl_name).toBe("communications");
      const { results } = await env.SHARD_0.prepare("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
        .bind(index)
        .all<{ name: string }>();
      expect(results.map((r) => r.name).slice(0, 2)).toEqual(["tenant_id", column]);
    },
  );

  it("every secondary index of communications is one COMMUNICATION_INDEXES names", async () => {
    const { results } = await env.SHARD_0.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'communications' AND sql IS NOT NULL ORDER BY name",
    ).all<{ name: string }>();
    expect(results.map((r) => r.name)).toEqual(
      [...Object.values(COMMUNICATION_INDEXES), ...Object.values(LOOKUP_INDEXES)].sort(),
    );
  });

  it.each(["INSERT", "UPDATE", "DELETE"])(
    "every table a move copies has a %s fence trigger (no write lands behind the final copy, none is undone)",
    async (operation) => {
      for (const { name } of TENANT_TABLES) {
        const { results } = await env.SHARD_0.prepare(
          "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND sql LIKE ? AND sql LIKE '%tenant_fences%' AND sql LIKE '%tenant_frozen%'",
        )
          .bind(name, `%BEFORE ${operation} ON ${name}%`)
          .all<{ sql: string }>();
        expect(results.length, `${name} has a ${operation} fence trigger`).toBe(1);
      }
    },
  );

  it("a fenced tenant's INSERT, UPDATE and DELETE are refused on every moved table; the move's own delete batch passes", async () => {
    const db = env.SHARD_0;
    const tenant = crypto.randomUUID();
    const other = crypto.randomUUID();
    // One row per moved table for two tenants, from the tables' own column lists.
    const values: Record<string, (t: string) => unknown[]> = {
      // The id is a UUIDv7, as every communication's (the search index numbers documents by its time).
      communications: (t) => [
        t,
        uuidv7(),
        crypto.randomUUID(),
        null,
        "sms",
        "outbound",
        "sent",
        "hi",
        "{}",
        "u",
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00Z",
        null,
        null,
        null,
        null,
        null,
      ],
      communication_events: (t) => [
        t,
        crypto.randomUUID(),
        crypto.randomUUID(),
        "sent",
        "delivered",
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00Z",
        "{}",
      ],
      idempotency_keys: (t) => [t, "k", "h", "{}", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"],
      provider_connections: (t) => [t, "standard", "sealed", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"],
      pending_provider_events: (t) => [t, "twilio", "SM1", "k1", "{}", "2026-01-01T00:00:00Z"],
      // Events out (0006), in column order.
      subscriptions: (t) => [
        t,
        crypto.randomUUID(),
        "https://receiver.example.com/events",
        '["communication.created"]',
        null,
        "active",
        "sealed",
        null,
        null,
        "api.test",
        null,
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00Z",
      ],
      subscription_events: (t) => [
        t,
        "evt_0",
        "communication.created",
        crypto.randomUUID(),
        crypto.randomUUID(),
        "{}",
        "2026-01-01T00:00:00Z",
        null,
      ],
      subscription_deliveries: (t) => [
        t,
        crypto.randomUUID(),
        "evt_0",
        "communication.created",
        "pending",
        1,
        0,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
      ],
      // Privacy (migrations/0008_privacy.sql).
      audit_log: (t) => [
        t,
        crypto.randomUUID(),
        "settings.updated",
        "u",
        null,
        0,
        "settings",
        t,
        "{}",
        "r",
        "2026-01-01T00:00:00Z",
      ],
      erasures: (t) => [
        t,
        crypto.randomUUID(),
        crypto.randomUUID(),
        null,
        null,
        "done",
        0,
        0,
        0,
        "u",
        null,
        0,
        "r",
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00Z",
        null,
      ],
      tenant_settings: (t) => [t, "redact_after_days", "30", "2026-01-01T00:00:00Z"],
      erased_provider_ids: (t) => [t, "h", "2026-01-01T00:00:00Z"],
    };
    expect(Object.keys(values).sort()).toEqual(TENANT_TABLES.map((t) => t.name).sort());
    const insert = (table: string, t: string) => {
      const row = values[table]?.(t) ?? [];
      return db.prepare(`INSERT INTO ${table} VALUES (${row.map(() => "?").join(", ")})`).bind(...row);
    };
    for (const { name } of TENANT_TABLES) await db.batch([insert(name, tenant), insert(name, other)]);
    await db
      .prepare("INSERT INTO tenant_fences (tenant_id, move_id, created_at) VALUES (?, 'm', '2026-01-01T00:00:00Z')")
      .bind(tenant)
      .run();
    const refused = async (statement: D1PreparedStatement, what: string) => {
      await expect(statement.run(), what).rejects.toThrow(/tenant_frozen/);
    };
    for (const { name } of TENANT_TABLES) {
      await refused(insert(name, tenant), `INSERT ${name}`);
      await refused(
        db.prepare(`UPDATE ${name} SET tenant_id = tenant_id WHERE tenant_id = ?`).bind(tenant),
        `UPDATE ${name}`,
      );
      await refused(db.prepare(`DELETE FROM ${name} WHERE tenant_id = ?`).bind(tenant), `DELETE ${name}`);
      // Another tenant on the same shard is not fenced (audit entries are never changed, fenced or not).
      const otherUpdate = db.prepare(`UPDATE ${name} SET tenant_id = tenant_id WHERE tenant_id = ?`).bind(other);
      if (name === "audit_log") await expect(otherUpdate.run()).rejects.toThrow(/audit_log_immutable/);
      else await otherUpdate.run();
    }
    // The move's delete: the fence opened and closed inside one batch (src/shards/copy.ts).
    for (const { name } of TENANT_TABLES) {
      await db.batch([
        db.prepare("UPDATE tenant_fences SET releasing = 1 WHERE tenant_id = ?").bind(tenant),
        db.prepare(`DELETE FROM ${name} WHERE tenant_id = ?`).bind(tenant),
        db.prepare("UPDATE tenant_fences SET releasing = 0 WHERE tenant_id = ?").bind(tenant),
      ]);
      const left = await db
        .prepare(`SELECT count(*) AS n FROM ${name} WHERE tenant_id = ?`)
        .bind(tenant)
        .first<{ n: number }>();
      expect(left?.n, name).toBe(0);
    }
    const fence = await db.prepare("SELECT releasing FROM tenant_fences WHERE tenant_id = ?").bind(tenant).first();
    expect(fence).toEqual({ releasing: 0 });
    await db.prepare("DELETE FROM tenant_fences WHERE tenant_id = ?").bind(tenant).run();
  });

  it("the tables of events out (0006) refuse inserts, updates and deletes while their tenant is fenced", async () => {
    for (const name of ["subscriptions", "subscription_events", "subscription_deliveries"]) {
      for (const op of ["INSERT", "UPDATE", "DELETE"]) {
        const { results } = await env.SHARD_0.prepare(
          "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND sql LIKE ? AND sql LIKE '%tenant_fences%'",
        )
          .bind(name, `%BEFORE ${op}%`)
          .all<{ sql: string }>();
        expect(results.length, `${name} has a ${op} fence trigger`).toBe(1);
      }
    }
  });

  it("every table's primary key and every index start with tenant_id (tenants move between databases whole)", async () => {
    const tables = [...TENANT_TABLES, ...DERIVED_TABLES].map((t) => t.name);
    // Every shard table but the move's own fence, and a shard's own progress
    // indexing rows older than the search index, is moved with its tenant.
    expect([...tables, "tenant_fences", "communication_search_backfill"].sort()).toEqual(
      TABLES.map((t) => getTableConfig(t).name).sort(),
    );
    // The search documents are keyed by the shard's own document number (the
    // search index's rowid), not copied but rebuilt; the move reads them by
    // their (tenant_id, id) index.
    const shardKeyed = new Set(["communication_search_docs"]);
    for (const table of tables.filter((t) => shardKeyed.has(t))) {
      const { results } = await env.SHARD_0.prepare(
        "SELECT i.name FROM pragma_index_list(?) l, pragma_index_info(l.name) i WHERE i.seqno = 0",
      )
        .bind(table)
        .all<{ name: string }>();
      expect(
        results.map((r) => r.name),
        table,
      ).toEqual(["tenant_id"]);
    }
    for (const table of tables.filter((t) => !shardKeyed.has(t))) {
      const { results } = await env.SHARD_0.prepare(
        "SELECT name FROM pragma_table_info(?) WHERE pk = 1 UNION ALL SELECT i.name FROM pragma_index_list(?) l, pragma_index_info(l.name) i WHERE i.seqno = 0",
      )
        .bind(table, table)
        .all<{ name: string }>();
      expect(results.length, table).toBeGreaterThan(0);
      for (const r of results) expect(r.name, table).toBe("tenant_id");
    }
  });
});
