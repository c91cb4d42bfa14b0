/** Worker entry: HTTP requests go to the Hono app; the cron purges expired idempotency keys. */
import { app } from "./app";
import { purgeExpiredKeys } from "./communications/idempotency";
import { createDb, d1Fields, newDbStats } from "./db/client";
import { log } from "./lib/logger";

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    const stats = newDbStats();
    const purge = purgeExpiredKeys(createDb(env.DB, undefined, stats)).then((deleted) =>
      log.info("purged idempotency keys", { deleted, d1: d1Fields(stats) }),
    );
    ctx.waitUntil(purge);
    await purge;
  },
} satisfies ExportedHandler<Env>;
