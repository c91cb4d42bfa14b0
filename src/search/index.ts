/**
 * Search (issue 20, docs/spec/search.md): the `address` and `q`
 * filters. Parsing and normalisation live here; the SQL is the search index
 * of migrations/0007_search.sql, queried by src/communications/store.ts
 * (compileSearchList); ./match.ts holds the same matching without the
 * database, for the live stream; ./backfill.ts indexes communications that
 * predate the index.
 */
import { SEARCH_INDEX } from "../db/schema";
import { ApiError } from "../lib/errors";
import { type ParsedAddress, parseAddress } from "./address";
import { tenantToken } from "./normalise";
import { type ParsedQuery, parseQuery } from "./query";

/** `address` and `q`, parsed: served by the search index. */
export interface Search {
  address?: ParsedAddress;
  query?: ParsedQuery;
}

/** The search filters of a list, export or stream request, parsed; undefined when there are none. 400 when malformed. */
export function parseSearch(params: { address?: string; q?: string }): Search | undefined {
  const address = params.address === undefined ? undefined : parseAddress(params.address);
  const query = params.q === undefined ? undefined : parseQuery(params.q);
  return address || query ? { address, query } : undefined;
}

/** Seconds a caller is asked to wait while the tenant's older communications are indexed. */
export const SEARCH_RETRY_AFTER_S = 300;

/** A search of a tenant whose older communications are not all indexed yet (src/search/backfill.ts). */
export const searchNotReady = () =>
  new ApiError(503, "search_not_ready", { headers: { "Retry-After": String(SEARCH_RETRY_AFTER_S) } });

/**
 * The tenant's documents in a shard's search index (a tenant move compares
 * them with its communications on both sides: src/shards/move.ts).
 */
export async function countSearchDocuments(db: D1Database, tenantId: string) {
  const result = await db
    .prepare(`SELECT count(*) AS n FROM ${SEARCH_INDEX.table} WHERE ${SEARCH_INDEX.table} MATCH ?`)
    .bind(`${SEARCH_INDEX.columns.tenant} : "${tenantToken(tenantId)}"`)
    .all<{ n: number }>();
  return { documents: result.results[0]?.n ?? 0, rowsRead: result.meta.rows_read ?? 0 };
}
