#!/usr/bin/env node
/**
 * `npm run db:migrate:local` / `db:migrate:remote`: applies each D1
 * database's migrations, for every D1 binding in wrangler.toml (the
 * directory, with migrations-directory/, and every SHARD_<n>, with
 * migrations/), one `wrangler d1 migrations apply` each, in config order,
 * stopping at the first failure. Each database records what it applied in its
 * own d1_migrations table, so a rerun continues where a failure stopped.
 * Prints one line per database (what it applied, or that it is current);
 * wrangler's own output only with --verbose, or when a database fails.
 *
 *   node scripts/migrate.mjs --local [--persist-to DIR] [--env NAME] [--verbose] [other wrangler flags]
 *   node scripts/migrate.mjs --remote [--verbose]
 */
import { spawnSync } from "node:child_process";
import { unstable_readConfig } from "wrangler";
import { ROOT } from "./lib/local.mjs";

const verbose = process.argv.includes("--verbose");
const args = process.argv.slice(2).filter((a) => a !== "--verbose");
const envIndex = args.indexOf("--env");
const envName = envIndex >= 0 ? args[envIndex + 1] : undefined;
if (!args.includes("--local") && !args.includes("--remote")) {
  console.error("usage: node scripts/migrate.mjs --local|--remote [--persist-to DIR] [--env NAME] [--verbose]");
  process.exit(2);
}

const config = unstable_readConfig({ config: `${ROOT}/wrangler.toml`, env: envName }, {});
const databases = config.d1_databases ?? [];
if (databases.length === 0) {
  console.error("wrangler.toml declares no D1 database");
  process.exit(1);
}
const place = args.includes("--remote")
  ? "remote"
  : `local, ${args.includes("--persist-to") ? args[args.indexOf("--persist-to") + 1] : ".wrangler/state"}`;
for (const db of databases) {
  const run = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", db.binding, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, CI: "true", WRANGLER_HIDE_BANNER: "true" }, // never prompt
  });
  const output = `${run.stdout ?? ""}${run.stderr ?? ""}`;
  if (verbose || run.status !== 0) process.stdout.write(`\n== ${db.binding} (${db.database_name})\n${output}`);
  if (run.status !== 0) {
    console.error(`migrations failed on ${db.binding}; fix it and run the command again (applied ones are skipped)`);
    process.exit(run.status ?? 1);
  }
  // wrangler lists the migrations it applies in a table, and nothing when the database is current.
  const applied = [...new Set([...output.matchAll(/│\s*(\S+)\.sql\s*│/g)].map((m) => m[1]))];
  const dir = db.migrations_dir ?? "migrations";
  console.log(
    applied.length
      ? `${db.binding} (${place}): applied ${applied.length} from ${dir}/: ${applied.join(", ")}`
      : `${db.binding} (${place}): up to date with ${dir}/`,
  );
}
