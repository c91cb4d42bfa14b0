#!/usr/bin/env node
/**
 * `npm run bench`: cost and throughput of the API as a tenant grows.
 *
 * For each size N (default 10k, 100k, 1M):
 *  1. a fresh local D1 under .wrangler/bench/n<N> (the real migrations),
 *     seeded in bulk with N communications of one tenant (scripts/bench/seed.mjs);
 *  2. `wrangler dev` of bench/worker.ts on 127.0.0.1: the real app plus two
 *     baselines in the same workerd, /__bench/static and /__bench/d1;
 *  3. every operation of the mix is probed once for its D1 cost (the
 *     Server-Timing header: queries, rows read, rows written), then loaded
 *     with autocannon for --duration seconds (latency p50/p99, throughput).
 * The summary compares rows read per list shape across sizes and each
 * operation's throughput with the one-query baseline of the same run.
 *
 * Options: --sizes 10000,100000,1000000  --duration 4  --connections 16
 *          --port 8810  --keep (leave the seeded databases on disk)
 *          --json <file> (default .wrangler/bench/results.json)
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import autocannon from "autocannon";
import { mintToken, ROOT } from "./lib/local.mjs";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 5)) {
  console.error(
    `bench needs Node >= 22.5 (node:sqlite); this is ${process.version}. Run it through \`npm run bench\`.`,
  );
  process.exit(1);
}
const { BENCH_TENANT, customerId, deliveryId, MESSAGES_PER_DAY, seed } = await import("./bench/seed.mjs");

const { values: opts } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000,1000000" },
    duration: { type: "string", default: "3" },
    connections: { type: "string", default: "16" },
    port: { type: "string", default: "8810" },
    keep: { type: "boolean", default: false },
    json: { type: "string", default: ".wrangler/bench/results.json" },
  },
});
const SIZES = opts.sizes.split(",").map((s) => Number(s.replace(/_/g, "")));
const DURATION = Number(opts.duration);
const CONNECTIONS = Number(opts.connections);
const PORT = Number(opts.port);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const BASE = `${ORIGIN}/delivery/customer-communications`;
/** The bench is the `bench` environment of wrangler.toml (its entry is bench/worker.ts). */
const ENV = ["--env", "bench"];
const SECRET = randomBytes(32).toString("hex");
const DAY = 86_400_000;

const log = (...args) => console.error(...args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cursorAt = (id, order = "desc") => Buffer.from(`${order === "desc" ? "d" : "a"}:${id}`).toString("base64url");

function wrangler(args, extra = {}) {
  const res = spawnSync("wrangler", args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
    ...extra,
  });
  if (res.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed:\n${res.stdout}\n${res.stderr}`);
  return res;
}

/** Fresh database for size n: migrations applied by wrangler, then the bulk seed. */
function prepareDatabase(n, now) {
  const dir = resolve(ROOT, `.wrangler/bench/n${n}`);
  rmSync(dir, { recursive: true, force: true });
  wrangler(["d1", "migrations", "apply", "DB", "--local", ...ENV, "--persist-to", dir]);
  const d1Dir = resolve(dir, "v3/d1/miniflare-D1DatabaseObject");
  const file = readdirSync(d1Dir).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
  if (!file) throw new Error(`no D1 database file under ${d1Dir}`);
  const started = performance.now();
  const seeded = seed(resolve(d1Dir, file), n, now);
  return { dir, seedMs: performance.now() - started, ...seeded };
}

/**
 * Bundles bench/worker.ts once, the way `wrangler deploy` does, and serves
 * that file with --no-bundle: the bench runs the deployed code, and edits
 * to src/ during a run do not rebuild and restart the Worker.
 */
function buildWorker() {
  const out = resolve(ROOT, ".wrangler/bench/worker");
  rmSync(out, { recursive: true, force: true });
  wrangler(["deploy", "--dry-run", ...ENV, "--outdir", out]);
  return resolve(out, "worker.js");
}

async function startWorker(dir, script) {
  const child = spawn(
    "wrangler",
    [
      "dev",
      script,
      "--no-bundle",
      ...ENV,
      "--ip",
      "127.0.0.1",
      "--port",
      String(PORT),
      "--inspector-port",
      String(PORT + 1),
      "--persist-to",
      dir,
      "--var",
      `JWT_SECRET:${SECRET}`,
      "--show-interactive-dev-session=false",
      "--log-level",
      "warn",
    ],
    {
      cwd: ROOT,
      detached: true, // own process group: stopped with everything it spawned
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
    },
  );
  let output = "";
  // Drain: the app's JSON log lines arrive here (one per request).
  child.stdout.on("data", () => {});
  child.stderr.on("data", (d) => {
    output = (output + d).slice(-4000);
  });
  const stop = () => {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
  };
  process.once("exit", stop);
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${output}`);
    try {
      const res = await fetch(`${ORIGIN}/__bench/static`);
      if (res.ok) return { stop, pgid: child.pid, exited: new Promise((r) => child.once("exit", r)) };
    } catch {}
    await sleep(200);
  }
  stop();
  throw new Error(`wrangler dev did not answer on ${ORIGIN}:\n${output}`);
}

