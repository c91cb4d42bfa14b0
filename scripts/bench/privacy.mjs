#!/usr/bin/env node
/**
 * `npm run bench:privacy`: what an erasure and the redaction job cost
 * (issue 21; BENCHMARKS.md, "Privacy"), against the bare SQL of the same
 * work measured in the same run.
 *
 *  1. A fresh local D1 (the real migrations, `--env bench`: one shard and
 *     the directory) seeded in bulk with --size communications of the bench
 *     tenant (scripts/bench/seed.mjs), then shaped in place: --share of the
 *     rows (every 100th by default, spread over the tenant's whole history)
 *     become customer X's, as many others customer Y's, each with a phone
 *     address, a provider id and one status event per non-`sent` row; the
 *     newest 1,000 rows get an idempotency record each.
 *  2. `wrangler dev` of bench/worker.ts on 127.0.0.1:--port.
 *  3. Erasure: the floor first, the bare `DELETE`s of Y's events and rows
 *     in one batch (POST /__bench/sql); then `POST /erasures` for X, polled
 *     until `done`. Its cost is the sum of the Workflow's per-step log lines
 *     ("erasure step": rows read and written), its time the request to done.
 *  4. Redaction: `redact_after_days` set so that the oldest 10 days are due
 *     (about 10,000 rows at 1,000 a day); the floor first, a bare `UPDATE`
 *     of the 10 days after those (not due), then one run of the job
 *     (POST /__bench/redact). Figures per 1,000 communications.
 *
 * Options: --size 1000000  --share 0.01  --port P --inspector-port P (default: free ones)
 *          --keep (leave the database on disk)  --json <file>
 */
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { mintToken, ROOT } from "../lib/local.mjs";
import { freePort, portOption } from "../lib/ports.mjs";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 5)) {
  console.error(
    `needs Node >= 22.5 (node:sqlite); this is ${process.version}. Run it through \`npm run bench:privacy\`.`,
  );
  process.exit(1);
}
const { DatabaseSync } = await import("node:sqlite");
const { benchState, buildWorker, startWorker } = await import("./worker-process.mjs");
const { BENCH_TENANT, MESSAGES_PER_DAY, seed } = await import("./seed.mjs");

