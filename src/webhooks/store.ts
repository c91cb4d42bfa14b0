/**
 * The queries the webhook consumer adds to CommunicationStore: find by
 * provider id, attribute an address, record a provider event exactly once,
 * and the events kept for communications not created yet. Built on the
 * same `visible()` tenant condition as every other communications query.
 */
import { and, asc, desc, eq, inArray, lte, ne, notInArray, type SQL, sql } from "drizzle-orm";
import type { CreateBody } from "../communications/schemas";
import {
  CommunicationStore,
  customerAddress,
  eventDetails,
  isProviderIdConflict,
  rowFields,
  toCommunication,
} from "../communications/store";
import type { Database } from "../db/client";
import {
  COMMUNICATION_INDEXES,
  type CommunicationRow,
  communicationEvents,
  communications,
  type JsonObject,
  LOOKUP_INDEXES,
  pendingProviderEvents,
  tenantFences,
  UNATTRIBUTED_CUSTOMER,
} from "../db/schema";
import type { EventRecorder } from "../events/recorder";
import { uuidv7 } from "../lib/uuid";
import { wasErased } from "../privacy/tombstones";
import type { InboundCommunication, StatusMessage } from "./events";
import { providerIdMatch } from "./provider-ids";

/** Kept for a communication created later: at least the 24 hours the contract asks, 7 days in fact. */
export const PENDING_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** `provider` of a kept event that named only a provider_message_id. */
export const ANY_PROVIDER = "*";

export class ProviderEventStore extends CommunicationStore {
  /** `recorder`: the outbox for a tenant with subscriptions (src/subscriptions/outbox.ts). */
  constructor(
    private readonly database: Database,
    tenantId: string,
    recorder?: EventRecorder,
  ) {
    super(database, { tenantId }, recorder);
  }

  private get tenantId() {
    return this.scope.tenantId;
  }

  /**
   * By the provider's id; `provider` may be absent (the `standard` route):
   * then the newest with that id. SendGrid ids match however the sender
   * stored them (src/webhooks/provider-ids.ts).
   */
  async findByProviderId(provider: string | undefined, providerMessageId: string) {
    const match = providerIdMatch(communications.provider_message_id, provider, providerMessageId);
    const [row] = await this.database
      .select(rowFields)
      .from(sql`${communications} INDEXED BY ${sql.identifier(COMMUNICATION_INDEXES.provider_message_id)}`)
      .where(this.visible(match.condition, provider ? eq(communications.provider, provider) : undefined))
      .orderBy(...(match.preference ? [match.preference] : []), desc(communications.id))
      .limit(1);
    return row as CommunicationRow | undefined;
  }

  async find(target: Pick<StatusMessage, "communication_id" | "provider" | "provider_message_id">) {
    if (target.communication_id) return this.get(target.communication_id);
    if (target.provider_message_id) return this.findByProviderId(target.provider, target.provider_message_id);
    return undefined;
  }

  /** The customer of the tenant's newest communication with this address (index-served), if any. */
  async customerFor(address: string): Promise<string | undefined> {
    const [row] = await this.database
      .select({ customer_id: rowFields.customer_id })
      .from(sql`${communications} INDEXED BY ${sql.identifier(LOOKUP_INDEXES.address)}`)
      .where(this.visible(eq(communications.address, address), ne(communications.customer_id, UNATTRIBUTED_CUSTOMER)))
      .orderBy(desc(communications.id))
      .limit(1);
    return row?.customer_id;
  }

