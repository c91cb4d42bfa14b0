/**
 * What an erasure covers, in one place (privacy.md): which communications
 * (`covers`), and every store that keeps anything of them (`ERASURE_PARTS`,
 * run in order by the Workflow, ./erasure-workflow.ts, each page a step).
 *
 * Covered: communications created before the request (id below the
 * erasure's cutoff) of the customer, and those whose customer address
 * (`address`: the recipient of an outbound message, the sender of an
 * inbound one, normalised by ./address.ts) is one of the request's
 * addresses, attributed to a customer or not.
 *
 * The parts: the communications with their events, early provider events
 * and tombstones (one batch per page); idempotency records; early provider
 * events naming the customer; the events kept for subscriptions and their
 * delivery log; the live stream's buffer; the archived days in R2. The
 * search index (issue 20) follows the communications' deletes by its
 * triggers (migrations/0007_search.sql). A store added later plugs in here:
 * a table keyed by communication id goes in BY_COMMUNICATION (deleted in the
 * same batch as its communications), anything else is one more part.
 */
import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { ArchivedCommunication } from "../archive/retention";
import { dayOfKey, rewriteArchivedObject } from "../archive/rewrite";
import { customerAddress } from "../communications/store";
import type { Database } from "../db/client";
import {
  idempotencyKeys,
  type JsonObject,
  pendingProviderEvents,
  subscriptionDeliveries,
  subscriptionEvents,
} from "../db/schema";
import { callHub, hubFor } from "../stream/hub";
import type { InboundCommunication, StatusMessage } from "../webhooks/events";
import { type ErasureRow, erasureCutoff } from "./erasure";
import { providerIdHash } from "./tombstones";

/** An erasure as its parts need it. */
export interface ErasureScope {
  tenantId: string;
  erasureId: string;
  customerId: string;
  addresses: ReadonlySet<string>;
  /** Communications with a smaller id are covered (created before the request). */
  cutoff: string;
}

export const scopeOf = (row: ErasureRow): ErasureScope => ({
  tenantId: row.tenant_id,
  erasureId: row.id,
  customerId: row.customer_id,
  addresses: new Set(row.addresses ?? []),
  cutoff: erasureCutoff(row),
});

/** A communication as any store keeps it (a row, the API shape, an archived line, an inbound message). */
export interface CommunicationLike {
  id?: string;
  customer_id?: string | null;
  direction: string;
  communication_details: JsonObject;
}

/** Whether the erasure covers this communication: the one rule every part applies. */
export function covers(
  scope: Pick<ErasureScope, "customerId" | "addresses" | "cutoff">,
  c: CommunicationLike,
): boolean {
  if (c.id !== undefined && !(c.id < scope.cutoff)) return false;
  if (c.customer_id === scope.customerId) return true;
  if (!scope.addresses.size) return false;
  const address = customerAddress(c.direction, c.communication_details ?? {});
  return address !== null && scope.addresses.has(address);
}

/** What a part did on one page; `next` is where the following page starts (null: the part is done). */
export interface PageResult {
  next: string | null;
  /** Counts of what went that the erasure's row does not hold yet (the D1 parts count in their own batch). */
  erased?: { communications: number; events: number; archived_days: number };
}

export interface PartContext {
  env: Env;
  /** The tenant's shard, at the primary. */
  db: Database;
  /** The same session's client, for the statements sent as they are (src/db/client.ts counts them). */
  d1: D1Database;
  scope: ErasureScope;
  /** Communications per page (ERASURE_BATCH_ROWS). */
  limit: number;
}

export interface ErasurePart {
  name: string;
  page(ctx: PartContext, cursor: string | null): Promise<PageResult>;
}

/**
 * Tables whose rows belong to one communication, by the column naming it:
 * deleted in the same batch as their communications.
 */
export const BY_COMMUNICATION: readonly { table: string; column: string }[] = [
  { table: "communication_events", column: "communication_id" },
];

/**
 * The covered communications, a page at a time, through the customer's
 * index then the address index (each reads about one entry per row it
 * returns), oldest first. Erased rows are gone, so each page starts again
 * from the first covered one.
 */
