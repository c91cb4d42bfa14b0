/**
 * The scheduled job's share of events out, on every shard:
 *  - sweep: events committed more than a minute ago that the queue never
 *    took (the queue refused, or the isolate stopped between the commit and
 *    the send) are dispatched now, to the subscriptions active now that
 *    existed when the event was committed;
 *  - purge: events and delivery rows older than 7 days go.
 * Tenants in a move's final phase (fenced on this shard) are left for the
 * next run; rows of a tenant this shard no longer serves (residue of a move)
 * are never sent.
 *
 * Cost: the sweep scans the shard's events for undispatched ones (reads,
 * a thousandth of the price of the index entry per event that would avoid
 * them; see migrations/0006_subscriptions.sql); the purge deletes in pages.
 */
import { createDb, type DbStats } from "../db/client";
import { eventIdFloor } from "../events/event";
import { log } from "../lib/logger";
import { resolvePlacement } from "../shards/directory";
import { dispatch, matches } from "./outbox";
import { EVENT_RETENTION_DAYS } from "./schemas";

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * An event younger than this may still be on its way: the consumer marks an
 * event dispatched when it records the event's first outcome, which a queue
 * backlog can delay. Older and still unmarked: the queue never took it (or
 * no subscription wanted it), and the job sends it.
 */
export const SWEEP_AFTER_MS = 10 * 60_000;
const PAGE = 500;
/** Pages per shard per run, each way: a bound on one run's work; the next run goes on. */
const MAX_PAGES = 40;

interface Undispatched {
  tenant_id: string;
  id: string;
  type: string;
  created_at: string;
}

export async function sweepUndispatched(env: Env, shard: string, db: D1Database, stats: DbStats, now = Date.now()) {
  const cutoff = new Date(now - SWEEP_AFTER_MS).toISOString();
  let sent = 0;
  let events = 0;
  const client = createDb(db, "first-primary", stats).$client;
  let after = ["", ""];
  for (let page = 0; page < MAX_PAGES; page++) {
    const { results } = await client
      .prepare(
        `SELECT tenant_id, id, type, created_at FROM subscription_events
         WHERE dispatched_at IS NULL AND created_at <= ? AND (tenant_id, id) > (?, ?)
           AND tenant_id NOT IN (SELECT tenant_id FROM tenant_fences)
         ORDER BY tenant_id, id LIMIT ?`,
      )
      .bind(cutoff, ...after, PAGE)
      .all<Undispatched>();
    const last = results.at(-1);
    if (!last) break;
    after = [last.tenant_id, last.id];
    const byTenant = new Map<string, Undispatched[]>();
    for (const r of results) byTenant.set(r.tenant_id, [...(byTenant.get(r.tenant_id) ?? []), r]);
    for (const [tenantId, list] of byTenant) {
      const placement = await resolvePlacement(env, tenantId, stats);
      if (placement.shard !== shard || placement.frozen) continue;
      const { results: subs } = await client
        .prepare("SELECT id, events, created_at FROM subscriptions WHERE tenant_id = ? AND status = 'active'")
        .bind(tenantId)
        .all<{ id: string; events: string; created_at: string }>();
      sent += await dispatch(
        env,
        tenantId,
        list.map((e) => ({
          id: e.id,
          subscriptionIds: subs
            .filter((s) => s.created_at <= e.created_at && matches(s.events, e.type))
            .map((s) => s.id),
        })),
        client,
      );
      events += list.length;
    }
    if (results.length < PAGE) break;
  }
  return { events, deliveries: sent };
}

export async function purgeExpiredEvents(db: D1Database, stats: DbStats, now = Date.now()) {
  const client = createDb(db, "first-primary", stats).$client;
  const cutoff = now - EVENT_RETENTION_DAYS * DAY_MS;
  const purge = async (sql: string, bound: string) => {
    let total = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await client.prepare(sql).bind(bound, PAGE).run();
      const n = result.meta.changes ?? 0;
      total += n;
      if (n < PAGE) break;
    }
    return total;
  };
  const events = await purge(
    `DELETE FROM subscription_events WHERE (tenant_id, id) IN (
       SELECT tenant_id, id FROM subscription_events
       WHERE created_at < ? AND tenant_id NOT IN (SELECT tenant_id FROM tenant_fences) LIMIT ?)`,
    new Date(cutoff).toISOString(),
  );
  // Delivery rows go with their event (event ids sort by time), those of deleted subscriptions included.
  const deliveries = await purge(
    `DELETE FROM subscription_deliveries WHERE (tenant_id, subscription_id, event_id) IN (
       SELECT tenant_id, subscription_id, event_id FROM subscription_deliveries
       WHERE event_id < ? AND tenant_id NOT IN (SELECT tenant_id FROM tenant_fences) LIMIT ?)`,
    eventIdFloor(cutoff),
  );
  return { events, deliveries };
}

/** Both, on one shard; each logged, neither stops the other. */
export async function runEventJobs(env: Env, shard: string, db: D1Database, stats: DbStats) {
  try {
    const swept = await sweepUndispatched(env, shard, db, stats);
    if (swept.events) log.info("dispatched events the queue had not taken", { shard, ...swept });
  } catch (err) {
    log.error("event sweep failed", { shard, error: err instanceof Error ? err.name : typeof err });
  }
  try {
    const purged = await purgeExpiredEvents(db, stats);
    log.info("purged expired events", { shard, ...purged });
  } catch (err) {
    log.error("event purge failed", { shard, error: err instanceof Error ? err.name : typeof err });
  }
}