/**
 * CPU time (user + system, ms) of the workerd that runs the Worker (the one
 * wrangler starts with an inspector; the other serves wrangler's proxy).
 * CPU per request does not depend on what else the machine is doing, unlike
 * throughput, so it is reported next to it.
 */
function workerCpu(pgid) {
  const out = spawnSync("pgrep", ["-g", String(pgid), "workerd"], { encoding: "utf8" })
    .stdout.trim()
    .split("\n");
  const sample = { pids: "", ms: 0 };
  for (const pid of out.filter(Boolean)) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--inspector-addr")) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      sample.pids += `${pid} `;
      sample.ms += (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
    } catch {}
  }
  return sample;
}

/** `d1;dur=..;desc="Q queries, R rows read, W rows written"` -> numbers. */
function parseCost(header) {
  const m = /(\d+) queries, (\d+) rows read, (\d+) rows written/.exec(header ?? "");
  return m ? { queries: Number(m[1]), rowsRead: Number(m[2]), rowsWritten: Number(m[3]) } : undefined;
}

function createBody() {
  return {
    customer_id: customerId(7),
    delivery_id: randomUUID(),
    type: "sms",
    direction: "outbound",
    status: "sent",
    content: "Your delivery #1234 is on its way and will arrive between 2-4pm today.",
    communication_details: {
      sender: { system_component: "delivery_notifications", phone: "+15551234567" },
      recipient: { phone: "+19876543210", name: "John Doe" },
      template_id: "delivery-on-way",
      template_variables: { delivery_id: "1234", delivery_window: "2-4pm" },
    },
  };
}

/** The operations of the mix: list shapes (limit 20) and creates. */
function operations({ admin, customer, middleId, now }) {
  const iso = (ms) => new Date(ms).toISOString();
  const day = `created_after=${iso(now - 3 * DAY)}&created_before=${iso(now - 2 * DAY)}`;
  const list = (name, query, token = admin) => ({
    kind: "list",
    name,
    method: "GET",
    url: `${BASE}?limit=20${query}`,
    token,
  });
  return [
    list("list: no filter, first page", ""),
    list("list: type=call", "&type=call"),
    list("list: status=failed", "&status=failed"),
    list("list: direction=inbound", "&direction=inbound"),
    list("list: customer_id (staff)", `&customer_id=${customerId(1)}`),
    list("list: customer token (own rows)", "", customer),
    list("list: delivery_id", `&delivery_id=${deliveryId(10)}`),
    list("list: type=sms+status=delivered", "&type=sms&status=delivered"),
    list("list: email+inbound+read", "&type=email&direction=inbound&status=read"),
    list("list: customer_id+status=read", `&customer_id=${customerId(1)}&status=read`),
    list("list: date range (one day)", `&${day}`),
    list("list: date range + type=email", `&${day}&type=email`),
    list("list: deep page by cursor", `&cursor=${cursorAt(middleId)}`),
    list("list: deep cursor + type=sms", `&type=sms&cursor=${cursorAt(middleId)}`),
    list("list: sort asc, first page", "&sort_order=asc"),
    list("list: page=50 (offset)", "&page=50"),
    { kind: "create", name: "create", method: "POST", url: BASE, token: admin, body: createBody() },
    {
      kind: "create",
      name: "create + Idempotency-Key",
      method: "POST",
      url: BASE,
      token: admin,
      body: createBody(),
      idempotent: true,
    },
  ];
}

