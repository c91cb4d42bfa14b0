/**
 * The one place a request reaches a shard: the tenant's shard from the
 * directory, opened as a D1 session. No route touches a D1 binding itself.
 *
 * Bookmarks name their shard (`SHARD_1:<D1 bookmark>`): a D1 bookmark only
 * means something to the database that issued it. One for another shard
 * (the tenant moved since) or without a shard (issued before sharding)
 * starts the session at the primary, which sees every committed write.
 */
import type { Context } from "hono";
import { createDb, type Database } from "../db/client";
import type { AuthedEnv } from "../env";
import { tenantFrozen } from "../lib/errors";
import { shardBinding } from "./config";
import { resolvePlacement } from "./directory";

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

/** The request's session on `tenantId`'s shard (opened once per request). */
export async function tenantDb(c: Context<AuthedEnv>, tenantId: string, access: Access): Promise<Database> {
  const open = c.var.shard;
  if (open && open.tenantId === tenantId && (access === "read" || !open.frozen)) return open.db;
  const placement = await resolvePlacement(c.env, tenantId, c.var.dbStats);
  c.set("directoryCached", placement.cached);
  if (access === "write" && placement.frozen) {
    throw tenantFrozen();
  }
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
