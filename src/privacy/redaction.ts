/**
 * Redaction (privacy.md): content goes, the fact that a message was sent
 * stays. `content` becomes null, `communication_details` and the events'
 * provider details are masked (./mask.ts), `address` (the stored customer
 * address, which attributes inbound messages and finds a message by its
 * address) is cleared, and `redacted_at` is set. Kept: ids, customer,
 * delivery, type, direction, status, provider ids, times, events' statuses.
 * Totals do not change (type, direction and status stay).
 *
 * Two ways in:
 *  - `POST /{id}/redact` (`redactOne`): one communication now, with its
 *    audit entry in the same batch; a second call changes nothing;
 *  - the scheduled job (`redactDue`), for tenants with `redact_after_days`:
 *    in id order from a watermark, so each run reads only what it redacts,
 *    then the archived days in R2 that have come due (an archived day holds
 *    its communications redacted from then on).
 * Both redact the copies the outbox keeps for subscriptions too.
 *
 * Cost per communication (BENCHMARKS.md, "Redaction"): the row and its
 * events read once and written once, in one statement per chunk of rows.
 */
import { and, asc, eq, gt, lt, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { type ArchivedCommunication, archiveKey } from "../archive/retention";
import { dayOfKey, rewriteArchivedObject } from "../archive/rewrite";
import { type AuditEntry, auditInsert, SYSTEM_ACTOR } from "../audit/store";
import type { Communication } from "../communications/schemas";
import { toCommunication } from "../communications/store";
import { createDb, type Database, type DbStats, d1Fields, newDbStats } from "../db/client";
import {
  type CommunicationRow,
  communicationEvents,
  communications,
  type EventRow,
  idempotencyKeys,
  type JsonObject,
  subscriptionEvents,
  tenantSettings,
} from "../db/schema";
import { log } from "../lib/logger";
import { uuidv7Floor, uuidv7Time } from "../lib/uuid";
import { shardBinding, shardNames } from "../shards/config";
import { tenantsBeingMoved } from "../shards/directory";
import { redactDetails } from "./mask";
import { putSetting, readJobState, SETTING, settingValue, tenantsWithRedaction } from "./settings";

const DAY_MS = 86_400_000;
/** Rows per read page of the job, and the most one run redacts per tenant (the hourly cron catches up). */
const JOB_PAGE_ROWS = 500;
const JOB_ROWS_PER_RUN = 20_000;
/** Archived days rewritten per tenant per run. */
const JOB_ARCHIVE_DAYS_PER_RUN = 30;
/** JSON carried by one statement's parameter at most: rows are chunked to stay under it (D1 rows are at most 2 MB). */
const MAX_CHUNK_BYTES = 1_000_000;
/** Idempotency records live 24 hours and are purged hourly: younger messages may still have one. */
const KEY_LIFETIME_MS = 25 * 60 * 60 * 1000;

/** A communication as the API returns it, redacted at `at`. */
export function redactCommunication<T extends Communication>(c: T, at: string): T {
  if (c.redacted_at) return c;
  return {
    ...c,
    content: null,
    communication_details: redactDetails(c.communication_details as JsonObject),
    updated_at: at,
    redacted_at: at,
  };
}

/** An archived line (a communication with its events), redacted at `at`. */
export function redactArchivedLine(line: ArchivedCommunication, at: string): ArchivedCommunication {
  if (line.redacted_at) return line;
  return {
    ...redactCommunication(line, at),
    events: (line.events ?? []).map((e) => ({ ...e, details: redactDetails(e.details) })),
  };
}

/** Chunks of items whose JSON stays under MAX_CHUNK_BYTES. */
function chunkBySize<T>(items: T[], size: (item: T) => number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = size(item);
    if (current.length && bytes + n > MAX_CHUNK_BYTES) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += n;
  }
  if (current.length) out.push(current);
  return out;
}

/**
 * The statements that redact `rows` (communications not redacted yet) and
 * their `events`, at `at`: one UPDATE per chunk of rows (the masked details
 * of every row in one JSON parameter, keyed by id), one per chunk of events.
 * Each communications UPDATE skips a row redacted meanwhile; `counts[i]`
 * is an SQL expression, to run right after chunk i's UPDATE in the same
 * batch, of the rows that UPDATE redacted (those of the chunk stamped with
 * `at`). Not `changes()`: the search index's triggers (migrations/
 * 0007_search.sql) write to FTS5, whose own statements on its shadow tables
 * leave `changes()` naming one of theirs, not the UPDATE (a job page of two
 * rows counted 1). Only a call that redacts the same row in the same
 * millisecond could be counted twice.
 */