const { values: opts } = parseArgs({
  options: {
    size: { type: "string", default: "1000000" },
    share: { type: "string", default: "0.01" },
    port: { type: "string" },
    "inspector-port": { type: "string" },
    keep: { type: "boolean", default: false },
    json: { type: "string", default: ".wrangler/bench/privacy.json" },
  },
});
const N = Number(opts.size.replace(/_/g, ""));
const EVERY = Math.round(1 / Number(opts.share));
const PORT = await portOption(opts.port, () => freePort());
const INSPECTOR_PORT = await portOption(opts["inspector-port"], () => freePort([PORT]));
const ORIGIN = `http://127.0.0.1:${PORT}`;
const BASE = `${ORIGIN}/delivery/customer-communications`;
const SECRET = randomBytes(32).toString("hex");
const DAY = 86_400_000;
const CUSTOMER_X = "e0000000-0000-4000-8000-00000000000a";
const CUSTOMER_Y = "e0000000-0000-4000-8000-00000000000b";
const log = (...args) => console.error(...args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Migrations, the bulk seed, the directory entry, then X's and Y's rows, events and keys. */
async function prepare(now) {
  const dir = resolve(ROOT, `.wrangler/bench/privacy-n${N}`);
  const shardFile = await benchState(dir, BENCH_TENANT, now);
  const t0 = performance.now();
  seed(shardFile, N, now);
  const db = new DatabaseSync(shardFile);
  try {
    db.exec("PRAGMA cache_size = -1000000; PRAGMA synchronous = OFF; BEGIN");
    const shape = db.prepare(`
      WITH numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS k FROM communications WHERE tenant_id = :tenant)
      UPDATE communications SET
        customer_id = :customer, address = :phone, provider = 'twilio',
        provider_message_id = 'SM' || lower(hex(randomblob(16))),
        communication_details = json_set(communication_details, '$.recipient.phone', :phone)
      WHERE tenant_id = :tenant AND id IN (SELECT id FROM numbered WHERE k % :every = :offset)`);
    shape.run({ tenant: BENCH_TENANT, customer: CUSTOMER_X, phone: "+9647500000010", every: EVERY, offset: 0 });
    shape.run({
      tenant: BENCH_TENANT,
      customer: CUSTOMER_Y,
      phone: "+9647500000011",
      every: EVERY,
      offset: Math.floor(EVERY / 2),
    });
    db.prepare(`
      INSERT INTO communication_events (tenant_id, communication_id, id, from_status, status, occurred_at, recorded_at, details)
      SELECT tenant_id, id, substr(id, 1, 24) || lower(hex(randomblob(6))), 'sent', status, updated_at, updated_at,
             json_object('provider', 'twilio', 'to', address)
      FROM communications WHERE tenant_id = :tenant AND customer_id IN (:x, :y) AND status <> 'sent'`).run({
      tenant: BENCH_TENANT,
      x: CUSTOMER_X,
      y: CUSTOMER_Y,
    });
    db.prepare(`
      INSERT INTO idempotency_keys (tenant_id, key, request_hash, communication, created_at, expires_at)
      SELECT tenant_id, 'key-' || id, lower(hex(randomblob(32))),
             json_object('id', id, 'customer_id', customer_id, 'direction', direction, 'communication_details', json(communication_details)),
             created_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+1 day')
      FROM communications WHERE tenant_id = :tenant ORDER BY id DESC LIMIT 1000`).run({ tenant: BENCH_TENANT });
    db.exec("COMMIT");
    const count = (sql, ...p) => db.prepare(sql).get(...p).n;
    const shaped = {
      x: count(
        "SELECT count(*) AS n FROM communications WHERE tenant_id = ? AND customer_id = ?",
        BENCH_TENANT,
        CUSTOMER_X,
      ),
      y: count(
        "SELECT count(*) AS n FROM communications WHERE tenant_id = ? AND customer_id = ?",
        BENCH_TENANT,
        CUSTOMER_Y,
      ),
      events: count("SELECT count(*) AS n FROM communication_events WHERE tenant_id = ?", BENCH_TENANT),
    };
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    return { dir, seedMs: performance.now() - t0, ...shaped };
  } finally {
    db.close();
  }
}

async function api(method, path, token, body) {
  const res = await fetch(`${BASE}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function bare(statements) {
  const res = await fetch(`${ORIGIN}/__bench/sql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ statements }),
  });
  if (!res.ok) throw new Error(`bare SQL: ${res.status} ${await res.text()}`);
  return res.json();
}

