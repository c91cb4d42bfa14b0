#!/usr/bin/env node
/**
 * `npm run load`: concurrent creators with retried duplicates against a real
 * `wrangler dev` on loopback, then proof that exactly one row exists per
 * logical communication.
 *
 *  1. a fresh local D1 under its own persist dir, migrated with wrangler;
 *  2. a build of the Worker (wrangler deploy --dry-run) served by
 *     `wrangler dev --no-bundle --ip 127.0.0.1` with a random JWT_SECRET
 *     (--var), its output to <persist>/wrangler-dev.log;
 *  3. CREATES logical creates, CONCURRENCY requests in flight, spread over
 *     TENANTS x USERS callers (to stay under the 1000/10 s tenant and 300/10 s
 *     user limits; a 429 is retried after a backoff anyway). A share DUP_RATIO
 *     of them is sent twice with the same Idempotency-Key and body: half at
 *     the same moment as the original, half after all originals;
 *     A 5xx or a network error is retried with the same key and body, as a
 *     client would (and counted: the "no 5xx" check still fails);
 *  4. checks: every answer 201, no 5xx, every duplicate answered with its
 *     original's id, the API's `total` per tenant, and COUNT(*) in the D1
 *     file through `wrangler d1 execute --local` (after the server stops);
 *  5. prints requests, duplicates, rows, status counts, throughput, latency.
 *
 * Usage: npm run load -- [--creates 10000] [--concurrency 50] [--dup-ratio 0.1]
 *        [--tenants 20] [--users 5] [--port P] [--inspector-port P] (default: free ones) [--persist .wrangler/hostile/load] [--json]
 * Small run: npm run load -- --creates 500 --concurrency 20
 * Exit code 1 when any check fails.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { mintToken, ROOT } from "./lib/local.mjs";
import { startLocalWorker, wrangler } from "./lib/local-worker.mjs";
import { freePort, portOption } from "./lib/ports.mjs";

const { values: opts } = parseArgs({
  options: {
    creates: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "50" },
    "dup-ratio": { type: "string", default: "0.1" },
    tenants: { type: "string", default: "20" },
    users: { type: "string", default: "5" },
    port: { type: "string" },
    "inspector-port": { type: "string" },
    persist: { type: "string", default: ".wrangler/hostile/load" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (opts.help) {
  console.log(
    "npm run load -- [--creates N] [--concurrency C] [--dup-ratio R] [--tenants T] [--users U] [--port P] [--inspector-port P]",
  );
  process.exit(0);
}

const CREATES = Number(opts.creates);
const CONCURRENCY = Number(opts.concurrency);
const DUP_RATIO = Number(opts["dup-ratio"]);
const TENANTS = Number(opts.tenants);
const USERS = Number(opts.users);
const PORT = await portOption(opts.port, () => freePort());
const INSPECTOR_PORT = await portOption(opts["inspector-port"], () => freePort([PORT]));
const PERSIST = resolve(ROOT, opts.persist);
const BASE = `http://127.0.0.1:${PORT}`;
const URL_CREATE = `${BASE}/delivery/customer-communications`;

// ------------------------------------------------------------------ setup
const secret = randomBytes(32).toString("hex");
const worker = startLocalWorker({
  persist: PERSIST,
  port: PORT,
  inspectorPort: INSPECTOR_PORT,
  vars: { JWT_SECRET: secret },
});
const stop = worker.stop;

// ------------------------------------------------------------------ workload
const tenants = Array.from({ length: TENANTS }, () => randomUUID());
const callers = [];
for (const tenant of tenants) {
  for (let u = 0; u < USERS; u++) {
    callers.push({ tenant, token: await mintToken({ role: "admin", tenant, secret, ttl: "2h" }) });
  }
}

/** One logical communication: its key, body and caller. */
const logical = Array.from({ length: CREATES }, (_, i) => {
  const caller = callers[i % callers.length];
  return {
    i,
    caller,
    key: `load-${randomUUID()}`,
    body: JSON.stringify({
      customer_id: randomUUID(),
      delivery_id: randomUUID(),
      type: ["sms", "email", "push_notification", "call"][i % 4],
      direction: i % 5 === 0 ? "inbound" : "outbound",
      status: "sent",
      content: `Load test message ${i}: your delivery is on its way.`,
      communication_details: {
        sender: { system_component: "load_test" },
        recipient: { phone: `+1555${String(i).padStart(7, "0")}` },
        template_id: "delivery-on-way",
        template_variables: { n: i },
      },
    }),
    ids: [],
  };
});
const dupCount = Math.round(CREATES * DUP_RATIO);
// Spread the duplicated ones over the run; alternate "concurrent" and "later".
const step = dupCount ? CREATES / dupCount : Infinity;
const duplicated = Array.from({ length: dupCount }, (_, d) => logical[Math.floor(d * step)]);
const concurrentDups = new Set(duplicated.filter((_, d) => d % 2 === 0));
const laterDups = duplicated.filter((_, d) => d % 2 === 1);

/** A counting semaphore: at most CONCURRENCY requests in flight. */
let inFlight = 0;
const waiters = [];
async function acquire() {
  if (inFlight < CONCURRENCY) {
    inFlight++;
    return;
  }
  await new Promise((r) => waiters.push(r));
}
function release() {
  const next = waiters.shift();
  if (next) next();
  else inFlight--;
}

const statusCounts = {};
const latencies = [];
let requests = 0;
let retries429 = 0;
let retries5xx = 0;
let networkErrors = 0;
let replayed = 0;
const failures = [];