export function redactStatements(
  db: Database,
  tenantId: string,
  rows: CommunicationRow[],
  events: EventRow[],
  at: string,
): { communications: BatchItem<"sqlite">[]; counts: SQL[]; events: BatchItem<"sqlite">[] } {
  const statements: BatchItem<"sqlite">[] = [];
  const counts: SQL[] = [];
  const eventStatements: BatchItem<"sqlite">[] = [];
  const masked = rows.map((r) => [r.id, redactDetails(r.communication_details)] as const);
  for (const chunk of chunkBySize(masked, ([, d]) => JSON.stringify(d).length + 40)) {
    const map = JSON.stringify(Object.fromEntries(chunk));
    counts.push(
      sql`(SELECT count(*) FROM ${communications} WHERE ${communications.tenant_id} = ${tenantId} AND ${communications.id} IN (SELECT key FROM json_each(${map})) AND ${communications.redacted_at} = ${at})`,
    );
    statements.push(
      db
        .update(communications)
        .set({
          content: null,
          address: null,
          redacted_at: at,
          updated_at: at,
          communication_details:
            sql`json_extract(${map}, '$."' || ${communications.id} || '"')` as unknown as JsonObject,
        })
        .where(
          and(
            eq(communications.tenant_id, tenantId),
            sql`${communications.id} IN (SELECT key FROM json_each(${map}))`,
            sql`${communications.redacted_at} IS NULL`,
          ),
        ),
    );
  }
  const changedEvents = events
    .map((e) => ({ e, details: redactDetails(e.details) }))
    .filter(({ e, details }) => JSON.stringify(details) !== JSON.stringify(e.details));
  for (const chunk of chunkBySize(changedEvents, ({ details }) => JSON.stringify(details).length + 40)) {
    const map = JSON.stringify(Object.fromEntries(chunk.map(({ e, details }) => [e.id, details])));
    const owners = JSON.stringify([...new Set(chunk.map(({ e }) => e.communication_id))]);
    eventStatements.push(
      db
        .update(communicationEvents)
        .set({
          details: sql`json_extract(${map}, '$."' || ${communicationEvents.id} || '"')` as unknown as JsonObject,
        })
        .where(
          and(
            eq(communicationEvents.tenant_id, tenantId),
            sql`${communicationEvents.communication_id} IN (SELECT value FROM json_each(${owners}))`,
            sql`${communicationEvents.id} IN (SELECT key FROM json_each(${map}))`,
          ),
        ),
    );
  }
  return { communications: statements, counts, events: eventStatements };
}

/** The events of these communications (one indexed read per chunk of ids). */
async function eventsOf(db: Database, tenantId: string, ids: string[]): Promise<EventRow[]> {
  if (!ids.length) return [];
  return db
    .select()
    .from(communicationEvents)
    .where(
      and(
        eq(communicationEvents.tenant_id, tenantId),
        sql`${communicationEvents.communication_id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`,
      ),
    );
}

/** Rows of the outbox read per page. */
const OUTBOX_PAGE = 500;

/**
 * Events kept for subscriptions (the outbox, 7 days: src/subscriptions)
 * carry the communication as delivered; those of the communications `which`
 * selects (a condition on `communication_id`) are redacted too, so a replay
 * sends no content either. The event keeps its id; its payload changes. The
 * outbox has no index on the communication: this reads the tenant's week of
 * events, in pages. Returns how many events it rewrote.
 */
export async function redactSubscriptionEvents(db: Database, tenantId: string, which: SQL, at: string) {
  let rewritten = 0;
  let after: string | undefined;
  for (;;) {
    const rows = await db
      .select({ id: subscriptionEvents.id, payload: subscriptionEvents.payload })
      .from(subscriptionEvents)
      .where(
        and(eq(subscriptionEvents.tenant_id, tenantId), which, after ? gt(subscriptionEvents.id, after) : undefined),
      )
      .orderBy(asc(subscriptionEvents.id))
      .limit(OUTBOX_PAGE);
    const updates = rows.flatMap((r) => {
      const payload = JSON.parse(r.payload) as { data?: { communication?: Communication } };
      const communication = payload.data?.communication;
      if (!communication || communication.redacted_at) return [];
      const redacted = { ...payload, data: { ...payload.data, communication: redactCommunication(communication, at) } };
      return [
        db
          .update(subscriptionEvents)
          .set({ payload: JSON.stringify(redacted) })
          .where(and(eq(subscriptionEvents.tenant_id, tenantId), eq(subscriptionEvents.id, r.id))),
      ];
    });
    const [first, ...rest] = updates;
    if (first) await db.batch([first, ...rest]);
    rewritten += updates.length;
    if (rows.length < OUTBOX_PAGE) return rewritten;
    after = rows.at(-1)?.id;
  }
}

export type RedactOutcome =
  | { outcome: "redacted"; communication: Communication }
  | { outcome: "unchanged"; communication: Communication }
  | { outcome: "not_found" };

