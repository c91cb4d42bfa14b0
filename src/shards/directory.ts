/**
 * The directory: tenant -> shard. Every request of a tenant goes to the shard
 * named here and to no other.
 *
 * Cached per isolate for DIRECTORY_TTL_MS: a tenant's entry is read from the
 * directory database at most once per isolate per minute, so on a warm
 * isolate routing costs no D1 read at all. The price is that a change (a
 * move's freeze or switch) reaches an isolate's cache only after one TTL; a
 * write that meets the move's fence meanwhile re-reads the entry at once
 * (refreshPlacement; src/shards/tenant-db.ts), and the move waits one TTL
 * before it deletes the source (src/shards/move.ts).
 *
 * Placement: a tenant seen for the first time goes to the configured shard
 * with the fewest tenants, ties to the lowest number. Only callers who may
 * create a tenant's data place it (resolvePlacement: authenticated staff and
 * system administrators, verified provider calls); everyone else looks the
 * tenant up without placing it (lookupPlacement), so an unauthenticated call
 * can never add a tenant (docs/security.md, "What an unauthenticated caller
 * can make the service do").
 */
import { eq, inArray, notInArray, sql } from "drizzle-orm";
import { createDb, type DbStats } from "../db/client";
import { type ShardName, shardNames } from "./config";
import { moves, shardLoad, tenants } from "./schema";

export const DIRECTORY_TTL_MS = 60_000;
/** Entries kept per isolate; the oldest is dropped beyond it (a Map keeps insertion order). */
const CACHE_LIMIT = 10_000;

export interface Placement {
  shard: ShardName;
  /** In a move's final phase: reads go on, writes answer 503 + Retry-After. */
  frozen: boolean;
  /**
   * The tenant's subscriptions (events out, src/subscriptions): above 0, each
   * change writes its event to the outbox in its own batch. Cached with the
   * rest, so a new subscription gets every change committed more than one
   * TTL after its creation.
   */
  subscriptions: number;
}

const cache = new Map<string, { placement: Placement; expires: number }>();

/**
 * Tenants the directory does not know, per isolate, for NOT_PLACED_TTL_MS: a
 * repeated lookup of the same unknown tenant (junk at one made-up webhook
 * URL) reads the directory once per isolate per window. A map of its own, so
 * made-up tenants never push real ones out of `cache`.
 */
export const NOT_PLACED_TTL_MS = 10_000;
const notPlaced = new Map<string, number>();

/** Forget every cached entry: what a fresh isolate sees. Tests use it in place of waiting a minute. */
export const forgetCachedPlacements = () => {
  cache.clear();
  notPlaced.clear();
};

/** Keeps the newest CACHE_LIMIT entries of a Map (insertion order is age). */
function remember<V>(map: Map<string, V>, key: string, value: V) {
  map.delete(key);
  if (map.size >= CACHE_LIMIT) map.delete(map.keys().next().value as string);
  map.set(key, value);
}

const cachePlacement = (tenantId: string, placement: Placement) => {
  notPlaced.delete(tenantId);
  remember(cache, tenantId, { placement, expires: Date.now() + DIRECTORY_TTL_MS });
};

/** Forget one tenant's entry: this isolate's next request of it reads the directory. */
export const forgetCachedPlacement = (tenantId: string) => cache.delete(tenantId);

const placementColumns = { shard: tenants.shard, frozen: tenants.frozen, subscriptions: tenants.subscriptions };

export const directoryDb = (env: Env, stats: DbStats) => createDb(env.DIRECTORY, "first-primary", stats);

/**
 * Tenants with a move under way: the scheduled jobs (retention, redaction,
 * the search backfill) leave them alone, since their writes would be fenced
 * and the move copies what they would change.
 */
export async function tenantsBeingMoved(env: Env, stats: DbStats): Promise<Set<string>> {
  const rows = await directoryDb(env, stats)
    .select({ tenant_id: moves.tenant_id })
    .from(moves)
    .where(notInArray(moves.status, ["done", "failed"]));
  return new Set(rows.map((m) => m.tenant_id));
}

/** Reads the directory, bypassing the cache (moves and admin routes need the current state). */
export async function readPlacement(env: Env, tenantId: string, stats: DbStats): Promise<Placement | undefined> {
  const [row] = await directoryDb(env, stats)
    .select(placementColumns)
    .from(tenants)
    .where(eq(tenants.tenant_id, tenantId))
    .limit(1);
  return row;
}

