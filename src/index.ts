/**
 * Worker entry: HTTP requests go to the Hono app; the cron purges expired
 * idempotency keys on every shard and runs the retention archive; TenantMove
 * is the Workflow class of tenant moves (wrangler.toml `workflows`).
 * The queue consumers apply provider webhook events and deliver events to
 * subscriptions (by the batch's queue name); the cron also sweeps status
 * events kept for communications not created yet, sends the events the
 * deliveries queue did not take and purges week-old ones, on every shard,
 * and indexes for search the communications older than the search index.
 */
import { app } from "./app";
import { archiveExpired } from "./archive/retention";
import { purgeExpiredKeys } from "./communications/idempotency";
import { createDb, d1Fields, newDbStats } from "./db/client";
import { log } from "./lib/logger";
import { backfillSearch } from "./search/backfill";
import { shardBinding, shardNames } from "./shards/config";
import { consumeEventDeliveries } from "./subscriptions/delivery";
import { runEventJobs } from "./subscriptions/jobs";
import { EVENT_DELIVERIES_QUEUE, type EventQueueMessage } from "./subscriptions/messages";

import { consumeWebhookEvents } from "./webhooks/consumer";
import type { QueueBody } from "./webhooks/events";
import { sweepPending } from "./webhooks/pending";

export { TenantMove } from "./shards/move";
/** The live stream's per-tenant fan-out (wrangler.toml `durable_objects`). */
export { StreamHub } from "./stream/hub";

async function purgeAllShards(env: Env) {
  const stats = newDbStats();
  let deleted = 0;
  for (const shard of shardNames(env)) {
    deleted += await purgeExpiredKeys(createDb(shardBinding(env, shard), undefined, stats));
  }
  log.info("purged idempotency keys", { deleted, d1: d1Fields(stats) });
}

async function sweepAllShards(env: Env) {
  for (const shard of shardNames(env)) {
    const pending = await sweepPending(env, createDb(shardBinding(env, shard), undefined, newDbStats()));
    log.info("swept pending provider events", { shard, ...pending });
  }
}

/** Events out: send what the queue did not take, purge what is older than 7 days (src/subscriptions/jobs.ts). */
async function eventJobsAllShards(env: Env) {
  for (const shard of shardNames(env)) {
    await runEventJobs(env, shard, shardBinding(env, shard), newDbStats());
  }
}

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    const work = Promise.all([
      purgeAllShards(env),
      archiveExpired(env),
      sweepAllShards(env),
      eventJobsAllShards(env),
      backfillSearch(env),
    ]);
    ctx.waitUntil(work);
    await work;
  },
  async queue(batch, env, ctx) {
    const waitUntil = (p: Promise<unknown>) => ctx.waitUntil(p);
    if (batch.queue === EVENT_DELIVERIES_QUEUE) {
      await consumeEventDeliveries(batch as MessageBatch<EventQueueMessage>, env, waitUntil);
      return;
    }
    await consumeWebhookEvents(batch as MessageBatch<QueueBody>, env, waitUntil);
  },
} satisfies ExportedHandler<Env>;
