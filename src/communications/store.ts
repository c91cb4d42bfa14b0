/**
 * Data access of the communications feature. A `CommunicationStore` is
 * built for one access scope (src/communications/access.ts) and every query
 * starts from `this.visible()`: the tenant condition (and a customer's own
 * customer_id) lives here, once, so no query can forget it.
 *
 * Cost model (D1 bills rows read and written; see BENCHMARKS.md):
 *  - a page reads about `limit + 1` index entries: every filter has an index
 *    whose order is newest-first (see migrations/0001_communications.sql);
 *  - `total` never scans the tenant: without customer/delivery/date filters
 *    it sums at most 32 counter rows (communication_totals, kept by
 *    triggers); with them it counts through the selective index, bounded
 *    by that customer's, delivery's or time window's rows;
 *  - the page and the total go to D1 in one batch: one round trip.
 *
 * `address` and `q` (search.md) go through the search index instead
 * (migrations/0007_search.sql): its documents are numbered in creation
 * order, so a page walks the tenant's newest matches through FTS5 and
 * joins each to its row; see searchMatch() and compileSearchList().
 *
 * The store speaks in outcomes (created, replayed, conflict, not found);
 * handlers pick the HTTP status. The index rule is in ./access-path.ts, the
 * status state machine in ./transitions.ts, the key protocol in
 * ./idempotency.ts.
 */
import {
  and,
  asc,
  desc,
  eq,
  fillPlaceholders,
  getTableColumns,
  gt,
  gte,
  inArray,
  isNull,
  lt,
  type Query,
  type SQL,
  type SQLWrapper,
  sql,
  sum,
} from "drizzle-orm";
import type { Database } from "../db/client";
import { compiled } from "../db/compiled";
import {
  type CommunicationRow,
  communicationEvents,
  communicationSearchBackfill,
  communicationSearchDocs,
  communications,
  communicationTotals,
  type EventRow,
  type JsonObject,
  LOOKUP_INDEXES,
  pendingProviderEvents,
  SEARCH_INDEX,
  UNATTRIBUTED_CUSTOMER,
} from "../db/schema";
import { type ChangeEvent, createdEvent, statusChangedEvent } from "../events/event";
import type { EventRecorder } from "../events/recorder";
import { uuidv7, uuidv7Floor, uuidv7Time } from "../lib/uuid";
import { storedAddress } from "../privacy/address";
import { redactDetails } from "../privacy/mask";
import type { Search } from "../search";
import { customerToken, deliveryToken, providerMessageToken, providerToken, tenantToken } from "../search/normalise";
import { providerIdMatch } from "../webhooks/provider-ids";
import { listIndex } from "./access-path";
import { claimKey, type IdempotencyKey, isKeyConflict, readKey } from "./idempotency";
import {
  type Communication,
  type CreateBody,
  type ListQuery,
  MAX_EVENTS,
  MAX_RESULT_WINDOW,
  type StatusUpdateBody,
} from "./schemas";
import { applies } from "./transitions";

export interface Scope {
  tenantId: string;
  /** Set for customers: they only ever see this customer's rows. */
  ownCustomerId?: string;
}

export type ListFilters = Pick<
  ListQuery,
  | "customer_id"
  | "delivery_id"
  | "type"
  | "status"
  | "direction"
  | "created_after"
  | "created_before"
  | "provider"
  | "provider_message_id"
> & { search?: Search };

export interface PageRequest {
  limit: number;
  order: "desc" | "asc";
  /** Either an offset page (1-based) or a keyset cursor (the last id seen). */
  page?: number;
  after?: string;
}

/** What a create did: a new row, the stored original of a repeated key, or a key used with another body. */
export type CreateOutcome =
  /** hasPendingEvents: provider status events arrived before this create and wait for it (src/webhooks). */
  | { outcome: "created"; communication: Communication; hasPendingEvents: boolean }
  | { outcome: "replayed"; communication: Communication }
  /** Another communication of the tenant has this (provider, provider_message_id). */
  | { outcome: "provider_conflict" }
  | { outcome: "key_conflict" }
  /** The key's record went between the failed insert and the read (the purge): safe to retry. */
  | { outcome: "key_vanished" };

/** The API shape of a row: contract.md's field order, internal columns left out. */
export const toCommunication = (row: CommunicationRow): Communication => ({
  id: row.id,
  tenant_id: row.tenant_id,
  customer_id: row.customer_id,
  delivery_id: row.delivery_id,
  type: row.type,
  direction: row.direction,
  status: row.status,
  content: row.content,
  communication_details: row.communication_details,
  provider: row.provider,
  provider_message_id: row.provider_message_id,
  created_by: row.created_by,
  created_at: row.created_at,
  updated_at: row.updated_at,
  redacted_at: row.redacted_at,
});

