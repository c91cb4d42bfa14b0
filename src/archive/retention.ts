/**
 * Retention (RETENTION_DAYS): the scheduled job moves communications older
 * than that, with their events, from the shards to R2, as NDJSON, one object
 * per tenant per UTC day (`<tenant>/<YYYY-MM-DD>.ndjson`, one communication
 * per line with its `events`). A day is archived whole, once all of it is
 * older than the cutoff.
 *
 * Order of a day, streamed (memory holds one D1 page and one R2 part,
 * whatever the size of the day): read its rows page by page, merge them by
 * id with what the object already holds (a run cut short after deleting part
 * of a day loses nothing), write the object as it goes (one put with its
 * SHA-256 when it fits in one part, else an R2 multipart upload), read it
 * back and check its SHA-256 is that of the bytes written, and only then
 * delete the rows. The shard's delete trigger keeps communication_totals right.
 *
 * A tenant with a move or an erasure under way is skipped until it ends; one
 * whose move starts during the run has its delete refused by the move's
 * fence, and is skipped too (the day stays in D1, and is not counted as
 * archived).
 */
import { and, asc, eq, gt, gte, inArray, lt, lte } from "drizzle-orm";
import type { Communication } from "../communications/schemas";
import { toCommunication } from "../communications/store";
import { config } from "../config";
import { createDb, type Database, type DbStats, d1Fields, newDbStats } from "../db/client";
import { communicationEvents, communications, communicationTotals, erasures } from "../db/schema";
import { toApiError } from "../lib/error-handler";
import { TenantFrozenError } from "../lib/errors";
import { log } from "../lib/logger";
import { hex, uuidv7Floor, uuidv7Time } from "../lib/uuid";
import { shardBinding, shardNames } from "../shards/config";
import { tenantsBeingMoved } from "../shards/directory";

const DAY_MS = 86_400_000;
/** Rows per read page, and ids per delete statement (D1 binds at most 100 parameters). */
const PAGE_ROWS = 500;
const DELETE_CHUNK = 90;
/** Days archived per shard per run; the hourly cron catches up with a backlog. */
const DAYS_PER_RUN = 50;

export type ArchivedCommunication = Communication & { events: ArchivedEvent[] };
type ArchivedEvent = Omit<typeof communicationEvents.$inferSelect, "tenant_id">;

export const archiveKey = (tenantId: string, day: string) => `${tenantId}/${day}.ndjson`;

const chunks = <T>(items: T[], size: number) =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** One NDJSON line of an archived day, with its communication's id. */
type Line = { id: string; text: string };

/**
 * The day's communications with their events, oldest first, one NDJSON line
 * each, a page of PAGE_ROWS at a time: memory holds one page, whatever the
 * size of the day.
 */
async function* dayLines(db: Database, tenantId: string, dayStart: number): AsyncGenerator<Line> {
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
    if (rows.length === 0) return;
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
    for (const row of rows) {
      const line: ArchivedCommunication = { ...toCommunication(row), events: events.get(row.id) ?? [] };
      yield { id: row.id, text: JSON.stringify(line) };
    }
    if (rows.length < PAGE_ROWS) return;
    after = rows.at(-1)?.id as string;
  }
}

/** The lines of an archived day already in R2 (sorted by id, as written), streamed. */
async function* objectLines(body: ReadableStream<Uint8Array>): AsyncGenerator<Line> {
  let rest = "";
  const lines = function* (text: string) {
    for (const line of text.split("\n")) if (line) yield { id: (JSON.parse(line) as { id: string }).id, text: line };
  };
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    const text = rest + chunk;
    const cut = text.lastIndexOf("\n");
    rest = cut < 0 ? text : text.slice(cut + 1);
    if (cut >= 0) yield* lines(text.slice(0, cut));
  }
  yield* lines(rest);
}

/** Two id-ordered line streams merged by id; for an id in both, `preferred`'s line. */
async function* mergeById(preferred: AsyncGenerator<Line>, other: AsyncGenerator<Line>): AsyncGenerator<Line> {
  let a = await preferred.next();
  let b = await other.next();
  while (!a.done || !b.done) {
    if (b.done || (!a.done && a.value.id <= b.value.id)) {
      if (!b.done && !a.done && a.value.id === b.value.id) b = await other.next();
      yield (a as IteratorYieldResult<Line>).value;
      a = await preferred.next();
    } else {
      yield b.value;
      b = await other.next();
    }
  }
}