/**
 * `POST /{id}/redact`: redacts one communication of the tenant, with its
 * events and (for a message young enough to have one) its idempotency
 * record, and writes the `communication.redacted` entry in the same batch:
 * `{"communications": 1}`, or 0 when it was redacted already (each call of
 * the route is one entry; the second changes nothing else).
 */
export async function redactOne(
  db: Database,
  tenantId: string,
  id: string,
  entry: Omit<AuditEntry, "action" | "target" | "details">,
): Promise<RedactOutcome> {
  const primary = db.primary();
  const [row] = await primary
    .select()
    .from(communications)
    .where(and(eq(communications.tenant_id, tenantId), eq(communications.id, id)))
    .limit(1);
  if (!row) return { outcome: "not_found" };
  const target = { kind: "communication", id };
  if (row.redacted_at) {
    const { statement } = auditInsert(primary, tenantId, {
      ...entry,
      action: "communication.redacted",
      target,
      details: { communications: 0 },
    });
    await statement.run();
    // A first call cut short after its batch left the outbox to this one.
    await redactSubscriptionEvents(primary, tenantId, eq(subscriptionEvents.communication_id, id), row.redacted_at);
    return { outcome: "unchanged", communication: toCommunication(row) };
  }
  const at = new Date().toISOString();
  const events = await eventsOf(primary, tenantId, [id]);
  const redacted = redactCommunication(toCommunication(row), at);
  const statements = redactStatements(primary, tenantId, [row], events, at);
  const [first] = statements.communications;
  if (!first || statements.communications.length !== 1) throw new Error("one row is one statement");
  const audit = auditInsert(
    primary,
    tenantId,
    { ...entry, action: "communication.redacted", target },
    // Right after the row's UPDATE: 1 if this call redacted it, 0 if another got there first.
    { details: sql`json_object('communications', ${statements.counts[0]})` },
  );
  const young = Date.now() - uuidv7Time(id) < KEY_LIFETIME_MS;
  const key = young
    ? [
        // The record replays the communication as created: it holds the content too.
        primary
          .update(idempotencyKeys)
          .set({ communication: redacted as unknown as JsonObject })
          .where(
            and(
              eq(idempotencyKeys.tenant_id, tenantId),
              sql`json_extract(${idempotencyKeys.communication}, '$.id') = ${id}`,
            ),
          ),
      ]
    : [];
  await primary.batch([first, audit.statement, ...statements.events, ...key]);
  await redactSubscriptionEvents(primary, tenantId, eq(subscriptionEvents.communication_id, id), at);
  const [now] = await primary
    .select()
    .from(communications)
    .where(and(eq(communications.tenant_id, tenantId), eq(communications.id, id)))
    .limit(1);
  if (!now) return { outcome: "not_found" };
  return { outcome: now.redacted_at === at ? "redacted" : "unchanged", communication: toCommunication(now) };
}

/** `redaction.unaudited` plus `count` (the rows the UPDATE just before it redacted: redactStatements' counts). */
const addToCounter = (db: Database, tenantId: string, at: string, count: SQL) =>
  db
    .insert(tenantSettings)
    // WHERE true: an upsert's SELECT needs a WHERE, else SQLite reads ON CONFLICT as a join's ON.
    .select(sql`SELECT ${tenantId}, ${SETTING.unaudited}, ${count}, ${at} WHERE true`)
    .onConflictDoUpdate({
      target: [tenantSettings.tenant_id, tenantSettings.name],
      set: {
        value: sql`coalesce(CAST(${tenantSettings.value} AS INTEGER), 0) + excluded.value`,
        updated_at: sql`excluded.updated_at`,
      },
    });

/** What one run did for one tenant. */
export interface TenantRedaction {
  communications: number;
  archivedDays: number;
}

/**
 * One run of the job for one tenant: communications older than `days`
 * (from the watermark on, at most JOB_ROWS_PER_RUN), then the archived days
 * that have come due. Each page is one batch: its redactions, the
 * watermark, and the run's counter. The run's `communication.redacted`
 * entry ("one entry per run with its count", actor `system:scheduled`) is
 * committed in one last batch with the counter's reset; a run cut short
 * before it leaves its count in the counter, and the next run's entry
 * includes it.
 */