async function coveredPage(ctx: PartContext) {
  const { d1, scope, limit } = ctx;
  const byCustomer = await d1
    .prepare(
      `SELECT id, provider_message_id FROM communications INDEXED BY communications_customer
       WHERE tenant_id = ? AND customer_id = ? AND id < ? ORDER BY id LIMIT ?`,
    )
    .bind(scope.tenantId, scope.customerId, scope.cutoff, limit)
    .all<{ id: string; provider_message_id: string | null }>();
  const rows = byCustomer.results;
  if (rows.length < limit && scope.addresses.size) {
    const byAddress = await d1
      .prepare(
        `SELECT id, provider_message_id FROM communications INDEXED BY communications_address
         WHERE tenant_id = ? AND address IN (SELECT value FROM json_each(?)) AND id < ? ORDER BY id LIMIT ?`,
      )
      .bind(scope.tenantId, JSON.stringify([...scope.addresses]), scope.cutoff, limit - rows.length)
      .all<{ id: string; provider_message_id: string | null }>();
    const seen = new Set(rows.map((r) => r.id));
    rows.push(...byAddress.results.filter((r) => !seen.has(r.id)));
  }
  return rows;
}

/**
 * Communications and everything keyed by them, one page per step, in one
 * D1 batch (one transaction): the counts are added to the erasure's row
 * from the rows the batch deletes, so a step run again after its batch
 * committed counts nothing twice. Early provider events kept for these
 * messages go too, and their provider ids become tombstones
 * (./tombstones.ts). The delete trigger keeps the totals right.
 */
const communicationsPart: ErasurePart = {
  name: "communications",
  async page(ctx) {
    const { d1, scope } = ctx;
    const rows = await coveredPage(ctx);
    if (!rows.length) return { next: null };
    const ids = JSON.stringify(rows.map((r) => r.id));
    const providerIds = [...new Set(rows.flatMap((r) => (r.provider_message_id ? [r.provider_message_id] : [])))];
    const hashes = await Promise.all(providerIds.map(providerIdHash));
    const now = new Date().toISOString();
    const inIds = "IN (SELECT value FROM json_each(?))";
    const statements = [
      d1
        .prepare(
          `UPDATE erasures SET
             erased_communications = erased_communications + (SELECT count(*) FROM communications WHERE tenant_id = ? AND id ${inIds}),
             erased_events = erased_events + (SELECT count(*) FROM communication_events WHERE tenant_id = ? AND communication_id ${inIds}),
             status = 'running', updated_at = ?
           WHERE tenant_id = ? AND id = ?`,
        )
        .bind(scope.tenantId, ids, scope.tenantId, ids, now, scope.tenantId, scope.erasureId),
    ];
    if (providerIds.length) {
      statements.push(
        d1
          .prepare(
            `INSERT OR IGNORE INTO erased_provider_ids (tenant_id, id_hash, created_at)
             SELECT ?, value, ? FROM json_each(?)`,
          )
          .bind(scope.tenantId, now, JSON.stringify(hashes)),
        d1
          .prepare(`DELETE FROM pending_provider_events WHERE tenant_id = ? AND provider_message_id ${inIds}`)
          .bind(scope.tenantId, JSON.stringify(providerIds)),
      );
    }
    for (const { table, column } of BY_COMMUNICATION) {
      statements.push(
        d1.prepare(`DELETE FROM ${table} WHERE tenant_id = ? AND ${column} ${inIds}`).bind(scope.tenantId, ids),
      );
    }
    statements.push(
      d1.prepare(`DELETE FROM communications WHERE tenant_id = ? AND id ${inIds}`).bind(scope.tenantId, ids),
    );
    await d1.batch(statements);
    return { next: rows.length === ctx.limit ? "more" : null };
  },
};

/** Rows of a table read per query by the passes below. */
const PASS_PAGE = 500;

/**
 * Idempotency records hold the communication they created (content,
 * addresses): those of covered communications go. A record lives 24 hours,
 * so this reads at most a day of the tenant's keys, in pages, in one step
 * (no key leaves the step, so none is kept in the Workflow's state).
 */
