import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** HS256 key used only by the test runtime. */
export const TEST_JWT_SECRET = "test-secret-for-vitest-only-0123456789abcdef";

/** AES-256 key (base64 of 32 bytes) for provider secrets at rest, test runtime only. */
export const TEST_PROVIDER_SECRETS_KEY = "dGVzdC1wcm92aWRlci1zZWNyZXRzLWtleS0zMmJ5dGU=";

export default defineConfig(async () => {
  // The real migrations, applied by test/support/setup.ts: tests never hand-write table SQL.
  const migrations = await readD1Migrations("./migrations");
  const directoryMigrations = await readD1Migrations("./migrations-directory");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            TEST_DIRECTORY_MIGRATIONS: directoryMigrations,
            JWT_SECRET: TEST_JWT_SECRET,
            // Small pages, so that the tests' tenant moves span several of them.
            MOVE_BATCH_ROWS: "4",
            PROVIDER_SECRETS_KEY: TEST_PROVIDER_SECRETS_KEY,
          },
          // An unmigrated D1 database: test/search/backfill.test.ts applies the
          // migrations before the search index, stores rows, then applies the rest.
          d1Databases: { MIGRATION_TEST: "migration-test" },
        },
      }),
    ],
    test: {
      setupFiles: ["./test/support/setup.ts"],
      include: ["test/**/*.test.ts"],
      // Request log lines (one per request, thousands per run) are shown only
      // for failing tests: a passing run prints the summary, a failing one
      // prints what its test logged.
      silent: "passed-only" as const,
      // One line per file; slow tests are not listed one by one (the
      // machine is shared, so wall time says little; the bench measures speed).
      slowTestThreshold: 60_000,
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