export async function redactTenant(
  env: Env,
  db: Database,
  tenantId: string,
  days: number,
  now = Date.now(),
): Promise<TenantRedaction> {
  const cutoffMs = now - days * DAY_MS;
  const cutoff = uuidv7Floor(cutoffMs);
  const state = await readJobState(db, tenantId);
  const at = new Date(now).toISOString();
  let through = state.through;
  let redacted = 0;
  for (let read = 0; read < JOB_ROWS_PER_RUN; ) {
    const rows = await db
      .select()
      .from(communications)
      .where(
        and(
          eq(communications.tenant_id, tenantId),
          through ? gt(communications.id, through) : undefined,
          lt(communications.id, cutoff),
        ),
      )
      .orderBy(asc(communications.id))
      .limit(JOB_PAGE_ROWS);
    const last = rows.at(-1);
    if (!last) break;
    read += rows.length;
    const due = rows.filter((r) => !r.redacted_at);
    const events = await eventsOf(
      db,
      tenantId,
      due.map((r) => r.id),
    );
    const statements = redactStatements(db, tenantId, due, events, at);
    await db.batch([
      // Each chunk's UPDATE, then the run's counter plus what it changed.
      ...statements.communications.flatMap((update, i) => [
        update,
        addToCounter(db, tenantId, at, statements.counts[i] as SQL),
      ]),
      ...statements.events,
      putSetting(db, tenantId, SETTING.redactedThrough, last.id, new Date(now)),
    ] as unknown as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
    redacted += due.length;
    through = last.id;
    if (rows.length < JOB_PAGE_ROWS) break;
  }
  // The outbox's copies of everything due (ids are UUIDv7: an id bound is a time bound).
  await redactSubscriptionEvents(db, tenantId, lt(subscriptionEvents.communication_id, cutoff), at);
  const archivedDays = await redactArchivedDays(env, db, tenantId, cutoffMs, state.archiveThrough, at);
  // The run's entry, with whatever the counter holds (this run's and any cut-short run's), and the reset.
  const unaudited = sql`coalesce(CAST(${settingValue(tenantId, SETTING.unaudited)} AS INTEGER), 0)`;
  const entry = auditInsert(
    db,
    tenantId,
    {
      action: "communication.redacted",
      actor: SYSTEM_ACTOR,
      target: { kind: "tenant", id: tenantId },
      requestId: `scheduled:${at}`,
    },
    {
      details: sql`json_object('communications', ${unaudited}, 'archived_days', ${archivedDays}, 'redact_after_days', ${days})`,
      when: sql`${unaudited} > 0 OR ${archivedDays} > 0`,
    },
  );
  await db.batch([entry.statement, putSetting(db, tenantId, SETTING.unaudited, 0, new Date(now))]);
  return { communications: redacted, archivedDays };
}

/** Whether every communication of `day` (YYYY-MM-DD) is older than `cutoffMs`. */
const dayIsDue = (day: string, cutoffMs: number) => Date.parse(`${day}T00:00:00Z`) + DAY_MS <= cutoffMs;

/**
 * Archived days that have come due (wholly older than the cutoff), from the
 * day after `from` on, at most JOB_ARCHIVE_DAYS_PER_RUN: lines not redacted
 * yet are redacted in place. The watermark follows each day. Returns how
 * many days were rewritten.
 */
async function redactArchivedDays(
  env: Env,
  db: Database,
  tenantId: string,
  cutoffMs: number,
  from: string | undefined,
  at: string,
): Promise<number> {
  const listed = await env.ARCHIVE.list({
    prefix: `${tenantId}/`,
    startAfter: from ? archiveKey(tenantId, from) : undefined,
    limit: JOB_ARCHIVE_DAYS_PER_RUN,
  });
  let rewritten = 0;
  for (const object of listed.objects) {
    const day = dayOfKey(object.key);
    if (!dayIsDue(day, cutoffMs)) break;
    const result = await rewriteArchivedObject(env.ARCHIVE, object.key, (line) =>
      line.redacted_at ? { keep: true } : { replace: redactArchivedLine(line, at) },
    );
    if (result?.changed) rewritten++;
    await putSetting(db, tenantId, SETTING.archiveRedactedThrough, day).run();
  }
  return rewritten;
}

/**
 * The scheduled job: every shard, every tenant with `redact_after_days`
 * (tenant_settings, a small table), except tenants being moved (their
 * writes wait for the move, as retention's do).
 */
export async function redactDue(env: Env, now = Date.now()) {
  const stats: DbStats = newDbStats();
  const moving = await tenantsBeingMoved(env, stats);
  let total = 0;
  let days = 0;
  let tenants = 0;
  for (const shard of shardNames(env)) {
    const db = createDb(shardBinding(env, shard), "first-primary", stats);
    for (const { tenantId, days: after } of await tenantsWithRedaction(db)) {
      if (moving.has(tenantId)) continue;
      try {
        const done = await redactTenant(env, db, tenantId, after, now);
        total += done.communications;
        days += done.archivedDays;
        tenants++;
      } catch (err) {
        // One tenant's failure (its shard busy, an R2 error) does not stop the others; the next run resumes it.
        log.error("redaction of a tenant failed", {
          tenant_id: tenantId,
          error: err instanceof Error ? err.message.slice(0, 300) : String(err),
        });
      }
    }
  }
  log.info("redaction job", { tenants, communications: total, archived_days: days, d1: d1Fields(stats) });
  return { communications: total, archivedDays: days, d1: d1Fields(stats) };
}
