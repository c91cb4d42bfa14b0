/**
 * All data access of the communications feature. A `CommunicationStore` is
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
 */
import { and, asc, desc, eq, getTableColumns, gt, gte, isNull, lt, lte, type SQL, sql, sum } from "drizzle-orm";
import type { Database } from "../db/client";
import {
  COMMUNICATION_INDEXES,
  type CommunicationRow,
  communicationEvents,
  communications,
  communicationTotals,
  type EventRow,
  idempotencyKeys,
  type JsonObject,
  type Status,
} from "../db/schema";
import { ApiError } from "../lib/errors";
import { uuidv7, uuidv7Floor, uuidv7Time } from "../lib/ids";
import type { Communication, CreateBody, ListQuery, StatusUpdateBody } from "./schemas";

export interface Scope {
  tenantId: string;
  /** Set for customers: they only ever see this customer's rows. */
  ownCustomerId?: string;
}

export type ListFilters = Pick<
  ListQuery,
  "customer_id" | "delivery_id" | "type" | "status" | "direction" | "created_after" | "created_before"
>;

export interface PageRequest {
  limit: number;
  order: "desc" | "asc";
  /** Either an offset page (1-based) or a keyset cursor (the last id seen). */
  page?: number;
  after?: string;
}

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** Status transitions only move forward: sent -> delivered -> read; sent|delivered -> failed. */
const PREDECESSORS: Record<Status, readonly Status[]> = {
  sent: [],
  delivered: ["sent"],
  read: ["sent", "delivered"],
  failed: ["sent", "delivered"],
};

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
  created_by: row.created_by,
  created_at: row.created_at,
  updated_at: row.updated_at,
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
const rowFields = Object.fromEntries(
  Object.entries(getTableColumns(communications)).map(([key, column]) => [
    key,
    sql`${communications}.${sql.identifier(column.name)}`.mapWith(column),
  ]),
) as { [K in keyof CommunicationRow]: SQL<CommunicationRow[K]> };

const iso = (ms: number) => new Date(ms).toISOString();

const isKeyConflict = (err: unknown): boolean => {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (String((e as Error).message ?? e).includes("UNIQUE constraint failed: idempotency_keys")) return true;
  }
  return false;
};

export class CommunicationStore {
  constructor(
    private readonly db: Database,
    readonly scope: Scope,
  ) {}

  /** The rows this caller may see. Every communications query starts here. */
  private visible(...conditions: (SQL | undefined)[]): SQL {
    return and(
      eq(communications.tenant_id, this.scope.tenantId),
      this.scope.ownCustomerId === undefined ? undefined : eq(communications.customer_id, this.scope.ownCustomerId),
      ...conditions,
    ) as SQL;
  }

  private filterConditions(f: ListFilters): (SQL | undefined)[] {
    const after = f.created_after ? uuidv7Floor(Date.parse(f.created_after)) : undefined;
    const before = f.created_before ? uuidv7Floor(Date.parse(f.created_before)) : undefined;
    return [
      f.customer_id ? eq(communications.customer_id, f.customer_id) : undefined,
      f.delivery_id ? eq(communications.delivery_id, f.delivery_id) : undefined,
      f.type ? eq(communications.type, f.type) : undefined,
      f.status ? eq(communications.status, f.status) : undefined,
      f.direction ? eq(communications.direction, f.direction) : undefined,
      after ? gte(communications.id, after) : undefined,
      before ? lt(communications.id, before) : undefined,
    ];
  }

  /**
   * The table with its access path pinned. SQLite's planner has no
   * statistics on a fresh or growing D1 database and then prefers walking
   * the primary key (it already yields the order) over a selective index,
   * reading every row of the tenant to find one customer's. So the index is
   * chosen here, deterministically: the most selective equality filter
   * present, else the primary key (tenant_id, id).
   */
  private source(f: ListFilters): SQL {
    const customer = this.scope.ownCustomerId ?? f.customer_id;
    const column = customer
      ? "customer_id"
      : f.delivery_id
        ? "delivery_id"
        : f.status
          ? "status"
          : f.type
            ? "type"
            : f.direction
              ? "direction"
              : undefined;
    return column
      ? sql`${communications} INDEXED BY ${sql.identifier(COMMUNICATION_INDEXES[column])}`
      : sql`${communications} NOT INDEXED`;
  }

