/**
 * Worker entry: HTTP requests go to the Hono app; the cron purges expired
 * idempotency keys on every shard and runs the retention archive; TenantMove
 * is the Workflow class of tenant moves (wrangler.toml `workflows`).
 * The queue consumers apply provider webhook events and deliver events to
 * subscriptions (by the batch's queue name); the cron also sweeps status
 * events kept for communications not created yet, sends the events the
 * deliveries queue did not take and purges week-old ones, on every shard,
 * and indexes for search the communications older than the search index.
 * The cron also does the privacy housekeeping (audit outbox, erasures to
 * resume, tombstones, redaction); CustomerErasure is the Workflow of erasures.
 */
import { app } from "./app";
import { archiveExpired } from "./archive/retention";
import { deliverAuditOutbox } from "./audit/outbox";
import { purgeExpiredKeys } from "./communications/idempotency";
import { createDb, d1Fields, newDbStats } from "./db/client";
import { log } from "./lib/logger";
import { resumeErasures } from "./privacy/erasure";
import { redactDue } from "./privacy/redaction";
import { purgeTombstones } from "./privacy/tombstones";
import { backfillSearch } from "./search/backfill";
import { shardBinding, shardNames } from "./shards/config";
import { consumeEventDeliveries } from "./subscriptions/delivery";
import { runEventJobs } from "./subscriptions/jobs";
import { EVENT_DELIVERIES_QUEUE, type EventQueueMessage } from "./subscriptions/messages";

import { consumeWebhookEvents } from "./webhooks/consumer";
import type { QueueBody } from "./webhooks/events";
import { sweepPending } from "./webhooks/pending";

export { CustomerErasure } from "./privacy/erasure-workflow";
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

/**
 * Privacy (issue 21): audit entries of moves still in the directory's
 * outbox, erasures whose Workflow must be (re)started, tombstones past
 * their days, then the retention archive and after it the redaction job
 * (which rewrites archived days: after the archive, never beside it).
 */
async function privacyHousekeeping(env: Env) {
  const delivered = await deliverAuditOutbox(env);
  let resumed = 0;
  let purged = 0;
  for (const shard of shardNames(env)) {
    const db = createDb(shardBinding(env, shard), "first-primary", newDbStats());
    resumed += await resumeErasures(env, db);
    purged += await purgeTombstones(db);
  }
  log.info("privacy housekeeping", {
    audit_entries_delivered: delivered,
    erasures_resumed: resumed,
    tombstones_purged: purged,
  });
}

async function archiveThenRedact(env: Env) {
  await archiveExpired(env);
  await redactDue(env);
}

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    const work = Promise.all([
      purgeAllShards(env),
      archiveThenRedact(env),
      sweepAllShards(env),
      eventJobsAllShards(env),
      privacyHousekeeping(env),
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
