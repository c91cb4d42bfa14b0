#!/usr/bin/env node
/**
 * `npm run load:events`: events out under load, against a real `wrangler dev`
 * on loopback (the deliveries queue and its consumer included) and a local
 * receiver (a Node HTTP server on 127.0.0.1) that verifies every delivery
 * with the `standardwebhooks` library.
 *
 *  1. a fresh local D1 under its own persist dir, migrated with wrangler; a
 *     build of the Worker under `wrangler dev --no-bundle` with random
 *     JWT_SECRET and PROVIDER_SECRETS_KEY and OUTBOUND_ALLOW_LOOPBACK=true;
 *  2. tenant S gets two subscriptions (both event types) to the receiver,
 *     at two paths; tenant N has none;
 *  3. CREATES creates for each tenant, in alternating rounds (ROUNDS per
 *     tenant, CONCURRENCY in flight), so that both see the same machine:
 *     creates/s of S against N, and the D1 rows each create wrote and read
 *     (the Server-Timing header staff get);
 *  4. waits until every event of S reached both receivers, then reports
 *     deliveries, duplicates (same webhook-id twice at one path), signature
 *     failures, commit-to-receipt latency (event timestamp to receipt) p50 /
 *     p99, and the consumer's D1 rows per delivery (its batch log lines).
 *
 * Usage: npm run load:events -- [--creates 10000] [--concurrency 20] [--rounds 5]
 *        [--port P] [--inspector-port P] [--receiver-port P] (default: free ones) [--json]
 * Exit code 1 when a check fails.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { Webhook } from "standardwebhooks";
import { mintToken, ROOT } from "./lib/local.mjs";
import { startLocalWorker } from "./lib/local-worker.mjs";
import { freePort, portOption } from "./lib/ports.mjs";

const { values: opts } = parseArgs({
  options: {
    creates: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "20" },
    rounds: { type: "string", default: "5" },
    port: { type: "string" },
    "inspector-port": { type: "string" },
    "receiver-port": { type: "string" },
    persist: { type: "string", default: ".wrangler/hostile/load-events" },
    json: { type: "boolean", default: false },
  },
});
const CREATES = Number(opts.creates);
const CONCURRENCY = Number(opts.concurrency);
const ROUNDS = Number(opts.rounds);
const PORT = await portOption(opts.port, () => freePort());
const INSPECTOR_PORT = await portOption(opts["inspector-port"], () => freePort([PORT]));
const RECEIVER_PORT = await portOption(opts["receiver-port"], () => freePort([PORT, INSPECTOR_PORT]));
const BASE = `http://127.0.0.1:${PORT}/delivery/customer-communications`;

// ------------------------------------------------------------------ receiver
const received = new Map(); // path -> Map(webhook-id -> count)
const latencies = [];
const stats = { deliveries: 0, duplicates: 0, badSignatures: 0 };
let secrets = {}; // path -> Webhook
const receiver = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const at = Date.now();
    const body = Buffer.concat(chunks).toString("utf8");
    const path = req.url ?? "";
    const verifier = secrets[path];
    try {
      verifier.verify(body, req.headers);
    } catch {
      stats.badSignatures++;
    }
    const id = req.headers["webhook-id"];
    const seen = received.get(path) ?? new Map();
    received.set(path, seen);
    const n = seen.get(id) ?? 0;
    seen.set(id, n + 1);
    stats.deliveries++;
    if (n > 0) stats.duplicates++;
    else latencies.push(at - Date.parse(JSON.parse(body).timestamp));
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
  });
});
await new Promise((r) => receiver.listen(RECEIVER_PORT, "127.0.0.1", r));

// ------------------------------------------------------------------ worker
const jwtSecret = randomBytes(32).toString("hex");
const worker = startLocalWorker({
  persist: resolve(ROOT, opts.persist),
  port: PORT,
  inspectorPort: INSPECTOR_PORT,
  vars: {
    JWT_SECRET: jwtSecret,
    PROVIDER_SECRETS_KEY: randomBytes(32).toString("base64"),
    OUTBOUND_ALLOW_LOOPBACK: "true",
  },
});

const pct = (list, p) => {
  if (!list.length) return null;
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const d1Of = (res) => {
  const m = /d1;dur=[\d.]+;desc="(\d+) queries, (\d+) rows read, (\d+) rows written"/.exec(
    res.headers.get("server-timing") ?? "",
  );
  return m ? { queries: Number(m[1]), read: Number(m[2]), written: Number(m[3]) } : undefined;
};

async function createMany(tenant, count, sums) {
  let next = 0;
  // One token (one user) per lane: the per-user rate limit (300 / 10 s) is not what is measured.
  const one = async (lane) => {
    while (next < count) {
      next++;
      for (let attempt = 1; ; attempt++) {
        const res = await fetch(BASE, {
          method: "POST",
          headers: { authorization: `Bearer ${tenant.lanes[lane]}`, "content-type": "application/json" },
          body: JSON.stringify({
            customer_id: randomUUID(),
            type: "sms",
            content: "Your delivery is on its way",
            communication_details: { recipient: { phone: "+15550000000" } },
          }),
        });
        await res.text();
        if (res.status === 201) {
          const d1 = d1Of(res);
          if (d1) {
            sums.n++;
            sums.queries += d1.queries;
            sums.read += d1.read;
            sums.written += d1.written;
          }
          break;
        }
        if ((res.status >= 500 || res.status === 429) && attempt < 10) {
          await new Promise((r) => setTimeout(r, res.status === 429 ? 1000 : 100));
          continue;
        }
        throw new Error(`create: ${res.status}`);
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, lane) => one(lane)));
  return (performance.now() - started) / 1000;
}

let exitCode = 0;
try {
  await worker.ready();
  const tenant = async () => {
    const id = randomUUID();
    const mint = () => mintToken({ role: "admin", tenant: id, secret: jwtSecret, ttl: "4h" });
    const lanes = await Promise.all(Array.from({ length: CONCURRENCY }, mint));
    return { id, admin: lanes[0], lanes };
  };
  const [withSubs, without] = [await tenant(), await tenant()];
  for (const path of ["/crm", "/notifications"]) {
    const res = await fetch(`${BASE}/subscriptions`, {
      method: "POST",
      headers: { authorization: `Bearer ${withSubs.admin}`, "content-type": "application/json" },
      body: JSON.stringify({
        url: `http://127.0.0.1:${RECEIVER_PORT}${path}`,
        events: ["communication.created", "communication.status_changed"],
      }),
    });
    if (res.status !== 201) throw new Error(`subscribe: ${res.status} ${await res.text()}`);
    secrets[path] = new Webhook((await res.json()).subscription.secret);
  }
  secrets = { ...secrets };
  // Both tenants placed and warm before measuring.
  const empty = { n: 0, queries: 0, read: 0, written: 0 };
  await createMany(withSubs, CONCURRENCY, { ...empty });
  await createMany(without, CONCURRENCY, { ...empty });

  const sums = { with: { ...empty }, without: { ...empty } };
  const seconds = { with: 0, without: 0 };
  const perRound = Math.ceil(CREATES / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which goes first, so neither always meets the other's backlog.
    const order = r % 2 ? ["without", "with"] : ["with", "without"];
    for (const which of order) {
      seconds[which] += await createMany(which === "with" ? withSubs : without, perRound, sums[which]);
    }
  }
  const expected = CREATES + CONCURRENCY; // the warm-up creates are delivered too
  const deadline = Date.now() + 600_000;
  const distinct = () => Math.min(...["/crm", "/notifications"].map((p) => received.get(p)?.size ?? 0));
  while (distinct() < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));

  const batches = readFileSync(worker.logFile, "utf8")
    .split("\n")
    .filter((line) => line.includes('"msg":"event delivery batch"'))
    .map((line) => JSON.parse(line.slice(line.indexOf("{"))));
  const sum = (f) => batches.reduce((n, b) => n + f(b), 0);
  const attempted = sum((b) => b.succeeded + b.failed);
  const per = (s) => ({
    creates: s.n,
    queries: Number((s.queries / s.n).toFixed(2)),
    rows_read: Number((s.read / s.n).toFixed(2)),
    rows_written: Number((s.written / s.n).toFixed(2)),
  });
  const rates = { with: sums.with.n / seconds.with, without: sums.without.n / seconds.without };
  const figures = {
    creates_per_tenant: CREATES,
    concurrency: CONCURRENCY,
    rounds: ROUNDS,
    events_expected_per_receiver: expected,
    distinct_events_received: Object.fromEntries([...received].map(([p, m]) => [p, m.size])),
    deliveries_received: stats.deliveries,
    duplicates: stats.duplicates,
    signature_failures: stats.badSignatures,
    commit_to_receipt_ms: { p50: pct(latencies, 50), p99: pct(latencies, 99), max: pct(latencies, 100) },
    creates_per_s: {
      with_subscriptions: Number(rates.with.toFixed(1)),
      without: Number(rates.without.toFixed(1)),
      ratio: Number((rates.with / rates.without).toFixed(3)),
    },
    d1_per_create_request: { with_subscriptions: per(sums.with), without: per(sums.without) },
    extra_rows_written_per_create_request: Number(
      (sums.with.written / sums.with.n - sums.without.written / sums.without.n).toFixed(2),
    ),
    consumer: {
      batches: batches.length,
      attempts: attempted,
      deferred: sum((b) => b.deferred),
      rows_written_per_attempt: Number((sum((b) => b.d1.rows_written) / attempted).toFixed(2)),
      rows_read_per_attempt: Number((sum((b) => b.d1.rows_read) / attempted).toFixed(2)),
    },
  };
  const checks = {
    "every event delivered at least once to both receivers": distinct() >= expected,
    "every delivery verified with standardwebhooks": stats.badSignatures === 0,
    "creates/s with subscriptions >= 0.9 of without": rates.with / rates.without >= 0.9,
  };
  if (opts.json) console.log(JSON.stringify({ figures, checks }, null, 2));
  else {
    console.log("\nevents out load figures");
    console.log(JSON.stringify(figures, null, 2));
    console.log("\nchecks");
    for (const [name, ok] of Object.entries(checks)) console.log(`  ${ok ? "ok  " : "FAIL"} ${name}`);
  }
  if (!checks["every event delivered at least once to both receivers"] || stats.badSignatures) exitCode = 1;
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  worker.stop();
  receiver.close();
}
process.exit(exitCode);
