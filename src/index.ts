/**
 * Worker entry: HTTP requests go to the Hono app; the cron purges expired
 * idempotency keys on every shard and runs the retention archive; TenantMove
 * is the Workflow class of tenant moves (wrangler.toml `workflows`).
 * The queue consumer applies provider webhook events; the cron also sweeps
 * status events kept for communications not created yet, on every shard,
 * and indexes for search the communications older than the search index.
 */
import { app } from "./app";
import { archiveExpired } from "./archive/retention";
import { purgeExpiredKeys } from "./communications/idempotency";
import { createDb, d1Fields, newDbStats } from "./db/client";
import { log } from "./lib/logger";
import { backfillSearch } from "./search/backfill";
import { shardBinding, shardNames } from "./shards/config";

import { consumeWebhookEvents } from "./webhooks/consumer";
import type { WebhookMessage } from "./webhooks/events";
import { sweepPending } from "./webhooks/pending";

export { TenantMove } from "./shards/move";

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

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    const work = Promise.all([purgeAllShards(env), archiveExpired(env), sweepAllShards(env), backfillSearch(env)]);
    ctx.waitUntil(work);
    await work;
  },
  async queue(batch, env, ctx) {
    await consumeWebhookEvents(batch as MessageBatch<WebhookMessage>, env, (p) => ctx.waitUntil(p));
  },
} satisfies ExportedHandler<Env>;