/**
 * R2's multipart parts: every part but the last the same size, at least
 * 5 MiB. A day that fits in one part is one put (with its SHA-256, which R2
 * checks), as before; a larger one is uploaded part by part as it is read,
 * so memory holds one part and one D1 page, never the day.
 */
export const ARCHIVE_PART_BYTES = 5 * 1024 * 1024;

/** Writes an object from a stream of text, in constant memory; `finish` returns its SHA-256. */
class ArchiveWriter {
  private buffered: Uint8Array[] = [];
  private size = 0;
  private upload?: R2MultipartUpload;
  private readonly parts: R2UploadedPart[] = [];
  private readonly digest = new crypto.DigestStream("SHA-256");
  private readonly hashing = this.digest.getWriter();
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly bucket: R2Bucket,
    private readonly key: string,
  ) {}

  async write(text: string) {
    const bytes = this.encoder.encode(text);
    await this.hashing.write(bytes);
    this.buffered.push(bytes);
    this.size += bytes.byteLength;
    while (this.size >= ARCHIVE_PART_BYTES) await this.uploadPart(this.take(ARCHIVE_PART_BYTES));
  }

  /** The first `n` buffered bytes, as one part. */
  private take(n: number): Uint8Array {
    const part = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const head = this.buffered[0] as Uint8Array;
      const used = Math.min(head.byteLength, n - filled);
      part.set(head.subarray(0, used), filled);
      filled += used;
      if (used === head.byteLength) this.buffered.shift();
      else this.buffered[0] = head.subarray(used);
    }
    this.size -= n;
    return part;
  }

  private async uploadPart(part: Uint8Array) {
    this.upload ??= await this.bucket.createMultipartUpload(this.key, {
      httpMetadata: { contentType: "application/x-ndjson" },
    });
    this.parts.push(await this.upload.uploadPart(this.parts.length + 1, part));
  }

  /** Stores what was written; returns its SHA-256 (hex). */
  async finish(lines: number): Promise<string> {
    await this.hashing.close();
    const sha256 = hex(new Uint8Array(await this.digest.digest));
    const rest = this.take(this.size);
    if (!this.upload) {
      await this.bucket.put(this.key, rest, {
        sha256,
        httpMetadata: { contentType: "application/x-ndjson" },
        customMetadata: { communications: String(lines) },
      });
      return sha256;
    }
    try {
      if (rest.byteLength > 0) await this.uploadPart(rest);
      await this.upload.complete(this.parts);
    } catch (err) {
      await this.upload.abort().catch(() => undefined);
      throw err;
    }
    return sha256;
  }
}

/** SHA-256 (hex) of a stored object, read as a stream. */
async function storedSha256(bucket: R2Bucket, key: string): Promise<string | undefined> {
  const object = await bucket.get(key);
  if (!object) return undefined;
  const digest = new crypto.DigestStream("SHA-256");
  await object.body.pipeTo(digest);
  return hex(new Uint8Array(await digest.digest));
}

/**
 * Deletes the tenant's communications of the day up to `lastId` (the last one
 * archived) with their events, DELETE_CHUNK at a time; the shard's delete
 * trigger keeps communication_totals right. Returns how many went.
 */
async function deleteArchived(db: Database, tenantId: string, dayStart: number, lastId: string) {
  let deleted = 0;
  for (;;) {
    const ids = (
      await db
        .select({ id: communications.id })
        .from(communications)
        .where(
          and(
            eq(communications.tenant_id, tenantId),
            gte(communications.id, uuidv7Floor(dayStart)),
            lte(communications.id, lastId),
          ),
        )
        .orderBy(asc(communications.id))
        .limit(DELETE_CHUNK)
    ).map((r) => r.id);
    if (ids.length === 0) return deleted;
    await db.batch([
      db
        .delete(communicationEvents)
        .where(and(eq(communicationEvents.tenant_id, tenantId), inArray(communicationEvents.communication_id, ids))),
      db.delete(communications).where(and(eq(communications.tenant_id, tenantId), inArray(communications.id, ids))),
    ]);
    deleted += ids.length;
  }
}

