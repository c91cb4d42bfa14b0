import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      TEST_DIRECTORY_MIGRATIONS: D1Migration[];
      /** wrangler.toml's rate-limit bindings and vars per environment, as JSON (vitest.config.ts). */
      TEST_RATE_LIMIT_CONFIG: string;
      /** An unmigrated D1 database (vitest.config.ts): test/search/backfill.test.ts. */
      MIGRATION_TEST: D1Database;
    }
  }
}
