/**
 * Page-by-page operations on one tenant's rows of one table, over raw D1
 * bindings (the tables come from TENANT_TABLES, so the SQL is generic).
 * Every page is bounded (`limit` rows), every write is an idempotent upsert
 * or delete: a page run twice (a step retried after its write committed but
 * before its result was recorded) changes nothing the second time.
 */
import { hex } from "../lib/uuid";
import type { TenantTable } from "./tenant-tables";

/** D1 binds at most 100 parameters per statement. */
const MAX_PARAMS = 100;

/** Key of the last row of a page: where the next page starts. */
export type Cursor = (string | number | null)[] | null;

export interface PageCost {
  rowsRead: number;
  rowsWritten: number;
}

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;

function cost(results: D1Result[]): PageCost {
  let rowsRead = 0;
  let rowsWritten = 0;
  for (const r of results) {
    rowsRead += r.meta.rows_read ?? 0;
    rowsWritten += r.meta.rows_written ?? 0;
  }
  return { rowsRead, rowsWritten };
}

/** One page of the tenant's rows in key order, after `after`: every column, or `columns`. */
export async function readPage(
  db: D1Database,
  table: TenantTable & { columns?: readonly string[] },
  tenantId: string,
  after: Cursor,
  limit: number,
): Promise<{ rows: Record<string, unknown>[]; cost: PageCost }> {
  const keys = table.key.map(q).join(", ");
  const from = after ? ` AND (${keys}) > (${after.map(() => "?").join(", ")})` : "";
  const columns = table.columns ? table.columns.map(q).join(", ") : "*";
  const result = await db
    .prepare(`SELECT ${columns} FROM ${q(table.name)} WHERE tenant_id = ?${from} ORDER BY ${keys} LIMIT ?`)
    .bind(tenantId, ...(after ?? []), limit)
    .all<Record<string, unknown>>();
  return { rows: result.results, cost: cost([result]) };
}

const nextCursor = (table: TenantTable, rows: Record<string, unknown>[], limit: number): Cursor => {
  const last = rows.at(-1);
  return rows.length === limit && last ? table.key.map((k) => last[k] as string | number | null) : null;
};

/**
 * Copies one page from `source` to `target` as upserts that skip identical
 * rows. The target's triggers keep its totals (an insert counts the row, a
 * changed status moves the counters).
 */
export async function copyPage(
  source: D1Database,
  target: D1Database,
  table: TenantTable,
  tenantId: string,
  after: Cursor,
  limit: number,
): Promise<{ next: Cursor; rows: number; cost: PageCost }> {
  const page = await readPage(source, table, tenantId, after, limit);
  const first = page.rows[0];
  if (!first) return { next: null, rows: 0, cost: page.cost };
  const columns = Object.keys(first);
  const keyColumns = new Set(["tenant_id", ...table.key]);
  const others = columns.filter((c) => !keyColumns.has(c));
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  const tuple = `(${columns.map(() => "?").join(", ")})`;
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < page.rows.length; i += perStatement) {
    const chunk = page.rows.slice(i, i + perStatement);
    const update = others.length
      ? `DO UPDATE SET ${others.map((c) => `${q(c)} = excluded.${q(c)}`).join(", ")}
         WHERE (${others.map((c) => `${q(table.name)}.${q(c)}`).join(", ")}) IS NOT (${others.map((c) => `excluded.${q(c)}`).join(", ")})`
      : "DO NOTHING";
    statements.push(
      target
        .prepare(
          `INSERT INTO ${q(table.name)} (${columns.map(q).join(", ")}) VALUES ${chunk.map(() => tuple).join(", ")}
           ON CONFLICT (${[...keyColumns].map(q).join(", ")}) ${update}`,
        )
        .bind(...chunk.flatMap((row) => columns.map((c) => row[c]))),
    );
  }
  const written = cost(await target.batch(statements));
  return {
    next: nextCursor(table, page.rows, limit),
    rows: page.rows.length,
    cost: { rowsRead: page.cost.rowsRead + written.rowsRead, rowsWritten: written.rowsWritten },
  };
}

/**
 * Deletes from `target` the tenant's rows of one page of target keys (after
 * `after`) that `source` no longer has: rows deleted at the source after the
 * copy pass copied them (a provider connection removed, kept provider events
 * applied, a day archived). Run by the sync pass, behind the source's fence,
 * so the source no longer changes. The keys travel as one JSON parameter
 * (D1 binds at most 100). The target serves nothing of the tenant yet: no
 * fence there. Returns the next page's start and how many rows went.
 */