function headersOf(op) {
  const headers = { authorization: `Bearer ${op.token}` };
  if (op.body) headers["content-type"] = "application/json";
  if (op.idempotent) headers["idempotency-key"] = randomUUID();
  return headers;
}

async function probe(op) {
  const res = await fetch(op.url, {
    method: op.method,
    headers: headersOf(op),
    body: op.body ? JSON.stringify(op.body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${op.name}: ${res.status} ${text}`);
  const json = op.kind ? JSON.parse(text) : undefined;
  return {
    cost: parseCost(res.headers.get("server-timing")),
    returned: json?.communications?.length,
    total: json?.total,
  };
}

async function load(op, pgid) {
  const cpuBefore = workerCpu(pgid);
  const result = await autocannon({
    url: op.url,
    method: op.method,
    connections: CONNECTIONS,
    duration: DURATION,
    headers: op.token ? headersOf({ ...op, idempotent: false }) : undefined,
    body: op.body ? JSON.stringify(op.body) : undefined,
    setupRequest: op.idempotent
      ? (req) => ({ ...req, headers: { ...req.headers, "idempotency-key": randomUUID() } })
      : undefined,
  });
  const cpuAfter = workerCpu(pgid);
  // A restarted workerd (wrangler reloads on a config change) voids the figure.
  const cpuMs = cpuAfter.pids === cpuBefore.pids ? cpuAfter.ms - cpuBefore.ms : Number.NaN;
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad) log(`  ! ${op.name}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    cpuPerRequest: result.requests.total && cpuMs >= 0 ? cpuMs / result.requests.total : undefined,
    bad,
  };
}

const fmt = (n, digits = 0) =>
  n === undefined || Number.isNaN(n) ? "-" : n.toLocaleString("en-US", { maximumFractionDigits: digits });
const pad = (s, w, right = false) => (right ? String(s).padEnd(w) : String(s).padStart(w));

async function benchSize(n, script) {
  const now = Date.now();
  log(`\n== N = ${fmt(n)}: seeding ...`);
  const db = prepareDatabase(n, now);
  log(`   seeded in ${(db.seedMs / 1000).toFixed(1)} s; starting wrangler dev on ${ORIGIN}`);
  const worker = await startWorker(db.dir, script);
  try {
    const admin = await mintToken({ role: "admin", tenant: BENCH_TENANT, secret: SECRET });
    const customer = await mintToken({
      role: "customer",
      tenant: BENCH_TENANT,
      customer: customerId(1),
      secret: SECRET,
    });
    const baselineStatic = { name: "baseline: static JSON", method: "GET", url: `${ORIGIN}/__bench/static` };
    const baselineD1 = { name: "baseline: one D1 query", method: "GET", url: `${ORIGIN}/__bench/d1` };
    const ops = operations({ admin, customer, middleId: db.middleId, now });

    // Warm-up: JIT, the isolate's key cache, SQLite's page cache.
    for (const op of [baselineStatic, baselineD1, ...ops.filter((o) => o.kind === "list")]) await probe(op);
    await load({ ...ops[0], name: "warm-up" }, worker.pgid);

    const rows = [];
    const run = async (op, baselineRps) => {
      const probed = await probe(op);
      const loaded = await load(op, worker.pgid);
      const row = {
        name: op.name,
        kind: op.kind ?? "baseline",
        ...probed.cost,
        returned: probed.returned,
        total: probed.total,
        ...loaded,
        baselineRps,
        ratio: baselineRps ? loaded.rps / baselineRps : undefined,
      };
      rows.push(row);
      log(
        `   ${pad(op.name, 34, true)} ${pad(fmt(row.rowsRead), 6)} read ${pad(fmt(row.rowsWritten), 3)} written  ` +
          `p50 ${fmt(row.p50, 1)} ms  p99 ${fmt(row.p99, 1)} ms  ${fmt(row.rps)} req/s  cpu ${fmt(row.cpuPerRequest, 2)} ms` +
          (row.ratio ? `  ${fmt(row.ratio * 100)}% of baseline ${fmt(baselineRps)}` : ""),
      );
      return row;
    };
    const baselineLimits = {
      name: "baseline: D1 query + 2 limit()",
      method: "GET",
      url: `${ORIGIN}/__bench/d1-limits`,
    };
    const staticRow = await run(baselineStatic);
    const limitsFirst = await load(baselineLimits, worker.pgid);
    const baselines = [];
    // The machine is shared: each operation is measured right after its own
    // run of the one-query baseline and compared with that.
    for (const op of ops) {
      const base = await load(baselineD1, worker.pgid);
      baselines.push(base);
      await run(op, base.rps);
    }
    const mean = (xs, f) => {
      const values = xs.map(f).filter((v) => v !== undefined && !Number.isNaN(v));
      return values.length ? values.reduce((s, v) => s + v, 0) / values.length : undefined;
    };
    const baselineRow = {
      name: "baseline: one D1 query",
      kind: "baseline",
      rps: mean(baselines, (b) => b.rps),
      p50: mean(baselines, (b) => b.p50),
      p99: mean(baselines, (b) => b.p99),
      cpuPerRequest: mean(baselines, (b) => b.cpuPerRequest),
    };
    const limitsLast = await load(baselineLimits, worker.pgid);
    const limitsRow = {
      name: baselineLimits.name,
      kind: "baseline",
      rps: mean([limitsFirst, limitsLast], (b) => b.rps),
      p50: mean([limitsFirst, limitsLast], (b) => b.p50),
      p99: mean([limitsFirst, limitsLast], (b) => b.p99),
      cpuPerRequest: mean([limitsFirst, limitsLast], (b) => b.cpuPerRequest),
    };
    rows.splice(1, 0, baselineRow, limitsRow);
    const baseline = baselineRow.rps;
    staticRow.ratio = staticRow.rps / baseline;
    baselineRow.ratio = 1;
    limitsRow.ratio = limitsRow.rps / baseline;
    for (const row of rows) row.ratioLimits = row.rps / limitsRow.rps;
    return {
      n,
      seedSeconds: db.seedMs / 1000,
      baselineRps: baseline,
      limitsRps: limitsRow.rps,
      staticRps: staticRow.rps,
      rows,
    };
  } finally {
    worker.stop();
    await Promise.race([worker.exited, sleep(5000)]);
    if (!opts.keep) rmSync(db.dir, { recursive: true, force: true });
  }
}

function bundleSize() {
  const out = resolve(ROOT, ".wrangler/bench/dist");
  rmSync(out, { recursive: true, force: true });
  wrangler(["deploy", "--dry-run", "--outdir", out]);
  const files = readdirSync(out).filter((f) => f.endsWith(".js"));
  let raw = 0;
  let gzip = 0;
  for (const f of files) {
    const buf = readFileSync(resolve(out, f));
    raw += buf.length;
    gzip += gzipSync(buf, { level: 9 }).length;
  }
  return { files, raw, gzip };
}

function printSize(result) {
  console.log(
    `\nN = ${fmt(result.n)} (seeded in ${result.seedSeconds.toFixed(1)} s; ${MESSAGES_PER_DAY}/day; ${CONNECTIONS} connections, ${DURATION} s per operation)`,
  );
  console.log(
    `${pad("operation", 36, true)}${pad("queries", 8)}${pad("rows read", 11)}${pad("written", 9)}${pad("total", 10)}${pad("p50 ms", 9)}${pad("p99 ms", 9)}${pad("req/s", 9)}${pad("vs 1-query", 11)}${pad("vs +limits", 11)}${pad("cpu ms/req", 11)}`,
  );
  for (const r of result.rows) {
    console.log(
      `${pad(r.name, 36, true)}${pad(fmt(r.queries), 8)}${pad(fmt(r.rowsRead), 11)}${pad(fmt(r.rowsWritten), 9)}${pad(fmt(r.total), 10)}${pad(fmt(r.p50, 1), 9)}${pad(fmt(r.p99, 1), 9)}${pad(fmt(r.rps), 9)}${pad(r.ratio === undefined ? "" : `${fmt(r.ratio * 100)}%`, 11)}${pad(`${fmt(r.ratioLimits * 100)}%`, 11)}${pad(fmt(r.cpuPerRequest, 2), 11)}`,
    );
  }
}

function printSummary(results) {
  const first = results[0];
  const last = results.at(-1);
  if (!first || !last) return;
  console.log(`\nRows read per request, N = ${results.map((r) => fmt(r.n)).join(" / ")} (limit 20; total included)`);
  let worst = 0;
  for (const row of first.rows.filter((r) => r.kind !== "baseline")) {
    const per = results.map((r) => r.rows.find((x) => x.name === row.name));
    const growth = (per.at(-1)?.rowsRead ?? 0) / Math.max(1, row.rowsRead ?? 0);
    if (row.kind === "list") worst = Math.max(worst, growth);
    console.log(
      `${pad(row.name, 36, true)}${per.map((p) => pad(fmt(p?.rowsRead), 9)).join("")}   x${growth.toFixed(2)}   written ${per.map((p) => fmt(p?.rowsWritten)).join("/")}`,
    );
  }
  console.log(`worst list growth ${fmt(first.n)} -> ${fmt(last.n)}: x${worst.toFixed(2)} (acceptance: <= x2)`);
  console.log("\nworkerd CPU per request (ms; independent of other load on the machine)");
  for (const r of results) {
    const cpu = (name) => r.rows.find((x) => x.name === name)?.cpuPerRequest;
    const avg = (kind) => {
      const xs = r.rows.filter((x) => x.kind === kind && x.cpuPerRequest !== undefined).map((x) => x.cpuPerRequest);
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
    };
    console.log(
      `N = ${pad(fmt(r.n), 9, true)} static ${fmt(cpu("baseline: static JSON"), 2)}, one D1 query ${fmt(cpu("baseline: one D1 query"), 2)}, ` +
        `D1 query + 2 limit() ${fmt(cpu("baseline: D1 query + 2 limit()"), 2)}; list mean ${fmt(avg("list"), 2)}, create mean ${fmt(avg("create"), 2)}`,
    );
  }
  console.log("\nThroughput as a share of the one-query baseline (same run)");
  for (const r of results) {
    const lists = r.rows.filter((x) => x.kind === "list");
    const creates = r.rows.filter((x) => x.kind === "create");
    const min = (xs) => Math.min(...xs.map((x) => x.ratio));
    const mean = (xs) => xs.reduce((s, x) => s + x.ratio, 0) / xs.length;
    console.log(
      `N = ${pad(fmt(r.n), 9, true)} baseline ${fmt(r.baselineRps)} req/s (static ${fmt(r.staticRps)}); ` +
        `list min ${fmt(min(lists) * 100)}% mean ${fmt(mean(lists) * 100)}%; create min ${fmt(min(creates) * 100)}%` +
        ` (vs D1 query + 2 limit() ${fmt(r.limitsRps)} req/s: list mean ${fmt(mean(lists.map((x) => ({ ratio: x.ratioLimits }))) * 100)}%)`,
    );
  }
}

const script = buildWorker();
const results = [];
for (const n of SIZES) {
  const result = await benchSize(n, script);
  printSize(result);
  results.push(result);
}
printSummary(results);
const bundle = bundleSize();
console.log(
  `\nBundle (wrangler deploy --dry-run): ${bundle.files.join(", ")} ${fmt(bundle.raw / 1024, 1)} KiB, gzip ${fmt(bundle.gzip / 1024, 1)} KiB`,
);
const jsonPath = resolve(ROOT, opts.json);
mkdirSync(resolve(jsonPath, ".."), { recursive: true });
writeFileSync(
  jsonPath,
  `${JSON.stringify({ date: new Date().toISOString(), connections: CONNECTIONS, duration: DURATION, results, bundle }, null, 2)}\n`,
);
log(`results written to ${opts.json}`);