async function send(item, kind) {
  for (let attempt = 1; ; attempt++) {
    await acquire();
    const started = performance.now();
    let res;
    let text = "";
    try {
      res = await fetch(URL_CREATE, {
        method: "POST",
        headers: {
          authorization: `Bearer ${item.caller.token}`,
          "content-type": "application/json",
          "idempotency-key": item.key,
        },
        body: item.body,
      });
      text = await res.text();
    } catch (err) {
      networkErrors++;
      if (attempt < 5) continue;
      failures.push({ kind, key: item.key, error: String(err) });
      return;
    } finally {
      latencies.push(performance.now() - started);
      requests++;
      release();
    }
    statusCounts[res.status] = (statusCounts[res.status] ?? 0) + 1;
    if (res.status === 429 && attempt < 20) {
      retries429++;
      // Retry-After is 10 s (the binding's window); back off less, with jitter, and try again.
      await new Promise((r) => setTimeout(r, Math.min(10_000, 200 * 2 ** attempt) * (0.5 + Math.random())));
      continue;
    }
    if (res.status >= 500 && attempt < 5) {
      // What a client does with an unanswered create: send it again, same key, same body.
      retries5xx++;
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      continue;
    }
    if (res.status !== 201) {
      failures.push({ kind, key: item.key, status: res.status, body: text.slice(0, 300) });
      return;
    }
    if (res.headers.get("idempotent-replayed") === "true") replayed++;
    item.ids.push(JSON.parse(text).communication.id);
    return;
  }
}

// ------------------------------------------------------------------ run
let exitCode = 0;
try {
  await worker.ready();
  const started = performance.now();
  await Promise.all(
    logical.map((item) =>
      concurrentDups.has(item)
        ? Promise.all([send(item, "original"), send(item, "concurrent-dup")])
        : send(item, "original"),
    ),
  );
  await Promise.all(laterDups.map((item) => send(item, "later-dup")));
  const elapsedS = (performance.now() - started) / 1000;

  // Every answer for one logical create names the same communication.
  const mismatched = logical.filter((item) => new Set(item.ids).size > 1);
  const clientIds = new Set(logical.flatMap((item) => item.ids));

  // The API's own count, per tenant (totals are kept by triggers).
  const adminOf = new Map(callers.map((c) => [c.tenant, c.token]));
  let apiTotal = 0;
  for (const tenant of tenants) {
    const res = await fetch(`${URL_CREATE}?limit=1`, { headers: { authorization: `Bearer ${adminOf.get(tenant)}` } });
    apiTotal += (await res.json()).total;
  }
  stop();
  await new Promise((r) => setTimeout(r, 1500)); // let workerd release the database file

  /** One row of numbers, summed over every shard (the tenants are spread over them). */
  const query = (sql) => {
    const sum = {};
    for (const shard of ["SHARD_0", "SHARD_1"]) {
      const out = wrangler(["d1", "execute", shard, "--local", "--persist-to", PERSIST, "--json", "--command", sql]);
      if (out.status !== 0) throw new Error(`wrangler d1 execute failed: ${out.stderr}`);
      for (const [k, v] of Object.entries(JSON.parse(out.stdout)[0].results[0])) sum[k] = (sum[k] ?? 0) + v;
    }
    return sum;
  };
  const db = query(
    "SELECT (SELECT count(*) FROM communications) AS rows, (SELECT count(DISTINCT id) FROM communications) AS ids, (SELECT count(*) FROM idempotency_keys) AS keys, (SELECT coalesce(sum(n), 0) FROM communication_totals) AS totals",
  );

  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]?.toFixed(1);
  const fiveXX = Object.entries(statusCounts)
    .filter(([s]) => Number(s) >= 500)
    .reduce((n, [, c]) => n + c, 0);
  const figures = {
    logical_creates: CREATES,
    duplicates: { total: dupCount, concurrent: concurrentDups.size, later: laterDups.length },
    requests,
    concurrency: CONCURRENCY,
    callers: { tenants: TENANTS, users_per_tenant: USERS },
    status_counts: statusCounts,
    retried_429: retries429,
    retried_5xx: retries5xx,
    network_errors: networkErrors,
    replayed_answers: replayed,
    rows: {
      expected: CREATES,
      distinct_ids_seen_by_clients: clientIds.size,
      api_total: apiTotal,
      d1_rows: db.rows,
      d1_distinct_ids: db.ids,
      d1_idempotency_keys: db.keys,
      d1_totals_counter: db.totals,
    },
    elapsed_s: Number(elapsedS.toFixed(2)),
    throughput_rps: Number((requests / elapsedS).toFixed(1)),
    latency_ms: { p50: pct(50), p90: pct(90), p99: pct(99), max: sorted.at(-1)?.toFixed(1) },
  };
  const checks = {
    "no 5xx": fiveXX === 0,
    "every logical create answered 201": failures.length === 0,
    "duplicates answered with their original's id": mismatched.length === 0,
    "replayed answers == duplicates": replayed === dupCount,
    "clients saw exactly one id per logical create": clientIds.size === CREATES,
    "API total == logical creates": apiTotal === CREATES,
    "D1 rows == logical creates": db.rows === CREATES && db.ids === CREATES,
    "D1 idempotency keys == logical creates": db.keys === CREATES,
    "totals counter == rows": db.totals === CREATES,
  };
  if (opts.json) console.log(JSON.stringify({ figures, checks, failures: failures.slice(0, 20) }, null, 2));
  else {
    console.log("\nload figures");
    console.log(JSON.stringify(figures, null, 2));
    console.log("\nchecks");
    for (const [name, ok] of Object.entries(checks)) console.log(`  ${ok ? "ok  " : "FAIL"} ${name}`);
    if (failures.length) console.log("\nfirst failures", failures.slice(0, 10));
  }
  if (!Object.values(checks).every(Boolean)) exitCode = 1;
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  stop();
}
process.exit(exitCode);
