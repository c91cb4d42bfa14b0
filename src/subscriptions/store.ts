/**
 * Data access of the subscriptions feature: subscriptions, their delivery
 * log, and the event log (outbox) they are served from. Every query names
 * the store's tenant first (every key starts with tenant_id). The store
 * speaks in outcomes; handlers pick the HTTP status.
 *
 * Write methods take `extra`: statements committed in the same D1 batch
 * (one transaction), so that an action and its audit entry (privacy.md,
 * issue 21) are committed together or not at all.
 *
 * Cost (D1 rows): a subscription read is one row; the list at most 20; the
 * detail's counts read the subscription's deliveries of the last 7 days (the
 * log's primary key range, no index: see migrations/0006_subscriptions.sql).
 */
import { and, asc, desc, eq, gt, gte, inArray, lt, max, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../db/client";
import {
  type DeliveryRow,
  type DeliveryStatus,
  type SubscriptionRow,
  subscriptionDeliveries,
  subscriptionEvents,
  subscriptions,
} from "../db/schema";
import { MAX_SUBSCRIPTIONS } from "./schemas";

export type Extra = BatchItem<"sqlite">[];

export interface NewSubscription {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  sealedSecret: string;
  serviceHost: string;
  now: string;
}

export type SubscriptionChanges = Partial<
  Pick<SubscriptionRow, "url" | "events" | "description" | "status" | "service_host" | "failing_since">
>;

export type CreateSubscriptionOutcome =
  | { outcome: "created"; row: SubscriptionRow; count: number }
  | { outcome: "limit_reached" };

export class SubscriptionStore {
  constructor(
    readonly db: Database,
    readonly tenantId: string,
  ) {}

  private mine(...conditions: Parameters<typeof and>) {
    return and(eq(subscriptions.tenant_id, this.tenantId), ...conditions);
  }

  list() {
    return this.db
      .select()
      .from(subscriptions)
      .where(this.mine())
      .orderBy(asc(subscriptions.id))
      .limit(MAX_SUBSCRIPTIONS);
  }

  async get(id: string): Promise<SubscriptionRow | undefined> {
    const [row] = await this.db
      .select()
      .from(subscriptions)
      .where(this.mine(eq(subscriptions.id, id)))
      .limit(1);
    return row;
  }

  private countQuery() {
    return this.db.select({ n: sql<number>`count(*)` }).from(subscriptions).where(this.mine());
  }

  async count(): Promise<number> {
    const [row] = await this.countQuery();
    return Number(row?.n ?? 0);
  }

  /**
   * Inserts unless the tenant already has MAX_SUBSCRIPTIONS: the count and
   * the insert are one statement, so two concurrent creates cannot both pass
   * at 19.
   */
  async create(s: NewSubscription, extra: Extra = []): Promise<CreateSubscriptionOutcome> {
    const insert = this.db.insert(subscriptions).select(sql`
      SELECT ${this.tenantId}, ${s.id}, ${s.url}, ${JSON.stringify(s.events)}, ${s.description}, 'active',
             ${s.sealedSecret}, NULL, NULL, ${s.serviceHost}, NULL, ${s.now}, ${s.now}
      WHERE (SELECT count(*) FROM ${subscriptions} WHERE ${subscriptions.tenant_id} = ${this.tenantId}) < ${MAX_SUBSCRIPTIONS}`);
    const [, [row], [counted]] = await this.db.batch([
      insert,
      this.db
        .select()
        .from(subscriptions)
        .where(this.mine(eq(subscriptions.id, s.id))),
      this.countQuery(),
      ...extra,
    ]);
    if (!row) return { outcome: "limit_reached" };
    return { outcome: "created", row, count: Number(counted?.n ?? 0) };
  }

  async update(id: string, changes: SubscriptionChanges, now: string, extra: Extra = []) {
    const [rows] = await this.db.batch([
      this.db
        .update(subscriptions)
        .set({ ...changes, updated_at: now })
        .where(this.mine(eq(subscriptions.id, id)))
        .returning(),
      ...extra,
    ]);
    return rows[0];
  }

  /** The new secret signs from now on; the current one beside it until `previousUntil`. */
  async rotate(id: string, sealedSecret: string, now: string, previousUntil: string, extra: Extra = []) {
    const [rows] = await this.db.batch([
      this.db
        .update(subscriptions)
        .set({
          previous_secret: sql`${subscriptions.secret}`,
          previous_secret_expires_at: previousUntil,
          secret: sealedSecret,
          updated_at: now,
        })
        .where(this.mine(eq(subscriptions.id, id)))
        .returning(),
      ...extra,
    ]);
    return rows[0];
  }

  /** Deletes the subscription; its queued deliveries find it gone and are dropped. Returns the count left. */
  async delete(id: string, extra: Extra = []) {
    const [deleted, [counted]] = await this.db.batch([
      this.db
        .delete(subscriptions)
        .where(this.mine(eq(subscriptions.id, id)))
        .returning({ id: subscriptions.id }),
      this.countQuery(),
      ...extra,
    ]);
    return { deleted: deleted.length > 0, count: Number(counted?.n ?? 0) };
  }

  /** Counts by status and the last success and failure times, over the subscription's delivery log. */
  async deliveryStats(id: string) {
    const rows = await this.db
      .select({
        status: subscriptionDeliveries.status,
        n: sql<number>`count(*)`,
        lastSuccess: max(subscriptionDeliveries.succeeded_at),
        lastFailure: max(subscriptionDeliveries.last_failure_at),
      })
      .from(subscriptionDeliveries)
      .where(and(eq(subscriptionDeliveries.tenant_id, this.tenantId), eq(subscriptionDeliveries.subscription_id, id)))
      .groupBy(subscriptionDeliveries.status);
    const counts = { succeeded: 0, failed: 0, pending: 0 };
    let lastSuccess: string | null = null;
    let lastFailure: string | null = null;
    const later = (a: string | null, b: string | null) => (a && (!b || a > b) ? a : b);
    for (const r of rows) {
      counts[r.status] = Number(r.n);
      lastSuccess = later(r.lastSuccess, lastSuccess);
      lastFailure = later(r.lastFailure, lastFailure);
    }
    return { counts, lastSuccess, lastFailure };
  }

  /** A page of the delivery log, newest event first, after `before` (an event id). */
  deliveries(id: string, statuses: DeliveryStatus[] | undefined, limit: number, before?: string) {
    return this.db
      .select()
      .from(subscriptionDeliveries)
      .where(
        and(
          eq(subscriptionDeliveries.tenant_id, this.tenantId),
          eq(subscriptionDeliveries.subscription_id, id),
          statuses?.length ? inArray(subscriptionDeliveries.status, statuses) : undefined,
          before ? lt(subscriptionDeliveries.event_id, before) : undefined,
        ),
      )
      .orderBy(desc(subscriptionDeliveries.event_id))
      .limit(limit + 1);
  }

  /**
   * One page of a replay: the events with ids in [fromId, toId) (ids sort by
   * time) of the subscription's types, after `after`; each gets its delivery
   * row reset to pending with a new generation (so a message still queued for
   * an earlier one is dropped). Returns the new generation of each.
   */
  async replayPage(sub: SubscriptionRow, fromId: string, toId: string, after: string | undefined, limit: number) {
    const events = await this.db
      .select({ id: subscriptionEvents.id, type: subscriptionEvents.type })
      .from(subscriptionEvents)
      .where(
        and(
          eq(subscriptionEvents.tenant_id, this.tenantId),
          after ? gt(subscriptionEvents.id, after) : gte(subscriptionEvents.id, fromId),
          lt(subscriptionEvents.id, toId),
          inArray(subscriptionEvents.type, sub.events),
        ),
      )
      .orderBy(asc(subscriptionEvents.id))
      .limit(limit);
    if (!events.length) return { deliveries: [], last: undefined };
    const now = new Date().toISOString();
    const reset = events.map((e) =>
      this.db
        .insert(subscriptionDeliveries)
        .values({
          tenant_id: this.tenantId,
          subscription_id: sub.id,
          event_id: e.id,
          type: e.type,
          status: "pending",
          generation: 1,
          attempts: 0,
          next_attempt_at: now,
        })
        .onConflictDoUpdate({
          target: [
            subscriptionDeliveries.tenant_id,
            subscriptionDeliveries.subscription_id,
            subscriptionDeliveries.event_id,
          ],
          set: {
            status: "pending",
            generation: sql`${subscriptionDeliveries.generation} + 1`,
            attempts: 0,
            next_attempt_at: now,
          },
        })
        .returning({ event_id: subscriptionDeliveries.event_id, generation: subscriptionDeliveries.generation }),
    );
    const results = await this.db.batch(reset as [(typeof reset)[number], ...(typeof reset)[number][]]);
    return { deliveries: results.flat(), last: events.at(-1)?.id };
  }
}

export type { DeliveryRow };