const idempotencyPart: ErasurePart = {
  name: "idempotency records",
  async page({ db, scope }) {
    let after: string | undefined;
    for (;;) {
      const rows = await db
        .select({ key: idempotencyKeys.key, communication: idempotencyKeys.communication })
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.tenant_id, scope.tenantId), after ? gt(idempotencyKeys.key, after) : undefined))
        .orderBy(asc(idempotencyKeys.key))
        .limit(PASS_PAGE);
      const covered = rows
        .filter((r) => covers(scope, r.communication as unknown as CommunicationLike))
        .map((r) => r.key);
      if (covered.length) {
        await db
          .delete(idempotencyKeys)
          .where(
            and(
              eq(idempotencyKeys.tenant_id, scope.tenantId),
              sql`${idempotencyKeys.key} IN (SELECT value FROM json_each(${JSON.stringify(covered)}))`,
            ),
          );
      }
      if (rows.length < PASS_PAGE) return { next: null };
      after = rows.at(-1)?.key;
    }
  },
};

/**
 * Provider events kept for a communication not created yet (7 days): an
 * inbound message or call of the customer waiting there, or any kept event
 * that names one of the addresses. (Those kept for the erased messages' own
 * provider ids went with them.) One step, as above.
 */
const pendingEventsPart: ErasurePart = {
  name: "early provider events",
  async page({ db, scope }) {
    let after: { provider: string; provider_message_id: string; event_key: string } | undefined;
    for (;;) {
      const rows = await db
        .select()
        .from(pendingProviderEvents)
        .where(
          and(
            eq(pendingProviderEvents.tenant_id, scope.tenantId),
            after
              ? sql`(${pendingProviderEvents.provider}, ${pendingProviderEvents.provider_message_id}, ${pendingProviderEvents.event_key}) > (${after.provider}, ${after.provider_message_id}, ${after.event_key})`
              : undefined,
          ),
        )
        .orderBy(
          asc(pendingProviderEvents.provider),
          asc(pendingProviderEvents.provider_message_id),
          asc(pendingProviderEvents.event_key),
        )
        .limit(PASS_PAGE);
      for (const row of rows) {
        const event = row.event as unknown as StatusMessage;
        const inbound = event.inbound as InboundCommunication | undefined;
        const text = JSON.stringify(event);
        const named =
          (inbound && covers(scope, { ...inbound, direction: "inbound", id: undefined })) ||
          [...scope.addresses].some((a) => text.includes(a));
        if (!named) continue;
        await db
          .delete(pendingProviderEvents)
          .where(
            and(
              eq(pendingProviderEvents.tenant_id, scope.tenantId),
              eq(pendingProviderEvents.provider, row.provider),
              eq(pendingProviderEvents.provider_message_id, row.provider_message_id),
              eq(pendingProviderEvents.event_key, row.event_key),
            ),
          );
      }
      const last = rows.at(-1);
      if (!last || rows.length < PASS_PAGE) return { next: null };
      after = last;
    }
  },
};

/**
 * Events kept for subscriptions (the outbox, 7 days: src/subscriptions):
 * each holds the communication as delivered, so those of covered
 * communications go, with their delivery log rows; a delivery still queued
 * for one finds it gone and is dropped. No index names the communication
 * (migrations/0006_subscriptions.sql), so this reads the tenant's week of
 * events, in pages, in one step.
 */
