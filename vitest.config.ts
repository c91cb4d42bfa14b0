import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** HS256 key used only by the test runtime. */
export const TEST_JWT_SECRET = "test-secret-for-vitest-only-0123456789abcdef";

export default defineConfig(async () => {
  // The real migrations, applied by test/setup.ts: tests never hand-write table SQL.
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: { TEST_MIGRATIONS: migrations, JWT_SECRET: TEST_JWT_SECRET },
        },
      }),
    ],
    test: {
      setupFiles: ["./test/setup.ts"],
      include: ["test/**/*.test.ts"],
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
