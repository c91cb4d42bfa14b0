/**
 * The one place a request reaches a shard: the tenant's shard from the
 * directory, opened as a D1 session. No route touches a D1 binding itself.
 *
 * Bookmarks name their shard (`SHARD_1:<D1 bookmark>`): a D1 bookmark only
 * means something to the database that issued it. One for another shard
 * (the tenant moved since) or without a shard (issued before sharding)
 * starts the session at the primary, which sees every committed write.
 *
 * Writes during and after a tenant move (src/shards/move.ts): a write that
 * the source shard's fence refuses re-reads the tenant's placement, bypassing
 * the isolate's cache, and runs again on the new shard in the same request
 * once the move has switched (`onTenantShard`); a cached "frozen" entry is
 * re-read before a write is refused. Only the move's final phase, between
 * its freeze and its switch, answers writes with 503 + Retry-After.
 */
import type { Context } from "hono";
import { canReadTenant } from "../auth/principal";
import { createDb, type Database } from "../db/client";
import type { AuthedEnv } from "../env";
import { isFenceRefusal } from "../lib/error-handler";
import { tenantFrozen } from "../lib/errors";
import { log } from "../lib/logger";
import { shardBinding, shardNames } from "./config";
import { lookupPlacement, type Placement, refreshPlacement, resolvePlacement } from "./directory";

/** `SHARD_1:0000000a-...` -> shard and bookmark; a bare bookmark has no shard. */
export function parseBookmark(header: string): { shard?: string; bookmark: string } {
  const colon = header.indexOf(":");
  return colon < 0 ? { bookmark: header } : { shard: header.slice(0, colon), bookmark: header.slice(colon + 1) };
}

/**
 * Where a session without a usable bookmark starts. Reads may start on any
 * replica. Writes go to the primary anyway, and PATCH reads the row before
 * writing it: starting at the primary means a provider callback arriving
 * right after the create finds the row (a lagging replica would answer 404).
 */
const sessionStart = (method: string) => (method === "GET" || method === "HEAD" ? undefined : "first-primary");

export type Access = "read" | "write";

/** Opens the request's session on `placement`'s shard and remembers it for the request. */
function open(c: Context<AuthedEnv>, tenantId: string, placement: Placement): Database {
  const given = c.var.bookmark ? parseBookmark(c.var.bookmark) : undefined;
  const start = given
    ? given.shard === placement.shard
      ? given.bookmark
      : "first-primary"
    : sessionStart(c.req.method);
  const db = createDb(shardBinding(c.env, placement.shard), start, c.var.dbStats);
  c.set("shard", {
    tenantId,
    name: placement.shard,
    frozen: placement.frozen,
    subscriptions: placement.subscriptions,
    db,
  });
  return db;
}

/**
 * The request's session on `tenantId`'s shard (opened once per request).
 *
 * Who places a tenant the directory does not know: staff and system
 * administrators (every caller that may write). A customer's request for such
 * a tenant places nothing; it is answered as a tenant without communications
 * would be (an empty list, 404 by id), from the first shard, which holds no
 * row of that tenant (no shard does).
 */
export async function tenantDb(c: Context<AuthedEnv>, tenantId: string, access: Access): Promise<Database> {
  const current = c.var.shard;
  if (current && current.tenantId === tenantId && (access === "read" || !current.frozen)) return current.db;
  const mayPlace = canReadTenant(c.var.principal);
  let placement = mayPlace
    ? await resolvePlacement(c.env, tenantId, c.var.dbStats)
    : await lookupPlacement(c.env, tenantId, c.var.dbStats);
  if (!placement) {
    c.set("directoryCached", false);
    // Unreachable: every caller with a write permission may place a tenant.
    if (access === "write") throw new Error("a caller that may not place a tenant asked to write");
    return open(c, tenantId, { shard: shardNames(c.env)[0] as string, frozen: false, subscriptions: 0 });
  }
  c.set("directoryCached", placement.cached);
  if (access === "write" && placement.frozen && placement.cached) {
    // The cached entry may predate the switch: ask the directory before refusing.
    const fresh = await refreshPlacement(c.env, tenantId, c.var.dbStats);
    if (fresh) placement = { ...fresh, cached: false };
  }
  if (access === "write" && placement.frozen) throw tenantFrozen();
  return open(c, tenantId, placement);
}

/**
 * Runs `work` on the tenant's shard. A write the shard's fence refuses (this
 * isolate's placement predates a move's switch) is run once more on the
 * shard the directory names now, if the move has switched (or rolled back);
 * while the move is still frozen the refusal stands (503 + Retry-After). A
 * refused statement or batch changed nothing, so running `work` again writes
 * once; `work` must not have committed anything on the old shard before the
 * refusal, which holds for every caller here (one batch, or reads then one
 * batch).
 */
export async function onTenantShard<T>(
  c: Context<AuthedEnv>,
  tenantId: string,
  access: Access,
  work: (db: Database) => Promise<T>,
): Promise<T> {
  const db = await tenantDb(c, tenantId, access);
  try {
    return await work(db);
  } catch (err) {
    if (access !== "write" || !isFenceRefusal(err)) throw err;
    const from = c.var.shard?.name;
    const placement = await refreshPlacement(c.env, tenantId, c.var.dbStats);
    if (!placement || placement.frozen) throw err;
    log.info("write sent again after a tenant move", {
      request_id: c.var.requestId,
      tenant_id: tenantId,
      from,
      to: placement.shard,
    });
    c.set("directoryCached", false);
    return await work(open(c, tenantId, placement));
  }
}
