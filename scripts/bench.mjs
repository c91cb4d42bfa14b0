#!/usr/bin/env node
/**
 * `npm run bench`: cost and throughput of the API as a tenant grows.
 *
 * For each size N (default 10k, 100k, 1M):
 *  1. a fresh local D1 under .wrangler/bench/n<N> (the real migrations),
 *     seeded in bulk with N communications of one tenant (scripts/bench/seed.mjs);
 *  2. `wrangler dev` of bench/worker.ts on 127.0.0.1: the real app plus the
 *     baselines in the same workerd (bench/worker.ts): static JSON; one D1
 *     query; the same in a D1 session; plus the two limit() calls (at once,
 *     and in the app's order); plus one log line (the one-query floor); and
 *     per operation its own D1 statements replayed without the framework
 *     (/__bench/io/<name>) and its duty-matched floor (/__bench/floor/<name>:
 *     the same statements in a session, the limits in order, the rows as
 *     JSON, one log line);
 *  3. every operation of the mix is probed once for its D1 cost (the
 *     Server-Timing header: queries, rows read, rows written; the probe also
 *     records its statements and their results), then:
 *     - ours apart from the emulator: the recorded request, then its floor,
 *       run in loops inside the isolate with D1, the limiters and the log
 *       answering at once (/__bench/ours/<name>); the difference of the
 *       process's CPU time per request is the app's own code;
 *     - loaded with autocannon: its own D1 I/O once, then its floor and
 *       --rounds runs of the operation, each followed by its floor again,
 *       --duration seconds each (the machine is shared: each run of the
 *       operation is compared with the mean of the floor runs around it).
 * Per operation it prints req/s against its floor (the median round) and
 * against the one-query floor, and the workerd CPU per request split into its
 * own D1 I/O without the framework + the duties (its floor minus its I/O:
 * session, limits, log line, JSON) + ours (the operation minus its floor),
 * with ours apart from the emulator next to it. The summary compares rows
 * read per list shape across sizes.
 *
 * At the size --export-at (default 100,000) it also measures the export
 * (issue 20): rows per second of the whole tenant as NDJSON against a bare
 * Worker streaming the same rows (/__bench/export-floor), alternating, and
 * the isolate's memory (V8 heap in use, from the inspector's
 * Runtime.getHeapUsage, and the workerd process's RSS, sampled while the
 * download runs) for an export of 1,000 rows and of all of them.
 *
 * Options: --sizes 10000,100000,1000000  --duration 2  --rounds 5  --connections 16
 *          --loop 1500 (requests per isolated loop)  --export-at 100000
 *          --port P --inspector-port P (default: free ones)  --keep (leave the seeded databases on disk)
 *          --json <file> (default .wrangler/bench/results.json)
 */
import { spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import autocannon from "autocannon";
import twilio from "twilio";
import { mintToken, ROOT } from "./lib/local.mjs";
import { freePort, portOption } from "./lib/ports.mjs";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 5)) {
  console.error(
    `bench needs Node >= 22.5 (node:sqlite); this is ${process.version}. Run it through \`npm run bench\`.`,
  );
  process.exit(1);
}
const { BENCH_TENANT, customerId, customerPhone, deliveryId, MESSAGES_PER_DAY, seed } = await import(
  "./bench/seed.mjs"
);
const { benchState, buildWorker, startWorker, wrangler } = await import("./bench/worker-process.mjs");

