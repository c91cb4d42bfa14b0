/**
 * A tenant's database outside an HTTP request's context (the webhook
 * connection lookup, the queue consumer): the tenant's shard from the
 * directory (src/shards), as src/shards/tenant-db.ts does for requests.
 * Every queue message carries tenant_id for this.
 *
 * A tenant in a move's final phase is frozen for writes: the consumer's
 * write fails and the queue retries the message. A write the old shard's
 * fence refuses after the move switched is run again on the new shard
 * (`tenantSessionAfterFence`, src/webhooks/consumer.ts).
 */
import { tenantFrozen } from "../lib/errors";
import { shardBinding } from "../shards/config";
import { lookupPlacement, type Placement, refreshPlacement, resolvePlacement } from "../shards/directory";
import { createDb, type Database, type DbStats, newDbStats } from "./client";

// Webhook work reads what it is about to write: sessions start at the primary.
const openShard = (env: Env, shard: string, stats: DbStats) =>
  createDb(shardBinding(env, shard), "first-primary", stats);

/**
 * The tenant's database for a verified provider call (the queue consumer),
 * placing the tenant if the directory does not know it yet.
 */
export async function tenantDatabase(
  env: Env,
  tenantId: string,
  stats: DbStats = newDbStats(),
  access: "read" | "write" = "write",
): Promise<Database> {
  return (await tenantSession(env, tenantId, stats, access)).db;
}

/** A tenant's database and its subscription count (whether its changes go to the outbox, src/subscriptions). */
export interface TenantSession {
  db: Database;
  subscriptions: number;
}

const sessionOn = (env: Env, placement: Placement, stats: DbStats): TenantSession => ({
  db: openShard(env, placement.shard, stats),
  subscriptions: placement.subscriptions,
});

/** tenantDatabase, with the tenant's subscription count (the queue consumer's stores take the outbox by it). */
export async function tenantSession(
  env: Env,
  tenantId: string,
  stats: DbStats = newDbStats(),
  access: "read" | "write" = "write",
): Promise<TenantSession> {
  let placement = await resolvePlacement(env, tenantId, stats);
  if (access === "write" && placement.frozen && placement.cached) {
    // The cached entry may predate the switch: ask the directory before refusing.
    placement = { ...((await refreshPlacement(env, tenantId, stats)) ?? placement), cached: false };
  }
  if (access === "write" && placement.frozen) throw tenantFrozen();
  return sessionOn(env, placement, stats);
}

/**
 * After the fence of a tenant's old shard refused a write: the tenant's
 * database where the directory says it is now (re-read, bypassing the
 * cache); while the move is still frozen, `refusal` stands.
 */
export async function tenantSessionAfterFence(
  env: Env,
  tenantId: string,
  stats: DbStats,
  refusal: unknown,
): Promise<TenantSession> {
  const placement = await refreshPlacement(env, tenantId, stats);
  if (!placement || placement.frozen) throw refusal;
  return sessionOn(env, placement, stats);
}

/**
 * The tenant's database for a caller that is not verified yet (the webhook
 * connection lookup): undefined when the directory does not know the tenant,
 * which is never placed here. At most one directory read, none when cached
 * (src/shards/directory.ts, lookupPlacement).
 */
export async function knownTenantDatabase(
  env: Env,
  tenantId: string,
  stats: DbStats = newDbStats(),
): Promise<Database | undefined> {
  const placement = await lookupPlacement(env, tenantId, stats);
  return placement && openShard(env, placement.shard, stats);
}
