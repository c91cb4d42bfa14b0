/**
 * Provider message ids of erased communications, kept as SHA-256 (never the
 * id): a provider callback or a redelivered inbound message that arrives
 * after the erasure finds no communication, and without this would be kept
 * as an early event (and applied to nothing) or, for an inbound message or
 * call, create the communication again. The queue consumer drops it instead
 * (src/webhooks/consumer.ts). Kept TOMBSTONE_DAYS, then purged by the cron.
 */
import { and, eq, lt, notInArray } from "drizzle-orm";
import type { Database } from "../db/client";
import { erasedProviderIds, tenantFences } from "../db/schema";
import { hex } from "../lib/uuid";

/** Providers retry a callback for a day or two, our queue for hours, its dead-letter queue 4 days: 30 is ample. */
export const TOMBSTONE_DAYS = 30;

export const providerIdHash = async (providerMessageId: string) =>
  hex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(providerMessageId))));

/** Whether a communication with this provider message id was erased (one primary-key read). */
export async function wasErased(db: Database, tenantId: string, providerMessageId: string): Promise<boolean> {
  const hash = await providerIdHash(providerMessageId);
  const [row] = await db
    .select({ id_hash: erasedProviderIds.id_hash })
    .from(erasedProviderIds)
    .where(and(eq(erasedProviderIds.tenant_id, tenantId), eq(erasedProviderIds.id_hash, hash)))
    .limit(1);
  return row !== undefined;
}

/** Tombstones past TOMBSTONE_DAYS, every tenant of a shard but those fenced by a move (hourly cron). */
export async function purgeTombstones(db: Database, now = Date.now()) {
  const result = await db
    .delete(erasedProviderIds)
    .where(
      and(
        lt(erasedProviderIds.created_at, new Date(now - TOMBSTONE_DAYS * 86_400_000).toISOString()),
        notInArray(erasedProviderIds.tenant_id, db.select({ tenant_id: tenantFences.tenant_id }).from(tenantFences)),
      ),
    )
    .run();
  return result.meta.changes ?? 0;
}