const { values: opts } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000,1000000" },
    duration: { type: "string", default: "2" },
    rounds: { type: "string", default: "5" },
    loop: { type: "string", default: "1500" },
    connections: { type: "string", default: "16" },
    port: { type: "string" },
    "inspector-port": { type: "string" },
    keep: { type: "boolean", default: false },
    json: { type: "string", default: ".wrangler/bench/results.json" },
    // Comma-separated substrings of operation names, to iterate on a few.
    only: { type: "string" },
    // The size at which the export is measured (issue 20); 0 leaves it out.
    "export-at": { type: "string", default: "100000" },
  },
});
const SIZES = opts.sizes.split(",").map((s) => Number(s.replace(/_/g, "")));
const DURATION = Number(opts.duration);
const ROUNDS = Number(opts.rounds);
const LOOP = Number(opts.loop);
const CONNECTIONS = Number(opts.connections);
const PORT = await portOption(opts.port, () => freePort());
const INSPECTOR_PORT = await portOption(opts["inspector-port"], () => freePort([PORT]));
const EXPORT_AT = Number(opts["export-at"].replace(/_/g, ""));
const ORIGIN = `http://127.0.0.1:${PORT}`;
const BASE = `${ORIGIN}/delivery/customer-communications`;
const SECRET = randomBytes(32).toString("hex");
const DAY = 86_400_000;

const log = (...args) => console.error(...args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cursorAt = (id, order = "desc") => Buffer.from(`${order === "desc" ? "d" : "a"}:${id}`).toString("base64url");

/** Fresh database for size n: migrations applied by wrangler, then the bulk seed. */
async function prepareDatabase(n, now) {
  const dir = resolve(ROOT, `.wrangler/bench/n${n}`);
  const shardFile = await benchState(dir, BENCH_TENANT, now);
  const started = performance.now();
  const seeded = seed(shardFile, n, now);
  return { dir, seedMs: performance.now() - started, ...seeded };
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
function operations({ admin, customer, middleId, now, webhook }) {
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
    // Search (issue 20): the customer_id page above reads what an address page is compared with.
    list("search: address (a customer's phone)", `&address=${encodeURIComponent(customerPhone(1))}`),
    list("search: q=one delivery's number", "&q=10"),
    list("search: q=delivery (every non-call)", "&q=delivery"),
    list("search: q=deliv* (prefix)", "&q=deliv*"),
    list('search: q="on its way" (phrase)', `&q=${encodeURIComponent('"on its way"')}`),
    list("search: q + type=email (a facet)", "&q=delivery&type=email"),
    list("search: q + status=failed (rows)", "&q=delivery&status=failed"),
    list("search: q + deep cursor", `&q=delivery&cursor=${cursorAt(middleId)}`),
    list("search: address + q", `&address=${encodeURIComponent(customerPhone(1))}&q=delivery`),
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
    // A provider's status callback: signature verified (HMAC-SHA1, the
    // connection's secret cached per isolate), one queue message, 200. The
    // consumer applies it in the same workerd meanwhile (the same event
    // each time: recorded once, then found and skipped).
    { kind: "webhook", name: "webhook: Twilio status callback", ...webhook },
  ];
}

/** Connects Twilio for the bench tenant; a signed status callback for a seeded communication. */
async function twilioCallback(admin) {
  const authToken = randomBytes(16).toString("hex");
  const res = await fetch(`${BASE}/providers/twilio`, {
    method: "PUT",
    headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
    body: JSON.stringify({ auth_token: authToken }),
  });
  if (res.status !== 200) throw new Error(`connect twilio: ${res.status} ${await res.text()}`);
  const url = (await res.json()).provider.webhook_url;
  const params = { MessageSid: "SMbench0000000000000000000000000000", MessageStatus: "delivered" };
  return {
    method: "POST",
    url,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": twilio.getExpectedTwilioSignature(authToken, url, params),
    },
    rawBody: new URLSearchParams(params).toString(),
  };
}

function headersOf(op) {
  if (op.headers) return op.headers;
  const headers = op.token ? { authorization: `Bearer ${op.token}` } : {};
  if (op.body) headers["content-type"] = "application/json";
  if (op.idempotent) headers["idempotency-key"] = randomUUID();
  return headers;
}