  /**
   * Creates an inbound communication from a provider. Its customer is the
   * one given, else the attributed one, else UNATTRIBUTED_CUSTOMER. A
   * redelivery (same provider id) returns the existing row.
   */
  async createInbound(inbound: InboundCommunication, createdBy: string): Promise<CommunicationRow | undefined> {
    const existing = await this.findByProviderId(inbound.provider, inbound.provider_message_id);
    if (existing) return existing;
    // A redelivery of a message that was erased since: not created again (src/privacy/tombstones.ts).
    if (await this.wasErased(inbound.provider_message_id)) return undefined;
    const address = customerAddress("inbound", inbound.communication_details);
    const customerId =
      inbound.customer_id ?? (address ? await this.customerFor(address) : undefined) ?? UNATTRIBUTED_CUSTOMER;
    const body: CreateBody = {
      customer_id: customerId,
      delivery_id: inbound.delivery_id ?? null,
      type: inbound.type,
      direction: "inbound",
      status: inbound.status ?? "delivered",
      content: inbound.content,
      communication_details: inbound.communication_details,
      provider: inbound.provider,
      provider_message_id: inbound.provider_message_id,
    };
    try {
      await this.create(body, createdBy);
    } catch (err) {
      if (!isProviderIdConflict(err) && !isProviderIdConflict((err as Error).cause)) throw err;
    }
    const row = await this.findByProviderId(inbound.provider, inbound.provider_message_id);
    if (!row) throw new Error("inbound communication vanished after insert");
    return row;
  }

  /**
   * Applies one provider event to a communication, exactly once per event_key:
   * through the forward-only status update when it moves the status forward
   * (the event row is the change), else recorded as an event with the
   * status unchanged, unless an event with this key is already recorded.
   */
  async applyEvent(row: CommunicationRow, event: StatusMessage) {
    const details: JsonObject = { ...event.details, provider_event_id: event.event_key };
    if (event.status) {
      const result = await this.updateStatus(row.id, { status: event.status, occurred_at: event.occurred_at, details });
      if (result?.changed) return "changed" as const;
    }
    const current = (await this.get(row.id)) ?? row;
    const key = sql`json_extract(${communicationEvents.details}, '$.provider_event_id')`;
    await this.database.insert(communicationEvents).select(sql`
      SELECT ${this.tenantId}, ${row.id}, ${uuidv7()}, ${current.status}, ${current.status},
             ${event.occurred_at}, ${new Date().toISOString()}, ${JSON.stringify(eventDetails(current, details))}
      WHERE NOT EXISTS (
        SELECT 1 FROM ${communicationEvents}
        WHERE ${communicationEvents.tenant_id} = ${this.tenantId}
          AND ${communicationEvents.communication_id} = ${row.id}
          AND ${key} = ${event.event_key})`);
    return "recorded" as const;
  }

  /** Whether a communication with this provider message id was erased (one primary-key read, on the not-found path only). */
  wasErased(providerMessageId: string) {
    return wasErased(this.database, this.tenantId, providerMessageId);
  }

  /**
   * Kept events for this communication's provider id, however the event
   * named it (src/webhooks/provider-ids.ts); ANY_PROVIDER ones (the
   * `standard` route without a provider) too.
   */
  private pendingFor(provider: string, providerMessageId: string): SQL {
    return and(
      eq(pendingProviderEvents.tenant_id, this.tenantId),
      inArray(pendingProviderEvents.provider, [provider, ANY_PROVIDER]),
      providerIdMatch(pendingProviderEvents.provider_message_id, provider, providerMessageId).condition,
    ) as SQL;
  }

  /** Keeps an event for a communication not created yet; false for a redelivery (already kept). */
  async keepPending(provider: string, providerMessageId: string, event: StatusMessage): Promise<boolean> {
    const result = await this.database
      .insert(pendingProviderEvents)
      .values({
        tenant_id: this.tenantId,
        provider,
        provider_message_id: providerMessageId,
        event_key: event.event_key,
        event: event as unknown as JsonObject,
        received_at: new Date().toISOString(),
      })
      .onConflictDoNothing()
      .run();
    return (result.meta.changes ?? 0) > 0;
  }

