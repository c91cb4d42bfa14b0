/**
 * Worker entry: HTTP requests go to the Hono app; the cron purges expired
 * idempotency keys on every shard and runs the retention archive; TenantMove
 * is the Workflow class of tenant moves (wrangler.toml `workflows`).
 */
import { app } from "./app";
import { archiveExpired } from "./archive/retention";
import { purgeExpiredKeys } from "./communications/idempotency";
import { createDb, d1Fields, newDbStats } from "./db/client";
import { log } from "./lib/logger";
import { shardBinding, shardNames } from "./shards/config";

export { TenantMove } from "./shards/move";

async function purgeAllShards(env: Env) {
  const stats = newDbStats();
  let deleted = 0;
  for (const shard of shardNames(env)) {
    deleted += await purgeExpiredKeys(createDb(shardBinding(env, shard), undefined, stats));
  }
  log.info("purged idempotency keys", { deleted, d1: d1Fields(stats) });
}

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    const work = Promise.all([purgeAllShards(env), archiveExpired(env)]);
    ctx.waitUntil(work);
    await work;
  },
} satisfies ExportedHandler<Env>;