const subscriptionEventsPart: ErasurePart = {
  name: "events kept for subscriptions",
  async page({ db, scope }) {
    let after: string | undefined;
    for (;;) {
      const rows = await db
        .select({ id: subscriptionEvents.id, payload: subscriptionEvents.payload })
        .from(subscriptionEvents)
        .where(
          and(eq(subscriptionEvents.tenant_id, scope.tenantId), after ? gt(subscriptionEvents.id, after) : undefined),
        )
        .orderBy(asc(subscriptionEvents.id))
        .limit(PASS_PAGE);
      const covered = rows
        .filter((r) => {
          const communication = (JSON.parse(r.payload) as { data?: { communication?: CommunicationLike } }).data
            ?.communication;
          return communication !== undefined && covers(scope, communication);
        })
        .map((r) => r.id);
      if (covered.length) {
        const ids = JSON.stringify(covered);
        await db.batch([
          db
            .delete(subscriptionDeliveries)
            .where(
              and(
                eq(subscriptionDeliveries.tenant_id, scope.tenantId),
                sql`${subscriptionDeliveries.event_id} IN (SELECT value FROM json_each(${ids}))`,
              ),
            ),
          db
            .delete(subscriptionEvents)
            .where(
              and(
                eq(subscriptionEvents.tenant_id, scope.tenantId),
                sql`${subscriptionEvents.id} IN (SELECT value FROM json_each(${ids}))`,
              ),
            ),
        ]);
      }
      if (rows.length < PASS_PAGE) return { next: null };
      after = rows.at(-1)?.id;
    }
  },
};

/** Archived days read per step. */
const ARCHIVE_DAYS_PER_STEP = 20;

/**
 * Archived days in R2 (retention): every day of the tenant created before
 * the request is read, and a day holding covered lines is rewritten without
 * them (src/archive/rewrite.ts). The rewrite carries this erasure's id and
 * counts in the object's metadata: a step run again after its write counts
 * that day from there instead of finding nothing. R2's list cursor is the
 * page cursor.
 */
const archivePart: ErasurePart = {
  name: "archived days",
  async page({ env, scope }, cursor) {
    const listed = await env.ARCHIVE.list({
      prefix: `${scope.tenantId}/`,
      cursor: cursor ?? undefined,
      limit: ARCHIVE_DAYS_PER_STEP,
    });
    const erased = { communications: 0, events: 0, archived_days: 0 };
    let later = false;
    for (const object of listed.objects) {
      const day = dayOfKey(object.key);
      // Days come in order; one that starts after the request holds nothing it covers, nor do the rest.
      if (Date.parse(`${day}T00:00:00Z`) > scopeTime(scope)) {
        later = true;
        break;
      }
      const result = await rewriteArchivedObject(
        env.ARCHIVE,
        object.key,
        (line: ArchivedCommunication) => (covers(scope, line) ? { drop: true } : { keep: true }),
        (r) => ({
          erasure: scope.erasureId,
          erased_communications: String(r.dropped),
          erased_events: String(r.droppedEvents),
        }),
      );
      if (!result) continue;
      if (result.changed) {
        erased.communications += result.dropped;
        erased.events += result.droppedEvents;
        erased.archived_days++;
      } else if (result.metadata.erasure === scope.erasureId) {
        // Rewritten by an earlier attempt of this step: counted from its marker.
        erased.communications += Number(result.metadata.erased_communications ?? 0);
        erased.events += Number(result.metadata.erased_events ?? 0);
        erased.archived_days++;
      }
    }
    return { next: listed.truncated && !later ? listed.cursor : null, erased };
  },
};

/** The request's time, from the cutoff id (its first 48 bits are milliseconds). */
const scopeTime = (scope: ErasureScope) => Number.parseInt(scope.cutoff.replaceAll("-", "").slice(0, 12), 16);

/**
 * Everything an erasure covers, in the order it runs: the live rows first
 * (so that the retention archive, which skips a tenant while one of its
 * erasures runs, cannot carry a covered row to R2 behind the archive pass),
 * then the records that hold copies, then the archive.
 */
/**
 * Events kept for the live stream (issue 19): the tenant's StreamHub drops
 * the buffered events of covered communications (at most 10,000, in one
 * call), after the communications part, so that no change of a covered
 * communication can be buffered after it.
 */
const streamPart: ErasurePart = {
  name: "events kept for the stream",
  async page({ env, scope }) {
    await callHub(() =>
      hubFor(env, scope.tenantId).forgetErased({
        customerId: scope.customerId,
        addresses: [...scope.addresses],
        cutoff: scope.cutoff,
      }),
    );
    return { next: null };
  },
};

export const ERASURE_PARTS: readonly ErasurePart[] = [
  communicationsPart,
  idempotencyPart,
  pendingEventsPart,
  subscriptionEventsPart,
  streamPart,
  archivePart,
];
