/**
 * A tenant's database outside an HTTP request's context (the webhook
 * connection lookup, the queue consumer): the tenant's shard from the
 * directory (src/shards), as src/shards/tenant-db.ts does for requests.
 * Every queue message carries tenant_id for this. A tenant being moved is
 * frozen for writes: the consumer's write then fails and the queue retries
 * the message after the move.
 */
import { shardBinding } from "../shards/config";
import { resolvePlacement } from "../shards/directory";
import { createDb, type DbStats, newDbStats } from "./client";

export async function tenantDatabase(
  env: Env,
  tenantId: string,
  stats: DbStats = newDbStats(),
  access: "read" | "write" = "write",
) {
  return (await tenantSession(env, tenantId, stats, access)).db;
}

/** The database and the tenant's subscription count (whether its changes go to the outbox, src/subscriptions). */
export async function tenantSession(
  env: Env,
  tenantId: string,
  stats: DbStats = newDbStats(),
  access: "read" | "write" = "write",
) {
  const placement = await resolvePlacement(env, tenantId, stats);
  if (access === "write" && placement.frozen) throw new Error(`tenant ${tenantId} is being moved; retry later`);
  // Webhook work reads what it is about to write: start at the primary.
  return {
    db: createDb(shardBinding(env, placement.shard), "first-primary", stats),
    subscriptions: placement.subscriptions,
  };
}