/** The shard a new tenant goes to: the fewest tenants, ties to the lowest-numbered shard. */
export async function chooseShard(env: Env, stats: DbStats): Promise<ShardName> {
  const names = shardNames(env);
  const loads = await directoryDb(env, stats).select().from(shardLoad).where(inArray(shardLoad.shard, names));
  const load = new Map(loads.map((l) => [l.shard, l.tenants]));
  let best = names[0];
  if (!best) throw new Error("no SHARD_<n> D1 binding is configured");
  for (const name of names) if ((load.get(name) ?? 0) < (load.get(best) ?? 0)) best = name;
  return best;
}

/** Records `tenantId` on a shard unless another request placed it first; returns the winner. */
async function place(env: Env, tenantId: string, stats: DbStats): Promise<Placement> {
  const shard = await chooseShard(env, stats);
  const db = directoryDb(env, stats);
  const [, [row]] = await db.batch([
    db
      .insert(tenants)
      .values({ tenant_id: tenantId, shard, frozen: false, created_at: new Date().toISOString(), subscriptions: 0 })
      .onConflictDoNothing(),
    db.select(placementColumns).from(tenants).where(eq(tenants.tenant_id, tenantId)),
  ]);
  if (!row) throw new Error("directory insert returned no row");
  return row;
}

/** A fresh cache entry, if any. */
function cached(tenantId: string): Placement | undefined {
  const hit = cache.get(tenantId);
  return hit && hit.expires > Date.now() ? hit.placement : undefined;
}

/**
 * The tenant's shard for a caller that may place it (authenticated staff or
 * system administrator, a verified provider call): from the isolate's cache
 * when fresh, else from the directory, placing the tenant if it is new.
 * `cached` says which, for the Server-Timing header.
 */
export async function resolvePlacement(
  env: Env,
  tenantId: string,
  stats: DbStats,
): Promise<Placement & { cached: boolean }> {
  const hit = cached(tenantId);
  if (hit) return { ...hit, cached: true };
  const placement = (await readPlacement(env, tenantId, stats)) ?? (await place(env, tenantId, stats));
  cachePlacement(tenantId, placement);
  return { ...placement, cached: false };
}

/**
 * Records the tenant's subscription count (src/subscriptions/handlers.ts).
 * `raise` only ever increases it: a create raises the count after its insert,
 * a delete sets it after its delete and then raises it again to what the
 * shard holds, so concurrent creates and deletes never leave 0 in the
 * directory while the shard holds a subscription (0 would keep the tenant's
 * changes out of the outbox). This isolate forgets its cached entry at once;
 * others within DIRECTORY_TTL_MS.
 */
export async function recordSubscriptionCount(
  env: Env,
  tenantId: string,
  count: number,
  mode: "raise" | "set",
  stats: DbStats,
) {
  await directoryDb(env, stats)
    .update(tenants)
    .set({ subscriptions: mode === "raise" ? sql`max(${tenants.subscriptions}, ${count})` : count })
    .where(eq(tenants.tenant_id, tenantId))
    .run();
  forgetCachedPlacement(tenantId);
}

/**
 * The tenant's shard if the directory knows it; never places it. Costs at
 * most one primary-key read of the directory, and none when the answer (the
 * tenant's shard, or that it is unknown) is cached.
 */
export async function lookupPlacement(
  env: Env,
  tenantId: string,
  stats: DbStats,
): Promise<(Placement & { cached: boolean }) | undefined> {
  const hit = cached(tenantId);
  if (hit) return { ...hit, cached: true };
  const now = Date.now();
  const unknownUntil = notPlaced.get(tenantId);
  if (unknownUntil !== undefined && unknownUntil > now) return undefined;
  const placement = await readPlacement(env, tenantId, stats);
  if (!placement) {
    remember(notPlaced, tenantId, now + NOT_PLACED_TTL_MS);
    return undefined;
  }
  cachePlacement(tenantId, placement);
  return { ...placement, cached: false };
}

/**
 * Re-reads the tenant's entry, bypassing the cache, and caches the answer:
 * after a write met the move's fence (the tenant moved, or is about to), or
 * when the cached entry says "frozen" and a write wants to know whether the
 * move has switched since.
 */
export async function refreshPlacement(env: Env, tenantId: string, stats: DbStats): Promise<Placement | undefined> {
  const placement = await readPlacement(env, tenantId, stats);
  if (placement) cachePlacement(tenantId, placement);
  return placement;
}