/** One request; an app operation's D1 statements are recorded for /__bench/io/<name> (bench/worker.ts). */
async function probe(op) {
  const res = await fetch(op.url, {
    method: op.method,
    headers: { ...headersOf(op), "x-bench-record": op.name },
    body: op.rawBody ?? (op.body ? JSON.stringify(op.body) : undefined),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${op.name}: ${res.status} ${text}`);
  const json = op.kind && op.kind !== "webhook" ? JSON.parse(text) : undefined;
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
    headers: op.token || op.headers ? headersOf({ ...op, idempotent: false }) : undefined,
    body: op.rawBody ?? (op.body ? JSON.stringify(op.body) : undefined),
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
    cpuMs,
    cpuPerRequest: result.requests.total && cpuMs >= 0 ? cpuMs / result.requests.total : undefined,
    bad,
  };
}

/** The one-query floor (bench/worker.ts): one D1 query in a session, two limit() in order, one log line. */
const FLOOR = "floor: + log line (one query)";

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Several runs of one thing as one: requests and CPU summed, latencies averaged. */
function combine(runs) {
  const requests = runs.reduce((s, r) => s + r.requests, 0);
  const cpuMs = runs.reduce((s, r) => s + r.cpuMs, 0);
  return {
    rps: mean(runs, (r) => r.rps),
    p50: mean(runs, (r) => r.p50),
    p99: mean(runs, (r) => r.p99),
    requests,
    cpuPerRequest: requests && !Number.isNaN(cpuMs) ? cpuMs / requests : undefined,
    bad: runs.reduce((s, r) => s + r.bad, 0),
  };
}

/**
 * Ours apart from the emulator: workerd CPU ms per request of the recorded
 * request in the isolated loop, minus that of its floor in the same loop
 * (bench/worker.ts, /__bench/ours). Three alternating pairs, summed.
 */
async function isolated(op, pgid) {
  const url = (run) => `${ORIGIN}/__bench/ours/${encodeURIComponent(op.name)}?n=${LOOP}&run=${run}`;
  const cpu = { app: 0, floor: 0 };
  for (let i = 0; i < 3; i++) {
    for (const run of ["app", "floor"]) {
      const before = workerCpu(pgid);
      const res = await fetch(url(run));
      const after = workerCpu(pgid);
      if (!res.ok) throw new Error(`${op.name} isolated ${run}: ${res.status} ${await res.text()}`);
      cpu[run] += before.pids === after.pids ? after.ms - before.ms : Number.NaN;
    }
  }
  return { app: cpu.app / (3 * LOOP), floor: cpu.floor / (3 * LOOP), ours: (cpu.app - cpu.floor) / (3 * LOOP) };
}

const mean = (xs, f) => {
  const values = xs.map(f).filter((v) => v !== undefined && !Number.isNaN(v));
  return values.length ? values.reduce((s, v) => s + v, 0) / values.length : undefined;
};

const fmt = (n, digits = 0) =>
  n === undefined || Number.isNaN(n) ? "-" : n.toLocaleString("en-US", { maximumFractionDigits: digits });
const pad = (s, w, right = false) => (right ? String(s).padEnd(w) : String(s).padStart(w));

/** Resident set of the workerd that runs the Worker, in bytes (see workerCpu). */
function workerRss(pgid) {
  const out = spawnSync("pgrep", ["-g", String(pgid), "workerd"], { encoding: "utf8" })
    .stdout.trim()
    .split("\n");
  let rss = 0;
  for (const pid of out.filter(Boolean)) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--inspector-addr")) continue;
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      rss += Number(kb ?? 0) * 1024;
    } catch {}
  }
  return rss;
}

/**
 * The Worker's isolate through wrangler's inspector (INSPECTOR_PORT): V8's heap in
 * use (Runtime.getHeapUsage). The proxy wants a DevTools Origin.
 */
async function inspector() {
  // Node's WebSocket (undici) takes the header as an extension of the standard constructor.
  const ws = new WebSocket(`ws://127.0.0.1:${INSPECTOR_PORT}/ws`, {
    headers: { origin: "https://devtools.devprod.cloudflare.dev" },
  });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("inspector: no connection"));
  });
  let id = 0;
  const pending = new Map();
  ws.onmessage = (event) => {
    const msg = JSON.parse(String(event.data));
    // Events (a heap snapshot's chunks) carry no id and are dropped.
    pending.get(msg.id)?.(msg.result);
    pending.delete(msg.id);
  };
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  const heapUsed = async () => (await send("Runtime.getHeapUsage"))?.usedSize ?? Number.NaN;
  return {
    heapUsed,
    /**
     * The heap that survives a full garbage collection: a heap snapshot
     * forces one (workerd does not answer HeapProfiler.collectGarbage), and
     * the heap in use right after it is what the isolate retains.
     */
    retained: async () => {
      await send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
      return heapUsed();
    },
    close: () => ws.close(),
  };
}

