import { readFileSync } from "node:fs";
import process from "node:process";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { unstable_readConfig } from "wrangler";

/** HS256 key used only by the test runtime. */
export const TEST_JWT_SECRET = "test-secret-for-vitest-only-0123456789abcdef";

/** AES-256 key (base64 of 32 bytes) for provider secrets at rest, test runtime only. */
export const TEST_PROVIDER_SECRETS_KEY = "dGVzdC1wcm92aWRlci1zZWNyZXRzLWtleS0zMmJ5dGU=";

// Wrangler, which reads wrangler.toml for the pool, logs "Using secrets
// defined in .dev.vars" once per test file when that file exists (after
// `npm run dev`); warnings and errors still print.
process.env.WRANGLER_LOG ??= "warn";

/**
 * Packages whose published source maps name source files they do not ship:
 * Vite would warn about each ("points to missing source files"). Their code
 * is loaded without the map, which could not show the sources anyway.
 */
const MAPS_WITHOUT_SOURCES = ["/node_modules/standardwebhooks/dist/"];
const dropMapsWithoutSources = {
  name: "drop-maps-without-sources",
  enforce: "pre" as const,
  load(id: string) {
    const file = id.split("?")[0] ?? id;
    if (!MAPS_WITHOUT_SOURCES.some((dir) => file.includes(dir)) || !file.endsWith(".js")) return null;
    return { code: readFileSync(file, "utf8").replace(/\/\/# sourceMappingURL=\S+\s*$/, ""), map: null };
  },
};
/**
 * What wrangler.toml says about the rate limits in each environment: the
 * `ratelimits` bindings and the *_RATE_LIMIT vars that restate them for the
 * response headers (test/middleware/ratelimit.test.ts checks they agree).
 */
function rateLimitConfig() {
  const read = (env?: string) => {
    const config = unstable_readConfig({ config: "./wrangler.toml", env }, { hideWarnings: true });
    return { vars: config.vars, ratelimits: config.ratelimits };
  };
  return JSON.stringify({ default: read(), bench: read("bench") });
}

export default defineConfig(async () => {
  // The real migrations, applied by test/support/setup.ts: tests never hand-write table SQL.
  const migrations = await readD1Migrations("./migrations");
  const directoryMigrations = await readD1Migrations("./migrations-directory");
  return {
    plugins: [
      dropMapsWithoutSources,
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            TEST_DIRECTORY_MIGRATIONS: directoryMigrations,
            JWT_SECRET: TEST_JWT_SECRET,
            // Small pages, so that the tests' tenant moves span several of them.
            MOVE_BATCH_ROWS: "4",
            // Small pages, so that the tests' erasures span several steps too.
            ERASURE_BATCH_ROWS: "4",
            PROVIDER_SECRETS_KEY: TEST_PROVIDER_SECRETS_KEY,
            // Events out: retries after 1 s instead of 5 s, 5 min, ... (3 retries, 4 attempts).
            OUTBOUND_RETRY_SCHEDULE: "1,1,1",
            // As in production, whatever a local .dev.vars says (`npm run dev` sets it to "true").
            OUTBOUND_ALLOW_LOOPBACK: "",
            TEST_RATE_LIMIT_CONFIG: rateLimitConfig(),
          },
          // An unmigrated D1 database: test/search/backfill.test.ts applies the
          // migrations before the search index, stores rows, then applies the rest.
          d1Databases: { MIGRATION_TEST: "migration-test" },
        },
      }),
    ],
    test: {
      setupFiles: ["./test/support/setup.ts"],
      // In the Vitest process: drops runtime output a test provoked on purpose
      // (test/support/expected-output.ts).
      globalSetup: ["./test/support/global-setup.ts"],
      include: ["test/**/*.test.ts"],
      // Request log lines (one per request, thousands per run) are shown only
      // for failing tests: a passing run prints the summary, a failing one
      // prints what its test logged.
      silent: "passed-only" as const,
      // A passing file prints nothing; a failing one prints its failing tests,
      // their errors and what they logged; then the summary. (`--reporter
      // default` lists every file.)
      reporters: ["minimal"],
      // Slow tests are not listed one by one (the machine is shared, so wall
      // time says little; the bench measures speed).
      slowTestThreshold: 60_000,
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