/** The smallest UUIDv7 of millisecond `ms` (src/lib/uuid.ts): a time bound as an id bound. */
const idFloor = (ms) => {
  const h = Math.ceil(ms).toString(16).padStart(12, "0") + "0".repeat(20);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

const fmt = (n, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ratio = (a, b) => (b ? (a / b).toFixed(2) : "n/a");

const now = Date.now();
log(`seeding ${fmt(N)} communications, customers X and Y with one in ${EVERY} each ...`);
const prepared = await prepare(now);
log(
  `seeded in ${fmt(prepared.seedMs / 1000, 1)} s: X ${fmt(prepared.x)}, Y ${fmt(prepared.y)}, ${fmt(prepared.events)} events`,
);
const script = buildWorker("privacy-worker");
const worker = await startWorker({
  dir: prepared.dir,
  script,
  port: PORT,
  inspectorPort: INSPECTOR_PORT,
  vars: { JWT_SECRET: SECRET, PROVIDER_SECRETS_KEY: randomBytes(32).toString("base64") },
  logs: true,
});
const results = { size: N, share: 1 / EVERY, at: new Date(now).toISOString() };
try {
  const admin = await mintToken({ role: "admin", tenant: BENCH_TENANT, secret: SECRET });

  // Erasure: the floor (bare deletes of Y), then the real thing for X.
  const floor = await bare([
    {
      sql: `DELETE FROM communication_events WHERE tenant_id = ?1 AND communication_id IN
              (SELECT id FROM communications WHERE tenant_id = ?1 AND customer_id = ?2)`,
      params: [BENCH_TENANT, CUSTOMER_Y],
    },
    { sql: "DELETE FROM communications WHERE tenant_id = ?1 AND customer_id = ?2", params: [BENCH_TENANT, CUSTOMER_Y] },
  ]);
  const t0 = performance.now();
  const { erasure } = await api("POST", "/erasures", admin, { customer_id: CUSTOMER_X, reference: "bench" });
  let done = erasure;
  while (done.status !== "done" && done.status !== "failed") {
    await sleep(100);
    done = (await api("GET", `/erasures/${erasure.id}`, admin)).erasure;
  }
  const erasureMs = performance.now() - t0;
  await sleep(500); // the last step's log line
  const steps = worker.lines.filter((l) => l.msg === "erasure step" && l.erasure_id === erasure.id);
  const sum = (k) => steps.reduce((n, l) => n + (l.d1?.[k] ?? 0), 0);
  results.erasure = {
    status: done.status,
    erased: done.erased,
    ms: erasureMs,
    steps: steps.length,
    batches: steps.filter((l) => l.step === "erase communications").length,
    rows_read: sum("rows_read"),
    rows_written: sum("rows_written"),
    floor: { communications: prepared.y, ms: floor.ms, rows_read: floor.rows_read, rows_written: floor.rows_written },
  };

  // Redaction: the oldest ten days are due.
  const days = Math.floor(N / MESSAGES_PER_DAY) - 10;
  await api("PUT", "/settings", admin, { redact_after_days: days });
  const cutoff = now - days * DAY;
  const floorRedact = await bare([
    {
      sql: `UPDATE communications SET content = NULL, address = NULL, redacted_at = ?2, updated_at = ?2,
              communication_details = json_remove(communication_details, '$.template_variables')
            WHERE tenant_id = ?1 AND id >= ?3 AND id < ?4 AND redacted_at IS NULL RETURNING 1`,
      params: [BENCH_TENANT, new Date(now).toISOString(), idFloor(cutoff + DAY), idFloor(cutoff + 11 * DAY)],
    },
  ]);
  const job = await (await fetch(`${ORIGIN}/__bench/redact?now=${now}`, { method: "POST" })).json();
  results.redaction = {
    redact_after_days: days,
    communications: job.communications,
    ms: job.ms,
    rows_read: job.d1.rows_read,
    rows_written: job.d1.rows_written,
    floor: {
      // The rows the UPDATE redacted (its meta.changes also counts the search index's trigger writes).
      communications: floorRedact.returned,
      ms: floorRedact.ms,
      rows_read: floorRedact.rows_read,
      rows_written: floorRedact.rows_written,
    },
  };
} finally {
  worker.stop();
  if (!opts.keep) rmSync(prepared.dir, { recursive: true, force: true });
}

const e = results.erasure;
const per = (v, n) => (v / n) * 1000;
console.log(`\nPrivacy figures, ${fmt(N)} communications of one tenant (${results.at}):`);
console.log(
  `erasure of customer X (${fmt(e.erased.communications)} communications, ${fmt(e.erased.events)} events): ${e.status} in ${fmt(e.ms / 1000, 1)} s, ` +
    `${e.steps} steps (${e.batches} batches of communications), ${fmt(e.rows_read)} rows read, ${fmt(e.rows_written)} rows written`,
);
console.log(
  `  floor, the bare DELETEs of customer Y (${fmt(e.floor.communications)} communications) in one batch: ${fmt(e.floor.ms)} ms, ` +
    `${fmt(e.floor.rows_read)} rows read, ${fmt(e.floor.rows_written)} rows written`,
);
console.log(
  `  ratios erasure / floor: rows read ${ratio(e.rows_read, e.floor.rows_read)}, rows written ${ratio(e.rows_written, e.floor.rows_written)}, time ${ratio(e.ms, e.floor.ms)}`,
);
const r = results.redaction;
console.log(
  `redaction job (redact_after_days ${r.redact_after_days}): ${fmt(r.communications)} communications in ${fmt(r.ms)} ms; per 1,000: ` +
    `${fmt(per(r.rows_read, r.communications))} rows read, ${fmt(per(r.rows_written, r.communications))} rows written, ${fmt(per(r.ms, r.communications))} ms`,
);
const f = r.floor;
console.log(
  `  floor, one bare UPDATE of the next ten days (${fmt(f.communications)} communications); per 1,000: ` +
    `${fmt(per(f.rows_read, f.communications))} rows read, ${fmt(per(f.rows_written, f.communications))} rows written, ${fmt(per(f.ms, f.communications))} ms`,
);
console.log(
  `  ratios job / floor per communication: rows read ${ratio(r.rows_read / r.communications, f.rows_read / f.communications)}, ` +
    `rows written ${ratio(r.rows_written / r.communications, f.rows_written / f.communications)}, time ${ratio(r.ms / r.communications, f.ms / f.communications)}`,
);
writeFileSync(resolve(ROOT, opts.json), `${JSON.stringify(results, null, 2)}\n`);
log(`results in ${opts.json}`);
