/**
 * src/db/schema.ts is a hand-kept view of what migrations/*.sql create.
 * These tests compare the two, column for column, on the migrated database.
 */
import { env } from "cloudflare:test";
import { getTableConfig, type SQLiteTable } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import {
  COMMUNICATION_INDEXES,
  communicationEvents,
  communicationSearchBackfill,
  communicationSearchDocs,
  communications,
  communicationTotals,
  idempotencyKeys,
  LOOKUP_INDEXES,
  pendingProviderEvents,
  providerConnections,
  SEARCH_INDEX,
  tenantFences,
} from "../../src/db/schema";
import { moves, shardLoad, tenants } from "../../src/shards/schema";
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
  communicationSearchDocs,
  communicationSearchBackfill,
];
/** The directory database (migrations-directory/, src/shards/schema.ts). */
const DIRECTORY_TABLES: SQLiteTable[] = [tenants, shardLoad, moves];

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

      const pkColumns = config.primaryKeys.flatMap((pk) => pk.columns.map((c) => c.name));
      const expected = config.columns.map((column) => ({
        name: column.name,
        type: column.getSQLType().toUpperCase(),
        notnull: column.notNull || pkColumns.includes(column.name) ? 1 : 0,
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

  it("every table a move copies refuses inserts while its tenant is fenced (no write lands behind the final copy)", async () => {
    for (const { name } of TENANT_TABLES) {
      const { results } = await env.SHARD_0.prepare(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND sql LIKE '%BEFORE INSERT%' AND sql LIKE '%tenant_fences%'",
      )
        .bind(name)
        .all<{ sql: string }>();
      expect(results.length, `${name} has a fence trigger`).toBe(1);
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