/**
 * Archives one tenant-day and deletes it from the shard; returns how many
 * communications went. Streams: the day's rows, merged by id with the lines
 * an earlier run that stopped part way already archived, are written to R2
 * as they are read (ArchiveWriter); the stored object's SHA-256 is checked
 * against what was written before any row is deleted, then the rows archived
 * are deleted page by page. Memory holds one D1 page and one R2 part.
 */
export async function archiveDay(env: Env, db: Database, tenantId: string, dayStart: number): Promise<number> {
  const day = new Date(dayStart).toISOString().slice(0, 10);
  const key = archiveKey(tenantId, day);
  const rows = dayLines(db, tenantId, dayStart);
  const first = await rows.next();
  if (first.done) return 0;
  // The rows read from D1: how many, and the last id (every one of them is at or before it).
  let fromD1 = 0;
  let lastId = first.value.id;
  const counted = (async function* () {
    for (let next: IteratorResult<Line> = first; !next.done; next = await rows.next()) {
      fromD1++;
      lastId = next.value.id;
      yield next.value;
    }
  })();

  const existing = await env.ARCHIVE.get(key);
  const lines = existing ? mergeById(counted, objectLines(existing.body)) : counted;
  const writer = new ArchiveWriter(env.ARCHIVE, key);
  let written = 0;
  for await (const line of lines) {
    await writer.write(`${line.text}\n`);
    written++;
  }
  const sha256 = await writer.finish(written);

  // Verified before anything is deleted: the stored bytes are the bytes
  // written, which hold every row read (a merge never drops a D1 line).
  if ((await storedSha256(env.ARCHIVE, key)) !== sha256) throw new Error(`archive ${key}: read-back checksum differs`);
  await deleteArchived(db, tenantId, dayStart, lastId);
  return fromD1;
}

/** One run of the retention job over every shard. */
export async function archiveExpired(env: Env, now = Date.now()) {
  const days = config(env).retentionDays;
  if (days === undefined) return { archived: 0, days: 0 };
  const cutoffDay = Math.floor((now - days * DAY_MS) / DAY_MS) * DAY_MS;
  const cutoff = uuidv7Floor(cutoffDay);
  const stats: DbStats = newDbStats();
  const moving = await tenantsBeingMoved(env, stats);
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
    // A tenant with an erasure under way waits too: the erasure deletes its
    // rows first and reads its archived days after, so no row it covers may
    // move to R2 in between (src/privacy/erasure-scope.ts).
    const erasing = new Set(
      (
        await db
          .selectDistinct({ tenant_id: erasures.tenant_id })
          .from(erasures)
          .where(inArray(erasures.status, ["pending", "running"]))
      ).map((e) => e.tenant_id),
    );
    let budget = DAYS_PER_RUN;
    for (const tenantId of tenantIds) {
      if (erasing.has(tenantId)) continue;
      while (budget > 0) {
        const [oldest] = await db
          .select({ id: communications.id })
          .from(communications)
          .where(and(eq(communications.tenant_id, tenantId), lt(communications.id, cutoff)))
          .orderBy(asc(communications.id))
          .limit(1);
        if (!oldest) break;
        const dayStart = Math.floor(uuidv7Time(oldest.id) / DAY_MS) * DAY_MS;
        try {
          archived += await archiveDay(env, db, tenantId, dayStart);
        } catch (err) {
          // A move of this tenant began after `moving` was read: its fence
          // refused the delete. The day stays in D1 (the archive written so
          // far is merged by a later run, on whichever shard then holds it).
          if (!(toApiError(err) instanceof TenantFrozenError)) throw err;
          log.warn("retention: tenant being moved, skipped", { tenant_id: tenantId, shard });
          break;
        }
        daysArchived++;
        budget--;
      }
    }
  }
  log.info("retention archive", { archived, days: daysArchived, retention_days: days, d1: d1Fields(stats) });
  return { archived, days: daysArchived };
}