const toEvent = (row: EventRow) => {
  const { tenant_id: _t, ...rest } = row;
  return rest;
};

/**
 * The columns of communications as plain SQL selections. Drizzle refuses
 * column objects when FROM is raw SQL (our INDEXED BY clause); these render
 * the same `"communications"."col"` and decode like the columns
 * (`mapWith`), so rows come back as CommunicationRow.
 */
export const rowFields = Object.fromEntries(
  Object.entries(getTableColumns(communications)).map(([key, column]) => [
    key,
    sql`${communications}.${sql.identifier(column.name)}`.mapWith(column),
  ]),
) as { [K in keyof CommunicationRow]: SQL<CommunicationRow[K]> };

const iso = (ms: number) => new Date(ms).toISOString();

/** The unique (tenant_id, provider_message_id, provider) index of migrations/0002_providers.sql. */
export const isProviderIdConflict = (err: unknown): boolean => {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (String((e as Error).message ?? e).includes("UNIQUE constraint failed: communications.tenant_id")) return true;
  }
  return false;
};

/**
 * The customer's end of the conversation: whom an outbound went to, who sent
 * an inbound; a phone number, else the email, in the one stored form of
 * src/privacy/address.ts. Inbound messages are attributed through it
 * (migrations/0002_providers.sql), and erasures find a customer's addresses by it.
 */
export function customerAddress(direction: string, details: JsonObject): string | null {
  const party = (direction === "inbound" ? details.sender : details.recipient) as
    | { phone?: unknown; email?: unknown }
    | undefined;
  if (typeof party?.phone === "string" && party.phone.trim()) return storedAddress(party.phone);
  if (typeof party?.email === "string" && party.email.trim()) return storedAddress(party.email);
  return null;
}

/** An event's details as stored: masked like its communication's once that is redacted (privacy.md). */
export const eventDetails = (row: Pick<CommunicationRow, "redacted_at">, details: JsonObject): JsonObject =>
  row.redacted_at ? redactDetails(details) : details;

/** A list's filter terms: the request's values, or placeholders for them (see compileList). */
type ListTerms = Partial<Record<Exclude<keyof ListFilters, "search">, SQLWrapper>>;

/** The values a list statement's placeholders are filled with, by name. */
interface ListValues {
  tenant_id: string;
  own_customer_id?: string;
  customer_id?: string;
  delivery_id?: string;
  type?: string;
  status?: string;
  direction?: string;
  /** created_after / created_before as id bounds (ids are UUIDv7). */
  created_after?: string;
  created_before?: string;
  provider?: string;
  provider_message_id?: string;
  /** The cursor's last id. */
  after?: string;
  limit: number;
  offset: number;
  /** Search lists: the FTS5 expression (searchMatch()), and the time bounds in ms (index rowids are ms x 65,536). */
  match?: string;
  from_ms?: number;
  to_ms?: number;
  after_ms?: number;
}

/**
 * Rows a search document number (the index's rowid) spans per millisecond:
 * doc = creation ms x DOCS_PER_MS + sequence (migrations/0007_search.sql).
 */
const DOCS_PER_MS = 65536;

/**
 * The FTS5 expression of a search list: the caller's tenant (and a
 * customer's own id, or the customer_id filter) as index tokens, so that
 * MATCH only ever walks this tenant's (customer's) documents, then the
 * address and the query. This is the tenant condition inside the index;
 * the rows it finds are joined to communications under visible() as well.
 * Undefined when the list is not a search.
 */
export function searchMatch(scope: Scope, f: ListFilters): string | undefined {
  const { address, query } = f.search ?? {};
  if (!address && !query) return undefined;
  const customer = scope.ownCustomerId ?? (f.customer_id || undefined);
  const { tenant, customer: customerColumn, facets, addresses, body } = SEARCH_INDEX.columns;
  // The filters that never change are facets of the index: a search combined
  // with them is narrowed there too (only status is left to the rows).
  const facet = (token: string | undefined) => (token ? `${facets} : "${token}"` : undefined);
  // Tokens are letters, digits and "_" only; the query's expression quotes every term (src/search/query.ts).
  return [
    `${tenant} : "${tenantToken(scope.tenantId)}"`,
    customer === undefined ? undefined : `${customerColumn} : "${customerToken(customer)}"`,
    facet(f.type || undefined),
    facet(f.direction || undefined),
    facet(f.delivery_id ? deliveryToken(f.delivery_id) : undefined),
    facet(f.provider ? providerToken(f.provider) : undefined),
    facet(f.provider_message_id ? providerMessageToken(f.provider_message_id) : undefined),
    address ? `${addresses} : "${address.token}"` : undefined,
    query ? `${body} : (${query.expression})` : undefined,
  ]
    .filter(Boolean)
    .join(" AND ");
}