  /** The cheapest exact count for these filters (see the module comment). */
  private countQuery(f: ListFilters) {
    const selective =
      this.scope.ownCustomerId !== undefined || f.customer_id || f.delivery_id || f.created_after || f.created_before;
    if (selective) {
      return this.db
        .select({ total: sql<number>`count(*)` })
        .from(this.source(f))
        .where(this.visible(...this.filterConditions(f)));
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
   * The two statements of a list request, unexecuted: `list()` sends them in
   * one batch, and test/query-plan.test.ts runs EXPLAIN QUERY PLAN on their
   * `.toSQL()` to prove each shape is served by a tenant-first index.
   */
  listQueries(filters: ListFilters, pageReq: PageRequest) {
    const { limit, order, page, after } = pageReq;
    const keyset = after ? (order === "desc" ? lt(communications.id, after) : gt(communications.id, after)) : undefined;
    const pageQuery = this.db
      .select(rowFields)
      .from(this.source(filters))
      .where(this.visible(...this.filterConditions(filters), keyset))
      .orderBy(order === "desc" ? desc(communications.id) : asc(communications.id))
      .limit(limit + 1) // one extra row tells whether there is a next page
      .offset(page ? (page - 1) * limit : 0);
    return { page: pageQuery, count: this.countQuery(filters) };
  }

  async list(filters: ListFilters, pageReq: PageRequest) {
    const { limit } = pageReq;
    const queries = this.listQueries(filters, pageReq);
    const [rows, counted] = await this.db.batch([queries.page, queries.count]);
    const hasMore = rows.length > limit;
    const pageRows = rows.slice(0, limit);
    return {
      rows: pageRows.map(toCommunication),
      total: Number(counted[0]?.total ?? 0),
      lastId: hasMore ? pageRows.at(-1)?.id : undefined,
    };
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
   * Inserts one communication. With an idempotency key, the key record is
   * written in the same batch (one transaction): both exist or neither. A
   * key already used returns the original communication when the request is
   * the same, and is a 409 when it is not.
   */
  async create(
    body: CreateBody,
    createdBy: string,
    idempotency?: { key: string; requestHash: string },
  ): Promise<{ communication: Communication; replayed: boolean }> {
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
    };
    const communication = toCommunication(row);
    const insert = this.db.insert(communications).values(row);
    if (!idempotency) {
      await insert.run();
      return { communication, replayed: false };
    }

    const keyMatch = and(eq(idempotencyKeys.tenant_id, this.scope.tenantId), eq(idempotencyKeys.key, idempotency.key));
    try {
      await this.db.batch([
        // An expired key may be reused: drop it first, inside the same transaction.
        this.db.delete(idempotencyKeys).where(and(keyMatch, lte(idempotencyKeys.expires_at, iso(now)))),
        this.db.insert(idempotencyKeys).values({
          tenant_id: this.scope.tenantId,
          key: idempotency.key,
          request_hash: idempotency.requestHash,
          communication,
          created_at: iso(now),
          expires_at: iso(now + IDEMPOTENCY_TTL_MS),
        }),
        insert,
      ]);
      return { communication, replayed: false };
    } catch (err) {
      if (!isKeyConflict(err)) throw err;
    }
    const [existing] = await this.db.select().from(idempotencyKeys).where(keyMatch).limit(1);
    // Only possible if the purge removed the key in between: let the caller retry.
    if (!existing) throw new Error("idempotency key vanished between insert and read");
    if (existing.request_hash !== idempotency.requestHash) throw new ApiError(409, "idempotency_conflict");
    return { communication: existing.communication as Communication, replayed: true };
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
      const forward = PREDECESSORS[update.status].includes(current.status);
      const late = current.status_event_at !== null && occurredAt < current.status_event_at;
      if (!forward || late) return { communication: toCommunication(current), changed: false };

      const now = iso(Date.now());
      const [updated] = await this.db.batch([
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
            ),
          )
          .returning(),
        // changes() is the row count of the UPDATE just above (same batch,
        // same connection; trigger writes are not counted). Built with
        // insert().select(): a raw `db.run(sql)` with parameters breaks
        // Drizzle's D1 batch (drizzle-orm#2277). The SELECT's columns follow
        // the table's column order, as insert().select() requires.
        this.db.insert(communicationEvents).select(sql`
          SELECT ${this.scope.tenantId}, ${id}, ${uuidv7()}, ${current.status}, ${update.status},
                 ${occurredAt}, ${now}, ${JSON.stringify(update.details ?? {})}
          WHERE changes() = 1`),
      ]);
      const row = updated[0];
      if (row) return { communication: toCommunication(row), changed: true };
      // Another event changed the row between our read and write: decide again.
    }
    const latest = await this.get(id);
    return latest ? { communication: toCommunication(latest), changed: false } : undefined;
  }

  /** The communication's applied status changes, oldest first; undefined when not visible. */
  async events(id: string) {
    const [found, events] = await this.db.batch([
      this.db
        .select({ id: communications.id })
        .from(communications)
        .where(this.visible(eq(communications.id, id)))
        .limit(1),
      this.db
        .select()
        .from(communicationEvents)
        .where(
          and(eq(communicationEvents.tenant_id, this.scope.tenantId), eq(communicationEvents.communication_id, id)),
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
        .limit(1000),
    ]);
    return found.length ? events.map(toEvent) : undefined;
  }
}

/** Deletes idempotency records past their 24 hours (scheduled handler). */
export async function purgeExpiredKeys(db: Database, now = Date.now()) {
  const result = await db
    .delete(idempotencyKeys)
    .where(lte(idempotencyKeys.expires_at, iso(now)))
    .run();
  return result.meta.changes ?? 0;
}
