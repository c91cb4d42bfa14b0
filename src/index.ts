/** Worker entry: HTTP requests go to the Hono app; the cron purges expired idempotency keys. */
import { app } from "./app";
import { purgeExpiredKeys } from "./communications/idempotency";
import { createDb, newDbStats } from "./db/client";

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    const stats = newDbStats();
    const purge = purgeExpiredKeys(createDb(env.DB, undefined, stats)).then((deleted) =>
      console.log(JSON.stringify({ level: "info", msg: "purged idempotency keys", deleted, d1: stats })),
    );
    ctx.waitUntil(purge);
    await purge;
  },
} satisfies ExportedHandler<Env>;