/** A filter counts when it is truthy, as it always has (an empty value is no filter). */
function listValues(scope: Scope, f: ListFilters, p: PageRequest): ListValues {
  const match = searchMatch(scope, f);
  const ms = (id: string | undefined) => (match && id ? uuidv7Time(id) : undefined);
  const createdAfter = f.created_after ? uuidv7Floor(Date.parse(f.created_after)) : undefined;
  const createdBefore = f.created_before ? uuidv7Floor(Date.parse(f.created_before)) : undefined;
  return {
    tenant_id: scope.tenantId,
    own_customer_id: scope.ownCustomerId,
    customer_id: f.customer_id || undefined,
    delivery_id: f.delivery_id || undefined,
    type: f.type || undefined,
    status: f.status || undefined,
    direction: f.direction || undefined,
    created_after: createdAfter,
    created_before: createdBefore,
    provider: f.provider || undefined,
    provider_message_id: f.provider_message_id || undefined,
    after: p.after || undefined,
    limit: p.limit + 1, // one extra row tells whether there is a next page
    offset: p.page ? (p.page - 1) * p.limit : 0,
    match,
    from_ms: ms(createdAfter),
    to_ms: ms(createdBefore),
    after_ms: ms(p.after || undefined),
  };
}

/**
 * A list's two statements, per shape (which values are present, and the
 * order): Drizzle renders them once per isolate with a placeholder for every
 * value, and a request only fills the placeholders in. Rendering them anew
 * on every request (13 column expressions, the conditions, the index
 * clause) was the largest part of a list's own CPU after the router
 * (BENCHMARKS.md, CPU per request). The shapes are few: at most 2 orders x
 * 2^10 presence patterns, in practice a handful per client.
 */
const compiledLists = new Map<string, CompiledList>();

interface CompiledList {
  page: Query;
  count: Query;
  /** Search lists: whether the tenant's older communications are still being indexed. */
  pending?: Query;
}