export async function prunePage(
  source: D1Database,
  target: D1Database,
  table: TenantTable,
  tenantId: string,
  after: Cursor,
  limit: number,
): Promise<{ next: Cursor; rows: number; cost: PageCost }> {
  const keys = table.key.map(q).join(", ");
  const from = after ? ` AND (${keys}) > (${after.map(() => "?").join(", ")})` : "";
  const page = await target
    .prepare(`SELECT ${keys} FROM ${q(table.name)} WHERE tenant_id = ?${from} ORDER BY ${keys} LIMIT ?`)
    .bind(tenantId, ...(after ?? []), limit)
    .all<Record<string, string | number | null>>();
  if (page.results.length === 0) return { next: null, rows: 0, cost: cost([page]) };
  const element = (i: number) => `json_extract(value, '$[${i}]')`;
  const missing = await source
    .prepare(
      `SELECT value FROM json_each(?) WHERE NOT EXISTS (SELECT 1 FROM ${q(table.name)} WHERE tenant_id = ? AND ${table.key
        .map((k, i) => `${q(k)} = ${element(i)}`)
        .join(" AND ")})`,
    )
    .bind(JSON.stringify(page.results.map((row) => table.key.map((k) => row[k]))), tenantId)
    .all<{ value: string }>();
  const results: D1Result[] = [page, missing];
  if (missing.results.length > 0) {
    results.push(
      await target
        .prepare(
          `DELETE FROM ${q(table.name)} WHERE tenant_id = ? AND (${keys}) IN (SELECT ${table.key
            .map((_, i) => element(i))
            .join(", ")} FROM json_each(?))`,
        )
        .bind(tenantId, `[${missing.results.map((m) => m.value).join(",")}]`)
        .run(),
    );
  }
  return {
    next: nextCursor(table, page.results, limit),
    rows: missing.results.length,
    cost: cost(results),
  };
}

const sha256Hex = async (text: string) =>
  hex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));

/**
 * The checksum of one side, one page further: SHA-256 of the previous
 * checksum and the page's rows (column values in column-name order, so the
 * two databases' column order cannot matter).
 */
export async function checksumPage(
  db: D1Database,
  table: TenantTable & { columns?: readonly string[] },
  tenantId: string,
  after: Cursor,
  limit: number,
  previous: string,
): Promise<{ next: Cursor; rows: number; checksum: string; cost: PageCost }> {
  const page = await readPage(db, table, tenantId, after, limit);
  const lines = page.rows.map((row) =>
    JSON.stringify(
      Object.keys(row)
        .sort()
        .map((k) => row[k]),
    ),
  );
  return {
    next: nextCursor(table, page.rows, limit),
    rows: page.rows.length,
    checksum: lines.length ? await sha256Hex(`${previous}\n${lines.join("\n")}`) : previous,
    cost: page.cost,
  };
}

/**
 * Runs `statement` (a delete of the tenant's rows) through the tenant's fence,
 * if it has one: one batch opens the fence, runs it and closes the fence
 * again (migrations/0005_fence_deletes.sql). A batch is one transaction, so
 * no other writer ever finds the fence open; without a fence row the two
 * updates change nothing. Returns the statement's result.
 */
export async function throughFence(db: D1Database, tenantId: string, statement: D1PreparedStatement) {
  const [opened, result, closed] = await db.batch([
    db.prepare("UPDATE tenant_fences SET releasing = 1 WHERE tenant_id = ?").bind(tenantId),
    statement,
    db.prepare("UPDATE tenant_fences SET releasing = 0 WHERE tenant_id = ?").bind(tenantId),
  ]);
  return { result: result as D1Result, cost: cost([opened, result, closed] as D1Result[]) };
}

/**
 * Deletes up to `limit` of the tenant's rows of `table`; returns how many
 * went. The move deletes the source after the switch while its fence still
 * stands, so the delete goes through the fence.
 */
export async function deletePage(
  db: D1Database,
  table: TenantTable,
  tenantId: string,
  limit: number,
): Promise<{ rows: number; cost: PageCost }> {
  const keys = table.key.map(q).join(", ");
  const { result, cost } = await throughFence(
    db,
    tenantId,
    db
      .prepare(
        `DELETE FROM ${q(table.name)} WHERE tenant_id = ? AND (${keys}) IN
         (SELECT ${keys} FROM ${q(table.name)} WHERE tenant_id = ? LIMIT ?)`,
      )
      .bind(tenantId, tenantId, limit),
  );
  return { rows: result.meta.changes ?? 0, cost };
}

export async function countRows(db: D1Database, table: TenantTable, tenantId: string): Promise<number> {
  const row = await db
    .prepare(`SELECT count(*) AS n FROM ${q(table.name)} WHERE tenant_id = ?`)
    .bind(tenantId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}
