/**
 * Retention (RETENTION_DAYS): the scheduled job moves communications older
 * than that, with their events, from the shards to R2, as NDJSON, one object
 * per tenant per UTC day (`<tenant>/<YYYY-MM-DD>.ndjson`, one communication
 * per line with its `events`). A day is archived whole, once all of it is
 * older than the cutoff.
 *
 * Order of a day: read its rows, merge them with what the object already
 * holds (a run cut short after deleting part of a day loses nothing), write
 * the object with its SHA-256 (R2 refuses a body that does not match), read
 * it back and check every id is in it, and only then delete the rows. The
 * shard's delete trigger keeps communication_totals right.
 *
 * A tenant with a move under way is skipped until the move ends.
 */
import { and, asc, eq, gt, gte, inArray, lt, notInArray } from "drizzle-orm";
import type { Communication } from "../communications/schemas";
import { toCommunication } from "../communications/store";
import { config } from "../config";
import { createDb, type Database, type DbStats, d1Fields, newDbStats } from "../db/client";
import { communicationEvents, communications, communicationTotals } from "../db/schema";
import { log } from "../lib/logger";
import { hex, uuidv7Floor, uuidv7Time } from "../lib/uuid";
import { shardBinding, shardNames } from "../shards/config";
import { directoryDb } from "../shards/directory";
import { moves } from "../shards/schema";

const DAY_MS = 86_400_000;
/** Rows per read page, and ids per delete statement (D1 binds at most 100 parameters). */
const PAGE_ROWS = 500;
const DELETE_CHUNK = 90;
/** Days archived per shard per run; the hourly cron catches up with a backlog. */
const DAYS_PER_RUN = 50;

export type ArchivedCommunication = Communication & { events: ArchivedEvent[] };
type ArchivedEvent = Omit<typeof communicationEvents.$inferSelect, "tenant_id">;

export const archiveKey = (tenantId: string, day: string) => `${tenantId}/${day}.ndjson`;

const sha256Hex = async (text: string) =>
  hex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));

const chunks = <T>(items: T[], size: number) =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** The day's communications with their events, oldest first. */
async function readDay(db: Database, tenantId: string, dayStart: number): Promise<ArchivedCommunication[]> {
  const out: ArchivedCommunication[] = [];
  const end = uuidv7Floor(dayStart + DAY_MS);
  let after: string | undefined;
  for (;;) {
    const rows = await db
      .select()
      .from(communications)
      .where(
        and(
          eq(communications.tenant_id, tenantId),
          after ? gt(communications.id, after) : gte(communications.id, uuidv7Floor(dayStart)),
          lt(communications.id, end),
        ),
      )
      .orderBy(asc(communications.id))
      .limit(PAGE_ROWS);
    if (rows.length === 0) break;
    const events = new Map<string, ArchivedEvent[]>();
    for (const ids of chunks(
      rows.map((r) => r.id),
      DELETE_CHUNK,
    )) {
      const found = await db
        .select()
        .from(communicationEvents)
        .where(and(eq(communicationEvents.tenant_id, tenantId), inArray(communicationEvents.communication_id, ids)))
        .orderBy(asc(communicationEvents.id));
      for (const { tenant_id: _t, ...event } of found) {
        const list = events.get(event.communication_id) ?? [];
        list.push(event);
        events.set(event.communication_id, list);
      }
    }
    for (const row of rows) out.push({ ...toCommunication(row), events: events.get(row.id) ?? [] });
    if (rows.length < PAGE_ROWS) break;
    after = rows.at(-1)?.id as string;
  }
  return out;
}

/** Archives one tenant-day and deletes it from the shard; returns how many communications went. */
export async function archiveDay(env: Env, db: Database, tenantId: string, dayStart: number): Promise<number> {
  const day = new Date(dayStart).toISOString().slice(0, 10);
  const key = archiveKey(tenantId, day);
  const rows = await readDay(db, tenantId, dayStart);
  if (rows.length === 0) return 0;

  const merged = new Map<string, ArchivedCommunication>();
  const existing = await env.ARCHIVE.get(key);
  if (existing) {
    for (const line of (await existing.text()).split("\n")) {
      if (line) {
        const item = JSON.parse(line) as ArchivedCommunication;
        merged.set(item.id, item);
      }
    }
  }
  for (const row of rows) merged.set(row.id, row);
  const body = `${[...merged.values()]
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((r) => JSON.stringify(r))
    .join("\n")}\n`;
  const sha256 = await sha256Hex(body);
  await env.ARCHIVE.put(key, body, {
    sha256,
    httpMetadata: { contentType: "application/x-ndjson" },
    customMetadata: { communications: String(merged.size) },
  });

  // Verified before anything is deleted: the stored bytes, and every id we are about to delete.
  const stored = await env.ARCHIVE.get(key);
  const text = stored ? await stored.text() : "";
  if ((await sha256Hex(text)) !== sha256) throw new Error(`archive ${key}: read-back checksum differs`);
  const storedIds = new Set(
    text
      .split("\n")
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { id: string }).id),
  );
  if (!rows.every((r) => storedIds.has(r.id))) throw new Error(`archive ${key}: a communication is missing`);

  for (const ids of chunks(
    rows.map((r) => r.id),
    DELETE_CHUNK,
  )) {
    await db.batch([
      db
        .delete(communicationEvents)
        .where(and(eq(communicationEvents.tenant_id, tenantId), inArray(communicationEvents.communication_id, ids))),
      db.delete(communications).where(and(eq(communications.tenant_id, tenantId), inArray(communications.id, ids))),
    ]);
  }
  return rows.length;
}

/** One run of the retention job over every shard. */
export async function archiveExpired(env: Env, now = Date.now()) {
  const days = config(env).retentionDays;
  if (days === undefined) return { archived: 0, days: 0 };
  const cutoffDay = Math.floor((now - days * DAY_MS) / DAY_MS) * DAY_MS;
  const cutoff = uuidv7Floor(cutoffDay);
  const stats: DbStats = newDbStats();
  const moving = new Set(
    (
      await directoryDb(env, stats)
        .select({ tenant_id: moves.tenant_id })
        .from(moves)
        .where(notInArray(moves.status, ["done", "failed"]))
    ).map((m) => m.tenant_id),
  );
  let archived = 0;
  let daysArchived = 0;
  for (const shard of shardNames(env)) {
    const db = createDb(shardBinding(env, shard), "first-primary", stats);
    const tenantIds = (
      await db
        .selectDistinct({ tenant_id: communicationTotals.tenant_id })
        .from(communicationTotals)
        .where(gte(communicationTotals.n, 1))
    )
      .map((t) => t.tenant_id)
      .filter((t) => !moving.has(t));
    let budget = DAYS_PER_RUN;
    for (const tenantId of tenantIds) {
      while (budget > 0) {
        const [oldest] = await db
          .select({ id: communications.id })
          .from(communications)
          .where(and(eq(communications.tenant_id, tenantId), lt(communications.id, cutoff)))
          .orderBy(asc(communications.id))
          .limit(1);
        if (!oldest) break;
        const dayStart = Math.floor(uuidv7Time(oldest.id) / DAY_MS) * DAY_MS;
        archived += await archiveDay(env, db, tenantId, dayStart);
        daysArchived++;
        budget--;
      }
    }
  }
  log.info("retention archive", { archived, days: daysArchived, retention_days: days, d1: d1Fields(stats) });
  return { archived, days: daysArchived };
}
