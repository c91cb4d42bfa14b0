/**
 * The index-choice rule of list queries, in one place: the store pins it
 * (INDEXED BY) and test/communications/query-plan.test.ts imports it to check every shape.
 *
 * SQLite's planner has no statistics on a fresh or growing D1 database and
 * then prefers walking the primary key (it already yields the order) over a
 * selective index, reading every row of the tenant to find one customer's.
 * So the index is chosen here, deterministically: the most selective
 * equality filter present, else the primary key (tenant_id, id).
 */
import { COMMUNICATION_INDEXES } from "../db/schema";

/**
 * Equality filters with an index, most selective first. A provider message
 * id names at most one row per provider; a provider alone is about as broad
 * as a type.
 */
const BY_SELECTIVITY = [
  "provider_message_id",
  "customer_id",
  "delivery_id",
  "status",
  "type",
  "provider",
  "direction",
] as const;

export type IndexedColumn = (typeof BY_SELECTIVITY)[number];

/**
 * The index a list with these filters walks (undefined: the primary key).
 * `ownCustomerId` is a customer's own scope, which acts as a customer filter.
 */
export function listIndex(
  filters: Partial<Record<IndexedColumn, unknown>>,
  ownCustomerId?: string,
): (typeof COMMUNICATION_INDEXES)[IndexedColumn] | undefined {
  const present = (column: IndexedColumn) =>
    column === "customer_id" ? (ownCustomerId ?? filters.customer_id) : filters[column];
  const column = BY_SELECTIVITY.find((c) => present(c));
  return column ? COMMUNICATION_INDEXES[column] : undefined;
}