/**
 * Downloads `url` to its end: time to the first byte and to the last, lines,
 * and the peaks sampled meanwhile, overall and per quarter of the transfer's
 * time (memory that grew with the rows would peak higher in each quarter).
 */
async function download(url, headers, sample, checkpoints = [], atCheckpoint = async () => undefined) {
  const samples = [];
  let sampling = true;
  const started = performance.now();
  const sampler = (async () => {
    while (sampling) {
      samples.push({ at: performance.now() - started, ...(await sample()) });
      await sleep(20);
    }
  })();
  const res = await fetch(url, { headers });
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  let firstByteMs;
  let lines = 0;
  let bytes = 0;
  const retained = [];
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    firstByteMs ??= performance.now() - started;
    bytes += value.length;
    for (const b of value) if (b === 10) lines++;
    // Mid-transfer, with the export's next page in flight: what the isolate retains now.
    while (checkpoints.length && lines >= checkpoints[0]) {
      checkpoints.shift();
      retained.push({ lines, heap: await atCheckpoint() });
    }
  }
  const ms = performance.now() - started;
  sampling = false;
  await sampler;
  const peak = (xs, f) => xs.reduce((m, x) => Math.max(m, f(x)), 0);
  const quarters = [0, 1, 2, 3].map((q) =>
    peak(
      samples.filter((x) => x.at >= (q * ms) / 4 && x.at < ((q + 1) * ms) / 4),
      (x) => x.heap,
    ),
  );
  return {
    ms,
    firstByteMs,
    lines,
    bytes,
    rowsPerSecond: (lines / ms) * 1000,
    heap: peak(samples, (x) => x.heap),
    rss: peak(samples, (x) => x.rss),
    heapByQuarter: quarters,
    retained,
  };
}

/**
 * The export at size n: throughput against its floor, and memory at 1,000
 * rows (one seeded day: 1,000 a day) and at all of them (n, plus what the
 * bench's creates added; the floor streams the same rows).
 */