/** A page row as D1 returns it (keys are column names) decoded like Drizzle would (JSON columns parsed). */
const COLUMNS = Object.entries(getTableColumns(communications));
function decodeRow(raw: Record<string, unknown>): CommunicationRow {
  const row: Record<string, unknown> = {};
  for (const [key, column] of COLUMNS) {
    const value = raw[column.name];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as CommunicationRow;
}

/** A communication's insert, every column a placeholder. */
const insertCommunication = compiled<CommunicationRow>((db, slot) =>
  db
    .insert(communications)
    .values(
      Object.fromEntries(
        COLUMNS.map(([key]) => [key, slot(key as keyof CommunicationRow)]),
      ) as unknown as CommunicationRow,
    ),
);

/**
 * Inbound messages that could not be attributed to a customer, from the
 * address this communication names, adopt its customer (see create()).
 */
const adoptUnattributed = compiled<CommunicationRow>((db, slot) =>
  db
    .update(communications)
    .set({ customer_id: slot("customer_id"), updated_at: slot("created_at") } as unknown as CommunicationRow)
    .where(
      and(
        eq(communications.tenant_id, slot("tenant_id")),
        // The planner would walk the tenant's primary key: the ids come
        // from the partial index of unattributed rows, pinned (and
        // matched by its literal, which a bound parameter would not).
        sql`${communications.id} IN (SELECT id FROM ${communications} INDEXED BY ${sql.identifier(LOOKUP_INDEXES.unattributed)}
          WHERE tenant_id = ${slot("tenant_id")} AND address = ${slot("address")}
            AND customer_id = ${sql.raw(`'${UNATTRIBUTED_CUSTOMER}'`)})`,
      ),
    ),
);

/** Whether status events for this communication arrived before it was created (see create()). */
const findPendingEvents = compiled<CommunicationRow>((db, slot) =>
  db
    .select({ one: sql<number>`1` })
    .from(pendingProviderEvents)
    .where(
      and(
        eq(pendingProviderEvents.tenant_id, slot("tenant_id")),
        // "*": kept by the `standard` route without a provider name (src/webhooks/store.ts).
        inArray(pendingProviderEvents.provider, [slot("provider"), "*"]),
        eq(pendingProviderEvents.provider_message_id, slot("provider_message_id")),
      ),
    )
    .limit(1),
);

export class CommunicationStore {
  /**
   * The events of the changes this store committed, oldest first
   * (src/events/event.ts): the caller publishes them once its work is done
   * (src/events/publish.ts). Only committed changes are here.
   */
  readonly committed: ChangeEvent[] = [];

  /**
   * `recorder`: statements that commit each change's event in the change's
   * own batch (src/events/recorder.ts; the subscriptions' outbox, given for
   * a tenant that has subscriptions). Without it nothing more is written.
   */
  constructor(
    private readonly db: Database,
    readonly scope: Scope,
    private readonly recorder?: EventRecorder,
  ) {}

  /** The rows this caller may see. Every communications query starts here. */
  protected visible(...conditions: (SQL | undefined)[]): SQL {
    return and(
      eq(communications.tenant_id, this.scope.tenantId),
      this.scope.ownCustomerId === undefined ? undefined : eq(communications.customer_id, this.scope.ownCustomerId),
      ...conditions,
    ) as SQL;
  }

  private filterConditions(f: ListTerms): (SQL | undefined)[] {
    return [
      f.customer_id ? eq(communications.customer_id, f.customer_id) : undefined,
      f.delivery_id ? eq(communications.delivery_id, f.delivery_id) : undefined,
      f.type ? eq(communications.type, f.type) : undefined,
      f.status ? eq(communications.status, f.status) : undefined,
      f.direction ? eq(communications.direction, f.direction) : undefined,
      f.created_after ? gte(communications.id, f.created_after) : undefined,
      f.created_before ? lt(communications.id, f.created_before) : undefined,
      f.provider ? eq(communications.provider, f.provider) : undefined,
      f.provider_message_id ? eq(communications.provider_message_id, f.provider_message_id) : undefined,
    ];
  }

  /** The table with its access path pinned (./access-path.ts says why). */
  private source(f: ListTerms): SQL {
    const index = listIndex(f, this.scope.ownCustomerId);
    return index ? sql`${communications} INDEXED BY ${sql.identifier(index)}` : sql`${communications} NOT INDEXED`;
  }

  /** The cheapest exact count for these filters (see the module comment). */
  private countQuery(f: ListTerms) {
    // Provider filters are not among the counter cells: counted through their index.
    const selective =
      this.scope.ownCustomerId !== undefined ||
      f.customer_id ||
      f.delivery_id ||
      f.created_after ||
      f.created_before ||
      f.provider ||
      f.provider_message_id;
    if (selective) {
      // Counts at most MAX_RESULT_WINDOW + 1 matches: one more than the
      // window says "at least", without reading the rest (a date range
      // from 1970 would otherwise count the whole tenant).
      const matches = this.db
        .select({ one: sql`1` })
        .from(this.source(f))
        .where(this.visible(...this.filterConditions(f)))
        .limit(MAX_RESULT_WINDOW + 1)
        .as("matches");
      return this.db.select({ total: sql<number>`count(*)` }).from(matches);
    }
    return this.db
      .select({ total: sql<number>`coalesce(${sum(communicationTotals.n)}, 0)` })
      .from(communicationTotals)
      .where(
        and(
          eq(communicationTotals.tenant_id, this.scope.tenantId),
          f.type ? eq(communicationTotals.type, f.type) : undefined,
          f.status ? eq(communicationTotals.status, f.status) : undefined,
          f.direction ? eq(communicationTotals.direction, f.direction) : undefined,
        ),
      );
  }

  /**
   * The statements of a list request, unexecuted, as `list()` sends them
   * in one batch: test/communications/query-plan.test.ts runs EXPLAIN QUERY PLAN on their
   * `.toSQL()` to prove each shape is served by a tenant-first index (or,
   * for a search, by the search index narrowed to the tenant). `pending`
   * comes with searches only.
   */
  listQueries(filters: ListFilters, pageReq: PageRequest) {
    const values = listValues(this.scope, filters, pageReq);
    const present = Object.entries(values).filter(([, v]) => v !== undefined);
    const shape = `${pageReq.order} ${present.map(([k]) => k).join(",")}`;
    let compiled = compiledLists.get(shape);
    if (!compiled) {
      compiled =
        values.match === undefined
          ? this.compileList(values, pageReq.order)
          : this.compileSearchList(values, pageReq.order);
      compiledLists.set(shape, compiled);
    }
    const fill = (q: Query) => ({ sql: q.sql, params: fillPlaceholders(q.params, { ...values }) });
    const { page, count, pending } = compiled;
    return {
      page: { toSQL: () => fill(page) },
      count: { toSQL: () => fill(count) },
      pending: pending && { toSQL: () => fill(pending) },
    };
  }

  /** The list's terms and scope as placeholders where `values` has a value, and a store bound to that scope. */
  private placeholders(values: ListValues) {
    const slot = (name: keyof ListValues) => (values[name] === undefined ? undefined : sql.placeholder(name));
    // The scope's values become placeholders too, so visible() still writes
    // the tenant (and own customer) condition, as for every other query.
    const scope = {
      tenantId: sql.placeholder("tenant_id"),
      ownCustomerId: slot("own_customer_id"),
    } as unknown as Scope;
    const store = new CommunicationStore(this.db, scope);
    const terms: ListTerms = {
      customer_id: slot("customer_id"),
      delivery_id: slot("delivery_id"),
      type: slot("type"),
      status: slot("status"),
      direction: slot("direction"),
      created_after: slot("created_after"),
      created_before: slot("created_before"),
      provider: slot("provider"),
      provider_message_id: slot("provider_message_id"),
    };
    return { slot, store, terms };
  }

  /** Renders a list shape with placeholders where `values` has a value. */
  private compileList(values: ListValues, order: PageRequest["order"]): CompiledList {
    const { slot, store, terms } = this.placeholders(values);
    const after = slot("after");
    const keyset = after ? (order === "desc" ? lt(communications.id, after) : gt(communications.id, after)) : undefined;
    const page = this.db
      .select(rowFields)
      .from(store.source(terms))
      .where(store.visible(...store.filterConditions(terms), keyset))
      .orderBy(order === "desc" ? desc(communications.id) : asc(communications.id))
      .limit(sql.placeholder("limit"))
      .offset(sql.placeholder("offset"));
    return { page: page.toSQL(), count: store.countQuery(terms).toSQL() };
  }

  /**
   * A search list (`address` and/or `q`): FTS5 finds the tenant's matching
   * documents newest first (its rowid order, no sort), each is joined to
   * its row through communication_search_docs (the join order pinned by
   * CROSS JOIN, so the index always drives), and the other filters apply
   * to the row under visible(). A page reads the matches it walks, each
   * with its document and row: in proportion to the page and the matches
   * skipped (by offset, or by other filters), never the tenant's table.
   * The cursor is the last row's id; its document number is looked up, so
   * the walk goes on from it (when that row is gone, from its millisecond).
   * A date range is a range of document numbers.
   */
  private compileSearchList(values: ListValues, order: PageRequest["order"]): CompiledList {
    const { slot, store, terms } = this.placeholders(values);
    const fts = sql.identifier(SEARCH_INDEX.table);
    const rowid = sql`${fts}.rowid`;
    const perMs = sql.raw(String(DOCS_PER_MS));
    const msToDoc = (name: keyof ListValues) => sql`CAST(${sql.placeholder(name)} AS INTEGER) * ${perMs}`;
    const range = [
      sql`${fts} MATCH ${sql.placeholder("match")}`,
      slot("from_ms") && sql`${rowid} >= ${msToDoc("from_ms")}`,
      slot("to_ms") && sql`${rowid} < ${msToDoc("to_ms")}`,
    ];
    const after = slot("after");
    const cursorDoc = sql`(SELECT cursor.doc FROM ${communicationSearchDocs} AS cursor
      WHERE cursor.tenant_id = ${sql.placeholder("tenant_id")} AND cursor.id = ${after})`;
    const keyset = !after
      ? undefined
      : order === "desc"
        ? sql`${rowid} < coalesce(${cursorDoc}, ${msToDoc("after_ms")})`
        : sql`${rowid} > coalesce(${cursorDoc}, ${msToDoc("after_ms")} + ${sql.raw(String(DOCS_PER_MS - 1))})`;
    const joined = sql`${fts} CROSS JOIN ${communicationSearchDocs} CROSS JOIN ${communications}`;
    const join = [
      sql`${communicationSearchDocs.doc} = ${rowid}`,
      eq(communications.tenant_id, communicationSearchDocs.tenant_id),
      eq(communications.id, communicationSearchDocs.id),
    ];
    const where = (...more: (SQL | undefined)[]) =>
      and(...range, ...join, store.visible(...store.filterConditions(terms), ...more));
    const page = this.db
      .select(rowFields)
      .from(joined)
      .where(where(keyset))
      .orderBy(order === "desc" ? sql`${rowid} DESC` : sql`${rowid} ASC`)
      .limit(sql.placeholder("limit"))
      .offset(sql.placeholder("offset"));
    // Counted in the index alone when every filter is in it (all but
    // status: searchMatch()): the index holds exactly the tenant's
    // communications under its token; at most MAX_RESULT_WINDOW + 1 matches.
    // With status, it applies to the rows of at most that many of the
    // index's matches (a LEFT JOIN: each examined match counts in
    // `examined`, the ones that pass in `total`), so a status that few
    // matches have cannot make the count walk further: with more matches
    // than that in the index, total is what passed among them, "at least".
    const inIndex = !terms.status;
    const indexMatches = this.db
      .select({ doc: sql<number>`${rowid}`.as("doc") })
      .from(sql`${fts}`)
      .where(and(...range))
      .limit(MAX_RESULT_WINDOW + 1)
      .as("matches");
    const count = inIndex
      ? this.db.select({ total: sql<number>`count(*)` }).from(indexMatches)
      : this.db
          .select({
            total: sql<number>`count(${rowFields.id})`,
            examined: sql<number>`count(*)`,
          })
          .from(
            sql`${indexMatches} CROSS JOIN ${communicationSearchDocs} LEFT JOIN ${communications} ON ${and(
              eq(communications.tenant_id, communicationSearchDocs.tenant_id),
              eq(communications.id, communicationSearchDocs.id),
              store.visible(...store.filterConditions(terms)),
            )}`,
          )
          .where(sql`${communicationSearchDocs.doc} = ${sql.identifier("matches")}.doc`);
    const pending = this.db
      .select({ pending: sql<number>`1` })
      .from(communicationSearchBackfill)
      .where(eq(communicationSearchBackfill.tenant_id, sql.placeholder("tenant_id")));
    return { page: page.toSQL(), count: count.toSQL(), pending: pending.toSQL() };
  }

  /** A statement of the request's client for a rendered query. */
  private prepared(q: { toSQL(): Query }) {
    const { sql: text, params } = q.toSQL();
    return this.db.$client.prepare(text).bind(...params);
  }

  /**
   * One page and its total, in one batch (with, for a search, whether the
   * tenant's older communications are still being indexed: then the page
   * would miss some, and the outcome says so instead).
   */
  async list(filters: ListFilters, pageReq: PageRequest) {
    const { limit } = pageReq;
    const queries = this.listQueries(filters, pageReq);
    // Straight to the database client (src/db/client.ts: stats, retries of
    // reads); the rows are decoded here rather than by Drizzle's mapper.
    const [page, counted, pending] = await this.db.$client.batch<Record<string, unknown>>([
      this.prepared(queries.page),
      this.prepared(queries.count),
      ...(queries.pending ? [this.prepared(queries.pending)] : []),
    ]);
    if (pending?.results.length) return { outcome: "search_pending" as const };
    const rows = page?.results ?? [];
    const hasMore = rows.length > limit;
    const pageRows = rows.slice(0, limit).map(decodeRow);
    const countRow = counted?.results[0];
    const n = Number((countRow && Object.values(countRow)[0]) ?? 0);
    // A search count through the rows also says how many of the index's matches it examined.
    const examined = Number(countRow?.examined ?? 0);
    const capped = n > MAX_RESULT_WINDOW || examined > MAX_RESULT_WINDOW;
    return {
      outcome: "page" as const,
      rows: pageRows.map(toCommunication),
      total: Math.min(n, MAX_RESULT_WINDOW),
      totalRelation: capped ? ("gte" as const) : ("eq" as const),
      lastId: hasMore ? pageRows.at(-1)?.id : undefined,
    };
  }

  /** Whether a search of this tenant would miss communications not indexed yet (src/search/backfill.ts). */
  async searchPending(): Promise<boolean> {
    const [row] = await this.db
      .select({ pending: sql<number>`1` })
      .from(communicationSearchBackfill)
      .where(eq(communicationSearchBackfill.tenant_id, this.scope.tenantId));
    return row !== undefined;
  }

  /**
   * One page by keyset, without a total: what an export walks
   * (src/export). `after` is the previous page's last id.
   */
  async page(filters: ListFilters, pageReq: Omit<PageRequest, "page">) {
    const queries = this.listQueries(filters, { ...pageReq, page: undefined });
    const result = await this.prepared(queries.page).all<Record<string, unknown>>();
    const rows = result.results;
    const hasMore = rows.length > pageReq.limit;
    const pageRows = rows.slice(0, pageReq.limit).map(decodeRow);
    return { rows: pageRows.map(toCommunication), lastId: hasMore ? pageRows.at(-1)?.id : undefined };
  }

  async get(id: string): Promise<CommunicationRow | undefined> {
    const [row] = await this.db
      .select()
      .from(communications)
      .where(this.visible(eq(communications.id, id)))
      .limit(1);
    return row;
  }

  /**
   * Whether events were kept for this new communication before it existed:
   * the exact id (compiled once per isolate), or for SendGrid either way of
   * naming the message (src/webhooks/provider-ids.ts).
   */
  private pendingLookup(row: CommunicationRow): D1PreparedStatement {
    if (row.provider !== "sendgrid") return findPendingEvents(this.db, row);
    const query = this.db
      .select({ one: sql<number>`1` })
      .from(pendingProviderEvents)
      .where(
        and(
          eq(pendingProviderEvents.tenant_id, row.tenant_id),
          inArray(pendingProviderEvents.provider, [row.provider, "*"]),
          providerIdMatch(pendingProviderEvents.provider_message_id, row.provider, row.provider_message_id as string)
            .condition,
        ),
      )
      .limit(1)
      .toSQL();
    return this.db.$client.prepare(query.sql).bind(...query.params);
  }

  /**
   * Inserts one communication. With an idempotency key, the key record is
   * written in the same batch (one transaction): both exist or neither. The
   * statements are rendered once per isolate (src/db/compiled.ts).
   */
  async create(body: CreateBody, createdBy: string, idempotency?: IdempotencyKey): Promise<CreateOutcome> {
    const now = Date.now();
    const id = uuidv7(now);
    const row: CommunicationRow = {
      tenant_id: this.scope.tenantId,
      id,
      customer_id: body.customer_id,
      delivery_id: body.delivery_id ?? null,
      type: body.type,
      direction: body.direction,
      status: body.status,
      content: body.content ?? null,
      communication_details: body.communication_details as JsonObject,
      created_by: createdBy,
      created_at: iso(uuidv7Time(id)),
      updated_at: iso(uuidv7Time(id)),
      status_event_at: null,
      provider: body.provider ?? null,
      provider_message_id: body.provider_message_id ?? null,
      address: customerAddress(body.direction, body.communication_details as JsonObject),
      redacted_at: null,
    };
    const communication = toCommunication(row);
    // After the insert, in the same transaction: inbound messages nobody
    // could be attributed to adopt this customer, and status events that
    // arrived before this create are looked for (the caller queues them).
    const adopt = Boolean(row.address && row.customer_id !== UNATTRIBUTED_CUSTOMER);
    const lookup = Boolean(row.provider && row.provider_message_id);
    const event = createdEvent(communication);
    const recorded = this.recorder?.statements(this.db, event, false) ?? [];
    const statements = [
      ...(idempotency ? claimKey(this.db, this.scope.tenantId, idempotency, communication, now) : []),
      insertCommunication(this.db, row),
      ...(adopt ? [adoptUnattributed(this.db, row)] : []),
      ...(lookup ? [this.pendingLookup(row)] : []),
      ...recorded,
    ];
    try {
      const client = this.db.$client;
      const results = statements.length === 1 ? [await statements[0]?.run()] : await client.batch(statements);
      const own = results.slice(0, results.length - recorded.length);
      // The lookup is the last of the create's own statements.
      const pending = lookup && Boolean(own.at(-1)?.results.length);
      if (recorded.length) this.recorder?.committed(event, results.slice(own.length) as D1Result[]);
      this.committed.push(event);
      return { outcome: "created", communication, hasPendingEvents: pending };
    } catch (err) {
      // With a key, the replay rules come first: a live key fails the batch before the insert.
      if (!(idempotency && isKeyConflict(err))) {
        if (isProviderIdConflict(err)) return { outcome: "provider_conflict" };
        throw err;
      }
    }
    // Another request holds the key. Its record was committed on the primary,
    // which a replica may not show yet: read it there.
    const existing = await readKey(this.db.primary(), this.scope.tenantId, idempotency.key);
    if (!existing) return { outcome: "key_vanished" };
    if (existing.request_hash !== idempotency.requestHash) return { outcome: "key_conflict" };
    // Records stored before provider fields existed lack them.
    const stored = {
      provider: null,
      provider_message_id: null,
      ...existing.communication,
      // Records stored before redaction existed lack it; a redacted communication's record is redacted too.
      redacted_at: existing.communication.redacted_at ?? null,
    } as Communication;
    return { outcome: "replayed", communication: stored };
  }

  /**
   * Applies a provider status event if it moves the status forward and is
   * not older than the event that set the current status. Returns the
   * current state either way. The update and its event row are one batch;
   * the event is inserted only if the guarded UPDATE changed the row.
   */
  async updateStatus(id: string, update: StatusUpdateBody) {
    const occurredAt = new Date(update.occurred_at).toISOString();
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.get(id);
      if (!current) return undefined;
      if (!applies(current, update.status, occurredAt))
        return { communication: toCommunication(current), changed: false };

      const now = iso(Date.now());
      // The row as the guarded UPDATE leaves it (the guard includes
      // updated_at, so no other column can have changed since the read): its
      // event is minted before the batch, for the recorder to commit with it.
      const after: CommunicationRow = {
        ...current,
        status: update.status,
        status_event_at: occurredAt,
        updated_at: now,
      };
      const event = statusChangedEvent(toCommunication(after), current.status);
      const recorded = this.recorder?.statements(this.db, event, true) ?? [];
      const statement = (q: { toSQL(): Query }) => {
        const { sql: text, params } = q.toSQL();
        return this.db.$client.prepare(text).bind(...params);
      };
      const results = await this.db.$client.batch<Record<string, unknown>>([
        statement(
          this.db
            .update(communications)
            .set({ status: update.status, status_event_at: occurredAt, updated_at: now })
            .where(
              this.visible(
                eq(communications.id, id),
                eq(communications.status, current.status),
                current.status_event_at === null
                  ? isNull(communications.status_event_at)
                  : eq(communications.status_event_at, current.status_event_at),
                eq(communications.updated_at, current.updated_at),
              ),
            )
            .returning(),
        ),
        // changes() is the row count of the UPDATE just above (same batch,
        // same connection; trigger writes are not counted), then of this
        // insert for the recorder's statements. Built with insert().select();
        // the SELECT's columns follow the table's column order, as
        // insert().select() requires.
        statement(
          this.db.insert(communicationEvents).select(sql`
          SELECT ${this.scope.tenantId}, ${id}, ${uuidv7()}, ${current.status}, ${update.status},
                 ${occurredAt}, ${now}, ${JSON.stringify(eventDetails(current, update.details ?? {}))}
          WHERE changes() = 1`),
        ),
        ...recorded,
      ]);
      const raw = results[0]?.results[0];
      if (raw) {
        const communication = toCommunication(decodeRow(raw));
        if (recorded.length) this.recorder?.committed(event, results.slice(2) as D1Result[]);
        this.committed.push(event);
        return { communication, changed: true };
      }
      // Another event changed the row between our read and write: decide again.
    }
    const latest = await this.get(id);
    return latest ? { communication: toCommunication(latest), changed: false } : undefined;
  }

  /** The communication's applied status changes, oldest first; undefined when not visible. */
  async events(id: string) {
    const visible = this.db
      .select({ id: communications.id })
      .from(communications)
      .where(this.visible(eq(communications.id, id)))
      .limit(1);
    const [found, events] = await this.db.batch([
      visible,
      this.db
        .select()
        .from(communicationEvents)
        .where(
          and(
            eq(communicationEvents.tenant_id, this.scope.tenantId),
            // Events are read only for a communication the caller may see: the
            // id comes out of the visibility lookup, which drives the index
            // walk, so an invisible one reads no event (one round trip either way).
            inArray(communicationEvents.communication_id, visible),
          ),
        )
        // Application order. Event ids are UUIDv7 minted by whichever request
        // applied the change, so two changes in one millisecond (or from two
        // machines' clocks) may sort the wrong way by id. Transitions only
        // move forward and read/failed are terminal, so from_status rises
        // strictly along the history: sent (0) < delivered (1).
        .orderBy(
          sql`CASE ${communicationEvents.from_status} WHEN 'sent' THEN 0 WHEN 'delivered' THEN 1 ELSE 2 END`,
          asc(communicationEvents.id),
        )
        .limit(MAX_EVENTS),
    ]);
    return found.length ? events.map(toEvent) : undefined;
  }
}
