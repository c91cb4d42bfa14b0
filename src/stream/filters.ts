/**
 * Which events a stream carries: the list's visibility (src/communications/
 * access.ts, `readScope`) and the list's filters, both matched against the
 * communication as it is after the change (`data.communication`).
 *
 * Kept as plain data so that the tenant's Durable Object can hold them per
 * stream, and as two pure functions. A new list filter plugs in here only:
 * its name in STREAM_FILTERS (the stream's query takes it from the list's,
 * ./schemas.ts) and its test in `matchesFilters`. Issue 20's `address` and
 * `q` are kept as given and parsed once per stream (a malformed one is the
 * handler's 400, as on the list), then matched by src/search/match.ts,
 * whose semantics a test checks against the search index itself.
 */
import type { Communication, ListQuery } from "../communications/schemas";
import type { Scope } from "../communications/store";
import { parseSearch, type Search } from "../search";
import { matchesSearch } from "../search/match";

/** The list's filters a stream accepts (the paging and date ones mean nothing for "from now on"). */
export const STREAM_FILTERS = [
  "customer_id",
  "delivery_id",
  "type",
  "status",
  "direction",
  "provider",
  "provider_message_id",
  "address",
  "q",
] as const;

export type StreamFilters = Pick<ListQuery, (typeof STREAM_FILTERS)[number]>;

/** Only the filters that were given (a stream's record stays small). */
export function pickFilters(query: StreamFilters): StreamFilters {
  const out: Record<string, string> = {};
  for (const name of STREAM_FILTERS) {
    const value = query[name];
    if (value !== undefined) out[name] = value;
  }
  return out as StreamFilters;
}

/** Each stream's parsed search, computed on its first event (its filters object lives as long as the stream). */
const parsed = new WeakMap<StreamFilters, Search | undefined>();
function searchOf(f: StreamFilters): Search | undefined {
  if (f.address === undefined && f.q === undefined) return undefined;
  if (!parsed.has(f)) parsed.set(f, parseSearch(f));
  return parsed.get(f);
}

/** Whether a communication passes the list's filters, as the list's WHERE clause (and search index) would. */
export function matchesFilters(f: StreamFilters, c: Communication): boolean {
  return (
    (f.customer_id === undefined || c.customer_id === f.customer_id) &&
    (f.delivery_id === undefined || c.delivery_id === f.delivery_id) &&
    (f.type === undefined || c.type === f.type) &&
    (f.status === undefined || c.status === f.status) &&
    (f.direction === undefined || c.direction === f.direction) &&
    (f.provider === undefined || c.provider === f.provider) &&
    (f.provider_message_id === undefined || c.provider_message_id === f.provider_message_id) &&
    matchesSearch(c, searchOf(f))
  );
}

/** Whether the caller of `scope` may see the communication: `visible()` of the store, in memory. */
export const visibleIn = (scope: Scope, c: Communication) =>
  c.tenant_id === scope.tenantId && (scope.ownCustomerId === undefined || c.customer_id === scope.ownCustomerId);