async function exportFigures(n, worker, admin, now) {
  const isolate = await inspector();
  const sample = async () => ({ heap: await isolate.heapUsed(), rss: workerRss(worker.pgid) });
  const auth = { authorization: `Bearer ${admin}` };
  const days = (d) =>
    `created_after=${encodeURIComponent(new Date(now - (d + 1) * DAY).toISOString())}&created_before=${encodeURIComponent(new Date(now - DAY).toISOString())}`;
  const oneDay = days(1);
  try {
    // Warm-up, then the idle figures.
    await download(`${BASE}/export?${oneDay}`, auth, sample);
    await sleep(1000);
    const idle = await sample();
    const retainedIdle = await isolate.retained();
    // Each export is paused part-way (the client stops reading) while the
    // isolate's retained heap is measured: after 500 rows of 1,000; along all.
    const memory = {
      idle: { ...idle, retained: retainedIdle },
      rows1k: await download(`${BASE}/export?${oneDay}`, auth, sample, [500], isolate.retained),
      rows10k: await download(`${BASE}/export?${days(10)}`, auth, sample, [5000], isolate.retained),
      all: await download(`${BASE}/export`, auth, sample, [1000, 25_000, 50_000, 75_000, 99_000], isolate.retained),
    };
    const app = [];
    const floor = [];
    for (let round = 0; round < Math.min(ROUNDS, 3); round++) {
      app.push(await download(`${BASE}/export`, auth, sample));
      floor.push(await download(`${ORIGIN}/__bench/export-floor`, {}, sample));
    }
    const med = (xs, f) => median(xs.map(f));
    const lines = [...app, ...floor].map((r) => r.lines);
    if (new Set(lines).size !== 1 || (lines[0] ?? 0) < n) {
      throw new Error(`the export and its floor streamed ${lines.join(", ")} lines; expected the same, at least ${n}`);
    }
    const result = {
      rows: lines[0],
      appRowsPerSecond: med(app, (r) => r.rowsPerSecond),
      floorRowsPerSecond: med(floor, (r) => r.rowsPerSecond),
      firstByteMs: med(app, (r) => r.firstByteMs),
      ms: med(app, (r) => r.ms),
      lines: app.map((r) => r.lines),
      memory,
    };
    result.ratio = result.appRowsPerSecond / result.floorRowsPerSecond;
    return result;
  } finally {
    isolate.close();
  }
}

function printExport(e) {
  const mb = (bytes) => fmt(bytes / 1048576, 1);
  console.log(
    `\nExport of ${fmt(e.rows)} rows (NDJSON, median of ${e.lines.length}): ${fmt(e.appRowsPerSecond)} rows/s against ${fmt(e.floorRowsPerSecond)} for the bare Worker (x${e.ratio.toFixed(2)}); first byte after ${fmt(e.firstByteMs)} ms of ${fmt(e.ms)} ms`,
  );
  const m = e.memory;
  const run = (name, r) =>
    `${name}: peak heap ${mb(r.heap)} MB (by quarter of the transfer ${r.heapByQuarter.map(mb).join(" / ")}), RSS ${mb(r.rss)} MB`;
  console.log(`memory: idle heap ${mb(m.idle.heap)} MB (retained ${mb(m.idle.retained)} MB), RSS ${mb(m.idle.rss)} MB`);
  for (const r of [m.rows1k, m.rows10k, m.all]) {
    console.log(
      `  ${fmt(r.lines)} rows: retained heap ${r.retained.map((x) => `${mb(x.heap)} MB at ${fmt(x.lines)}`).join(", ")}`,
    );
  }
  console.log(`  ${run(`${fmt(m.rows1k.lines)} rows`, m.rows1k)}`);
  console.log(`  ${run(`${fmt(m.rows10k.lines)} rows`, m.rows10k)}`);
  console.log(`  ${run(`${fmt(m.all.lines)} rows`, m.all)}`);
}

