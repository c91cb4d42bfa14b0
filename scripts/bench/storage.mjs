#!/usr/bin/env node
/**
 * Bytes per communication, by what holds them: the table and its indexes,
 * the counters, and the search index (issue 20: its FTS5 shadow tables and
 * the document numbers). The real migrations are applied to an SQLite file
 * with node:sqlite, the bench's seed fills it (scripts/bench/seed.mjs, which
 * runs the triggers as D1 would), and SQLite's dbstat table says how many
 * bytes of pages each table and index uses.
 *
 *   node scripts/bench/storage.mjs [rows, default 100000]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { seed } from "./seed.mjs";

const ROOT = resolve(import.meta.dirname, "../..");
const n = Number((process.argv[2] ?? "100000").replace(/_/g, ""));
const dir = mkdtempSync(join(tmpdir(), "storage-"));
const file = join(dir, "shard.sqlite");
try {
  const db = new DatabaseSync(file);
  for (const migration of readdirSync(join(ROOT, "migrations")).sort()) {
    db.exec(readFileSync(join(ROOT, "migrations", migration), "utf8"));
  }
  db.close();
  const started = performance.now();
  seed(file, n);
  const seconds = (performance.now() - started) / 1000;
  const stats = new DatabaseSync(file);
  const rows = stats.prepare("SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC").all();
  const group = (name) =>
    name.startsWith("communication_search")
      ? "search index"
      : name.startsWith("communications")
        ? "communications"
        : "other";
  const groups = new Map();
  for (const { name, bytes } of rows) groups.set(group(name), (groups.get(group(name)) ?? 0) + bytes);
  const total = [...groups.values()].reduce((s, b) => s + b, 0);
  console.log(`${n.toLocaleString("en")} communications seeded in ${seconds.toFixed(1)} s; bytes per communication:`);
  for (const [name, bytes] of groups) console.log(`  ${name.padEnd(16)} ${(bytes / n).toFixed(0).padStart(6)}`);
  console.log(`  ${"total".padEnd(16)} ${(total / n).toFixed(0).padStart(6)}`);
  console.log("by table and index:");
  for (const { name, bytes } of rows) console.log(`  ${name.padEnd(40)} ${(bytes / n).toFixed(1).padStart(8)}`);
  stats.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
