import { defineConfig } from "vitest/config";

/**
 * The console's tests in a real browser (test/console/e2e/): headless
 * Chromium (Debian's package) driven by playwright-core, against the Worker
 * served by `wrangler dev` (test/console/e2e/server.ts). They run in Node,
 * beside the workerd suite of vitest.config.ts; `npm test` runs both.
 */
export default defineConfig({
  test: {
    include: ["test/console/e2e/**/*.e2e.ts"],
    environment: "node",
    globalSetup: ["test/console/e2e/server.ts"],
    // One file at a time: each drives its own browser, and the machine is small.
    fileParallelism: false,
    silent: "passed-only" as const,
    slowTestThreshold: 60_000,
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