  /**
   * Applies the events kept for this communication, oldest first, then
   * deletes them. A failure part way leaves the rest kept; applying one twice
   * changes nothing (applyEvent is keyed), so the retry is safe.
   */
  async drainPending(row: CommunicationRow) {
    if (!row.provider || !row.provider_message_id) return 0;
    const kept = await this.database
      .select()
      .from(pendingProviderEvents)
      .where(this.pendingFor(row.provider, row.provider_message_id))
      .limit(500);
    const events = kept
      .map((k) => k.event as unknown as StatusMessage)
      .sort((a, b) => (a.occurred_at < b.occurred_at ? -1 : a.occurred_at > b.occurred_at ? 1 : 0));
    for (const event of events) await this.applyEvent(row, event);
    if (kept.length) {
      await this.database.delete(pendingProviderEvents).where(
        and(
          this.pendingFor(row.provider, row.provider_message_id),
          inArray(
            pendingProviderEvents.event_key,
            kept.map((k) => k.event_key),
          ),
        ),
      );
    }
    return kept.length;
  }
}

/** Position after the last event of a page of unmatched events (newest first). */
export type UnmatchedAfter = [received_at: string, provider: string, provider_message_id: string, event_key: string];

/**
 * A page of the tenant's kept events (matched no communication yet), newest
 * first, one walk of the (tenant_id, received_at) index; `limit + 1` rows
 * tell whether there is a next page. The event's own fields are read with
 * json_extract, not the whole stored event (which may be large).
 */
export async function listUnmatched(db: Database, tenantId: string, limit: number, after?: UnmatchedAfter) {
  const t = pendingProviderEvents;
  const position = sql`(${t.received_at}, ${t.provider}, ${t.provider_message_id}, ${t.event_key})`;
  // Plain SQL selections: Drizzle refuses column objects when FROM is raw SQL (the INDEXED BY clause).
  const column = (c: { name: string }) => sql<string>`${t}.${sql.identifier(c.name)}`;
  return db
    .select({
      provider: column(t.provider),
      kept_id: column(t.provider_message_id),
      event_key: column(t.event_key),
      received_at: column(t.received_at),
      provider_message_id: sql<string | null>`json_extract(${t.event}, '$.provider_message_id')`,
      status: sql<string | null>`json_extract(${t.event}, '$.status')`,
      provider_status: sql<string | null>`json_extract(${t.event}, '$.provider_status')`,
      occurred_at: sql<string | null>`json_extract(${t.event}, '$.occurred_at')`,
    })
    .from(sql`${t} INDEXED BY pending_provider_events_received`)
    .where(
      and(
        eq(t.tenant_id, tenantId),
        after ? sql`${position} < (${after[0]}, ${after[1]}, ${after[2]}, ${after[3]})` : undefined,
      ),
    )
    .orderBy(desc(t.received_at), desc(t.provider), desc(t.provider_message_id), desc(t.event_key))
    .limit(limit + 1);
}

/**
 * Pending events past PENDING_TTL_MS, every tenant of a database (hourly
 * cron) but one being moved off it (its fence would refuse the statement;
 * the next run after the move purges them on the new shard).
 */
export async function purgeExpiredPending(db: Database, now = Date.now()) {
  const result = await db
    .delete(pendingProviderEvents)
    .where(
      and(
        lte(pendingProviderEvents.received_at, new Date(now - PENDING_TTL_MS).toISOString()),
        notInArray(
          pendingProviderEvents.tenant_id,
          db.select({ tenant_id: tenantFences.tenant_id }).from(tenantFences),
        ),
      ),
    )
    .run();
  return result.meta.changes ?? 0;
}

/** The (tenant, provider, id) groups of kept events, for the cron to queue a drain of each. */
export function pendingGroups(db: Database, limit = 1000) {
  return db
    .selectDistinct({
      tenant_id: pendingProviderEvents.tenant_id,
      provider: pendingProviderEvents.provider,
      provider_message_id: pendingProviderEvents.provider_message_id,
    })
    .from(pendingProviderEvents)
    .orderBy(asc(pendingProviderEvents.tenant_id))
    .limit(limit);
}

export { toCommunication };
