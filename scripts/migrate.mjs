#!/usr/bin/env node
/**
 * `npm run db:migrate:local` / `db:migrate:remote`: applies each D1
 * database's migrations, for every D1 binding in wrangler.toml (the
 * directory, with migrations-directory/, and every SHARD_<n>, with
 * migrations/), one `wrangler d1 migrations apply` each, in config order,
 * stopping at the first failure. Each database records what it applied in its
 * own d1_migrations table, so a rerun continues where a failure stopped.
 *
 *   node scripts/migrate.mjs --local [--persist-to DIR] [--env NAME] [other wrangler flags]
 *   node scripts/migrate.mjs --remote
 */
import { spawnSync } from "node:child_process";
import { unstable_readConfig } from "wrangler";
import { ROOT } from "./lib/local.mjs";

const args = process.argv.slice(2);
const envIndex = args.indexOf("--env");
const envName = envIndex >= 0 ? args[envIndex + 1] : undefined;
if (!args.includes("--local") && !args.includes("--remote")) {
  console.error("usage: node scripts/migrate.mjs --local|--remote [--persist-to DIR] [--env NAME]");
  process.exit(2);
}

const config = unstable_readConfig({ config: `${ROOT}/wrangler.toml`, env: envName }, {});
const databases = config.d1_databases ?? [];
if (databases.length === 0) {
  console.error("wrangler.toml declares no D1 database");
  process.exit(1);
}
for (const db of databases) {
  console.log(`\n== ${db.binding} (${db.database_name}, ${db.migrations_dir ?? "migrations"})`);
  const run = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", db.binding, ...args], {
    cwd: ROOT,
    stdio: "inherit",
    env: { ...process.env, CI: "true" }, // never prompt
  });
  if (run.status !== 0) {
    console.error(`migrations failed on ${db.binding}; fix it and run the command again (applied ones are skipped)`);
    process.exit(run.status ?? 1);
  }
}
