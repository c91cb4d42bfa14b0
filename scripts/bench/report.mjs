#!/usr/bin/env node
/**
 * Markdown tables for BENCHMARKS.md from the JSON `npm run bench` writes:
 *   node scripts/bench/report.mjs [.wrangler/bench/results.json]
 */
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? ".wrangler/bench/results.json";
const { date, connections, duration, results, bundle } = JSON.parse(readFileSync(file, "utf8"));
const fmt = (n, digits = 0) =>
  n === undefined || n === null || Number.isNaN(n) ? "–" : n.toLocaleString("en-US", { maximumFractionDigits: digits });
const pct = (r) => (r === undefined || r === null ? "–" : `${fmt(r * 100)}%`);

console.log(`Run of ${date}: ${connections} connections, ${duration} s per operation.\n`);
console.log("### D1 rows per request (page of 20, `total` included)\n");
console.log(`| operation | ${results.map((r) => `read @ ${fmt(r.n)}`).join(" | ")} | 1M / 10k | written | queries |`);
console.log(`|---|${results.map(() => "--:").join("|")}|--:|--:|--:|`);
const first = results[0];
for (const row of first.rows.filter((r) => r.kind !== "baseline")) {
  const per = results.map((r) => r.rows.find((x) => x.name === row.name));
  const growth = (per.at(-1)?.rowsRead ?? 0) / Math.max(1, row.rowsRead ?? 0);
  console.log(
    `| ${row.name} | ${per.map((p) => fmt(p?.rowsRead)).join(" | ")} | ×${growth.toFixed(2)} | ${fmt(row.rowsWritten)} | ${fmt(row.queries)} |`,
  );
}
for (const r of results) {
  console.log(`\n### N = ${fmt(r.n)} (seeded in ${r.seedSeconds.toFixed(1)} s)\n`);
  console.log(
    "| operation | total | p50 ms | p99 ms | req/s | vs one D1 query | vs D1 query + 2 limit() | workerd CPU ms/req |",
  );
  console.log("|---|--:|--:|--:|--:|--:|--:|--:|");
  for (const x of r.rows) {
    console.log(
      `| ${x.name} | ${fmt(x.total)} | ${fmt(x.p50, 1)} | ${fmt(x.p99, 1)} | ${fmt(x.rps)} | ${pct(x.ratio)} | ${pct(x.ratioLimits)} | ${fmt(x.cpuPerRequest, 2)} |`,
    );
  }
}
console.log(
  `\nBundle: ${bundle.files.join(", ")} ${fmt(bundle.raw / 1024, 1)} KiB, gzip ${fmt(bundle.gzip / 1024, 1)} KiB`,
);