async function benchSize(n, script) {
  const now = Date.now();
  log(`\n== N = ${fmt(n)}: seeding ...`);
  const db = await prepareDatabase(n, now);
  log(`   seeded in ${(db.seedMs / 1000).toFixed(1)} s; starting wrangler dev on ${ORIGIN}`);
  const worker = await startWorker({
    dir: db.dir,
    script,
    port: PORT,
    inspectorPort: INSPECTOR_PORT,
    vars: { JWT_SECRET: SECRET, PROVIDER_SECRETS_KEY: randomBytes(32).toString("base64") },
  });
  try {
    const admin = await mintToken({ role: "admin", tenant: BENCH_TENANT, secret: SECRET });
    const customer = await mintToken({
      role: "customer",
      tenant: BENCH_TENANT,
      customer: customerId(1),
      secret: SECRET,
    });
    const baseline = (name, path) => ({ name, kind: "baseline", method: "GET", url: `${ORIGIN}/__bench/${path}` });
    const baselines = [
      baseline("baseline: static JSON", "static"),
      baseline("baseline: one D1 query", "d1"),
      baseline("baseline: + D1 session", "d1-session"),
      baseline("baseline: + 2 limit() at once", "d1-session-limits-parallel"),
      baseline("baseline: + 2 limit() in order", "d1-session-limits"),
      baseline("floor, log line as an object", "floor-object-log"),
      baseline(FLOOR, "floor"),
    ];
    const webhook = await twilioCallback(admin);
    const ops = operations({ admin, customer, middleId: db.middleId, now, webhook }).filter(
      (op) => !opts.only || opts.only.split(",").some((part) => op.name.includes(part)),
    );

    // Warm-up: JIT, the isolate's key cache, SQLite's page cache. The probe
    // of each operation also records its D1 statements for /__bench/*/<name>.
    for (const op of [...baselines, ...ops.filter((o) => o.kind === "list")]) await probe(op);
    await load({ ...ops[0], name: "warm-up" }, worker.pgid);

    const rows = [];
    const report = (row) =>
      log(
        `   ${pad(row.name, 34, true)} ${pad(fmt(row.rowsRead), 6)} read ${pad(fmt(row.rowsWritten), 3)} written  ` +
          `p50 ${fmt(row.p50, 1)} ms  ${fmt(row.rps)} req/s  cpu ${fmt(row.cpuPerRequest, 2)} ms` +
          (row.ioCpu === undefined
            ? ""
            : ` (i/o ${fmt(row.ioCpu, 2)}, floor ${fmt(row.floorCpu, 2)}, vs floor ${row.ratio?.toFixed(2) ?? "-"}, ours isolated ${fmt(row.isolated?.ours, 3)})`),
      );
    const firstRuns = [];
    for (const b of baselines) firstRuns.push(await load(b, worker.pgid));
    for (const op of ops) {
      const probed = await probe(op);
      const at = (kind) => ({
        name: `${op.name} (${kind})`,
        method: "GET",
        url: `${ORIGIN}/__bench/${kind}/${encodeURIComponent(op.name)}`,
      });
      const io = await load(at("io"), worker.pgid);
      // The floor is sent the operation's own request: same method, headers and body.
      const opFloor = { ...op, name: `${op.name} (floor)`, url: at("floor").url };
      const inIsolate = op.kind === "webhook" ? undefined : await isolated(op, worker.pgid);
      const floorRuns = [];
      const opRuns = [];
      // A provider callback has other duties (a signature, a queue message,
      // no rate limits): it has no floor here, only its CPU and req/s.
      const matched = op.kind !== "webhook";
      // floor, op, floor, op, ..., floor: each run of the operation sits
      // between two runs of its floor, and is compared with their mean.
      if (matched) floorRuns.push(await load(opFloor, worker.pgid));
      for (let round = 0; round < ROUNDS; round++) {
        opRuns.push(await load(op, worker.pgid));
        if (matched) floorRuns.push(await load(opFloor, worker.pgid));
      }
      const loaded = combine(opRuns);
      const floor = matched ? combine(floorRuns) : {};
      // The median round: a burst of other work on the machine during one
      // run moves one round's ratio, not the operation's.
      const roundRatios = opRuns.map((run, i) => run.requests / mean(floorRuns.slice(i, i + 2), (f) => f.requests));
      const row = {
        name: op.name,
        kind: op.kind,
        ...probed.cost,
        returned: probed.returned,
        total: probed.total,
        ...loaded,
        // Requests served in the same time, alternating: the ratio of throughputs.
        ratio: matched ? median(roundRatios) : undefined,
        roundRatios: matched ? roundRatios : undefined,
        ioRps: io.rps,
        ioCpu: io.cpuPerRequest,
        floorRps: floor.rps,
        floorCpu: floor.cpuPerRequest,
        isolated: inIsolate,
      };
      rows.push(row);
      report(row);
    }
    const lastRuns = [];
    for (const b of baselines) lastRuns.push(await load(b, worker.pgid));
    const exported = n === EXPORT_AT ? await exportFigures(n, worker, admin, now) : undefined;
    const baselineRows = baselines.map((b, i) => ({
      name: b.name,
      kind: "baseline",
      ...combine([firstRuns[i], lastRuns[i]]),
    }));
    for (const r of baselineRows) report(r);
    const baselineOf = (name) => baselineRows.find((r) => r.name === name);
    const cpuOf = (name) => baselineOf(name)?.cpuPerRequest;
    const oneQueryFloor = baselineOf(FLOOR);
    for (const row of rows) {
      row.dutiesCpu = row.floorCpu - row.ioCpu;
      row.oursCpu = row.cpuPerRequest - row.floorCpu;
      row.ratioOneQuery = row.rps / oneQueryFloor.rps;
    }
    for (const row of baselineRows) row.ratioOneQuery = row.rps / oneQueryFloor.rps;
    return {
      n,
      export: exported,
      seedSeconds: db.seedMs / 1000,
      floorRps: oneQueryFloor.rps,
      duties: {
        session: cpuOf("baseline: + D1 session") - cpuOf("baseline: one D1 query"),
        limitsAtOnce: cpuOf("baseline: + 2 limit() at once") - cpuOf("baseline: + D1 session"),
        limits: cpuOf("baseline: + 2 limit() in order") - cpuOf("baseline: + D1 session"),
        log: cpuOf(FLOOR) - cpuOf("baseline: + 2 limit() in order"),
        logAsObject: cpuOf("floor, log line as an object") - cpuOf("baseline: + 2 limit() in order"),
        total: cpuOf(FLOOR) - cpuOf("baseline: one D1 query"),
      },
      rows: [...baselineRows, ...rows],
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

/**
 * Isolate start-up: `wrangler check startup` profiles the deployable bundle
 * (the default environment) while workerd loads it; the sampled CPU time,
 * idle left out, is the module's top-level evaluation (schemas, routes,
 * the OpenAPI registry) plus compilation. Median of three runs.
 */
function startupMs() {
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const file = resolve(ROOT, `.wrangler/bench/startup-${i}.cpuprofile`);
    wrangler(["check", "startup", "--outfile", file]);
    const { nodes, samples, timeDeltas } = JSON.parse(readFileSync(file, "utf8"));
    const name = new Map(nodes.map((n) => [n.id, n.callFrame.functionName]));
    let busy = 0;
    samples.forEach((id, k) => {
      if (!["(idle)", "(program)", "(root)"].includes(name.get(id))) busy += timeDeltas[k] ?? 0;
    });
    runs.push(busy / 1000);
  }
  return runs.sort((a, b) => a - b)[1];
}

function printSize(result) {
  console.log(
    `\nN = ${fmt(result.n)} (seeded in ${result.seedSeconds.toFixed(1)} s; ${MESSAGES_PER_DAY}/day; ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION} s per operation and its floor)`,
  );
  const d = result.duties;
  console.log(
    `duties (workerd CPU ms/req, baselines): D1 session ${fmt(d.session, 2)}, 2 limit() in order ${fmt(d.limits, 2)} (at once: ${fmt(d.limitsAtOnce, 2)}), log line ${fmt(d.log, 2)} (as an object instead of a JSON string: ${fmt(d.logAsObject, 2)}); total ${fmt(d.total, 2)}`,
  );
  console.log(
    `${pad("operation", 36, true)}${pad("queries", 8)}${pad("rows read", 10)}${pad("written", 8)}${pad("total", 8)}${pad("p50 ms", 7)}${pad("req/s", 6)}${pad("vs floor", 9)}${pad("vs 1-q", 7)}${pad("cpu ms", 7)}${pad("= i/o", 6)}${pad("+ duties", 9)}${pad("+ ours", 7)}${pad("ours isolated", 14)}`,
  );
  for (const r of result.rows) {
    console.log(
      `${pad(r.name, 36, true)}${pad(fmt(r.queries), 8)}${pad(fmt(r.rowsRead), 10)}${pad(fmt(r.rowsWritten), 8)}${pad(fmt(r.total), 8)}${pad(fmt(r.p50, 1), 7)}${pad(fmt(r.rps), 6)}${pad(r.ratio === undefined ? "" : r.ratio.toFixed(2), 9)}${pad(r.ratioOneQuery === undefined ? "" : r.ratioOneQuery.toFixed(2), 7)}${pad(fmt(r.cpuPerRequest, 2), 7)}${pad(fmt(r.ioCpu, 2), 6)}${pad(fmt(r.dutiesCpu, 2), 9)}${pad(fmt(r.oursCpu, 2), 7)}${pad(fmt(r.isolated?.ours, 3), 14)}`,
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
  console.log(
    "\nPer operation: req/s against its duty-matched floor (its own D1 statements in a session, 2 limit() in the app's order, the rows as JSON with the app's response headers, one log line; median of 5 runs, each against the floor runs around it), and workerd CPU ms/req = its own D1 I/O without the framework + duties + ours; ours isolated = the app's code alone (D1, limiters and log answering at once)",
  );
  const worstBy = (xs, f) => xs.reduce((w, x) => (f(x) > f(w) ? x : w), xs[0]);
  for (const r of results) {
    for (const kind of ["list", "create"]) {
      const xs = r.rows.filter((x) => x.kind === kind);
      if (!xs.length) continue; // --only left this kind out
      const lowest = worstBy(xs, (x) => -x.ratio);
      const most = worstBy(xs, (x) => x.oursCpu);
      const mostIsolated = worstBy(xs, (x) => x.isolated?.ours ?? 0);
      console.log(
        `N = ${pad(fmt(r.n), 9, true)} ${pad(kind, 6, true)} vs floor min ${lowest.ratio.toFixed(2)} (${lowest.name}), mean ${mean(xs, (x) => x.ratio).toFixed(2)}; ` +
          `cpu mean ${fmt(
            mean(xs, (x) => x.cpuPerRequest),
            2,
          )} = i/o ${fmt(
            mean(xs, (x) => x.ioCpu),
            2,
          )} + duties ${fmt(
            mean(xs, (x) => x.dutiesCpu),
            2,
          )} + ours ${fmt(
            mean(xs, (x) => x.oursCpu),
            2,
          )} (max ${fmt(most.oursCpu, 2)}, ${most.name}); ours isolated mean ${fmt(
            mean(xs, (x) => x.isolated?.ours),
            3,
          )} ms (max ${fmt(mostIsolated.isolated?.ours, 3)}, ${mostIsolated.name})`,
      );
    }
  }
}

const script = buildWorker("worker");
const results = [];
for (const n of SIZES) {
  const result = await benchSize(n, script);
  printSize(result);
  if (result.export) printExport(result.export);
  results.push(result);
  // What is measured so far survives a later size's failure.
  mkdirSync(resolve(ROOT, opts.json, ".."), { recursive: true });
  writeFileSync(
    resolve(ROOT, `${opts.json}.partial`),
    `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`,
  );
}
printSummary(results);
const bundle = bundleSize();
bundle.startupMs = startupMs();
console.log(
  `\nBundle (wrangler deploy --dry-run): ${bundle.files.join(", ")} ${fmt(bundle.raw / 1024, 1)} KiB, gzip ${fmt(bundle.gzip / 1024, 1)} KiB; isolate start-up ${fmt(bundle.startupMs, 1)} ms of CPU (wrangler check startup, median of 3)`,
);
const jsonPath = resolve(ROOT, opts.json);
mkdirSync(resolve(jsonPath, ".."), { recursive: true });
writeFileSync(
  jsonPath,
  `${JSON.stringify({ date: new Date().toISOString(), connections: CONNECTIONS, duration: DURATION, results, bundle }, null, 2)}\n`,
);
log(`results written to ${opts.json}`);
