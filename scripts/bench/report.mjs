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
  const d = r.duties;
  if (d) {
    console.log(
      `Duties, workerd CPU ms per request (baselines): D1 session ${fmt(d.session, 2)}, two limit() in order ${fmt(d.limits, 2)} (at once: ${fmt(d.limitsAtOnce, 2)}), log line ${fmt(d.log, 2)} (as an object: ${fmt(d.logAsObject, 2)}); total ${fmt(d.total, 2)}.\n`,
    );
  }
  console.log(
    "| operation | total | p50 ms | req/s | vs its floor | vs 1-query floor | workerd CPU ms/req | = own D1 I/O | + duties | + ours | ours apart from the emulator |",
  );
  console.log("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
  const ratio = (x) => (x === undefined ? "–" : x.toFixed(2));
  for (const row of r.rows) {
    // A provider callback has other duties than the floors'; runs before this rule printed a ratio.
    const x = row.kind === "webhook" ? { ...row, ratio: undefined, dutiesCpu: undefined, oursCpu: undefined } : row;
    console.log(
      `| ${x.name} | ${fmt(x.total)} | ${fmt(x.p50, 1)} | ${fmt(x.rps)} | ${ratio(x.ratio)} | ${ratio(x.ratioOneQuery)} | ${fmt(x.cpuPerRequest, 2)} | ${fmt(x.ioCpu, 2)} | ${fmt(x.dutiesCpu, 2)} | ${fmt(x.oursCpu, 2)} | ${fmt(x.isolated?.ours, 3)} |`,
    );
  }
}
for (const r of results.filter((x) => x.export)) {
  const e = r.export;
  const mb = (bytes) => fmt(bytes / 1048576, 1);
  console.log(`\n### Export at N = ${fmt(r.n)} (NDJSON, median of ${e.lines.length} alternating runs)\n`);
  console.log("| | rows/s | vs bare Worker | first byte ms | total ms |");
  console.log("|---|--:|--:|--:|--:|");
  console.log(
    `| export (the app) | ${fmt(e.appRowsPerSecond)} | ×${e.ratio.toFixed(2)} | ${fmt(e.firstByteMs)} | ${fmt(e.ms)} |`,
  );
  console.log(`| bare Worker, same rows | ${fmt(e.floorRowsPerSecond)} | ×1.00 | | |`);
  console.log(
    "\n| isolate memory | V8 heap retained (after a full GC, export paused part-way) | V8 heap in use (peak) | workerd RSS (peak) |",
  );
  console.log("|---|--:|--:|--:|");
  const retained = (run) => (run.retained ?? []).map((x) => `${mb(x.heap)} MB at row ${fmt(x.lines)}`).join("; ");
  console.log(
    `| idle | ${mb(e.memory.idle.retained)} MB | ${mb(e.memory.idle.heap)} MB | ${mb(e.memory.idle.rss)} MB |`,
  );
  for (const run of [e.memory.rows1k, e.memory.rows10k, e.memory.all].filter(Boolean)) {
    console.log(`| export of ${fmt(run.lines)} rows | ${retained(run)} | ${mb(run.heap)} MB | ${mb(run.rss)} MB |`);
  }
}
console.log(
  `\nBundle: ${bundle.files.join(", ")} ${fmt(bundle.raw / 1024, 1)} KiB, gzip ${fmt(bundle.gzip / 1024, 1)} KiB` +
    (bundle.startupMs === undefined ? "" : `; isolate start-up ${fmt(bundle.startupMs, 1)} ms of CPU`),
);
