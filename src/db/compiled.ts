/**
 * Statements that Drizzle renders once per isolate, with a placeholder for
 * every value. A request fills the placeholders in and sends the statement
 * to the request's database client (./client.ts: stats, retries of reads,
 * typed errors) as it is. This is for the hot writes, whose SQL never
 * changes between requests. Rendering them again on every request (Drizzle
 * walks every column and condition) was the largest part of a create's own
 * CPU (BENCHMARKS.md, CPU per request). Lists keep a cache per shape
 * (src/communications/store.ts), since their SQL depends on the filters.
 */
import { fillPlaceholders, type Placeholder, type Query, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Database } from "./client";

/** Renders SQL only: it is never given a database to run on. */
const renderer = drizzle({} as D1Database);
export type Renderer = typeof renderer;

/** A placeholder for the value named `name` (a key of the values the statement is filled with). */
export type Slot<V> = (name: keyof V & string) => Placeholder;

/**
 * `render` builds the statement with `slot(name)` wherever a value goes; it
 * runs once, on first use. The result binds a request's `values` (each
 * column's encoder applies, as when Drizzle binds them, e.g. JSON columns
 * are stringified) to a statement of `db`'s client, ready for `run()`,
 * `all()` or the client's `batch()`.
 */
export function compiled<V extends object>(render: (db: Renderer, slot: Slot<V>) => { toSQL(): Query }) {
  let query: Query | undefined;
  return (db: Database, values: V): D1PreparedStatement => {
    query ??= render(renderer, (name) => sql.placeholder(name)).toSQL();
    return db.$client.prepare(query.sql).bind(...fillPlaceholders(query.params, values as Record<string, unknown>));
  };
}
