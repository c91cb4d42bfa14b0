#!/usr/bin/env node
/**
 * `npm run load:webhooks`: a provider burst against a real `wrangler dev` on
 * loopback (queue producer and consumer included), then proof that every
 * communication ends in the expected status with exactly the expected events.
 *
 *  1. a fresh local D1 under its own persist dir, migrated with wrangler; a
 *     build of the Worker served by `wrangler dev --no-bundle` with random
 *     JWT_SECRET and PROVIDER_SECRETS_KEY (--var);
 *  2. TENANTS tenants connect Twilio (PUT /providers/twilio, random Auth Token);
 *  3. COMMS communications, each with a Twilio MessageSid and a chain of 4
 *     status callbacks: queued, sent, delivered, read (every 4th: queued,
 *     sent, undelivered, and a "failed" repeat with another status name:
 *     canceled). Signed with twilio's own getExpectedTwilioSignature.
 *     BEFORE_RATIO of the communications get their first two callbacks
 *     before their create (kept, applied at create); the rest of the
 *     callbacks are shuffled (out of order across and within communications)
 *     and DUP_RATIO of them are sent twice; CONCURRENCY requests in flight;
 *  4. waits until the consumer has applied everything, then checks per
 *     communication: its status, and exactly one event per distinct callback
 *     (a duplicate adds none; a status that cannot move forward any more is
 *     recorded without a change); then the totals, and that nothing is left
 *     kept in pending_provider_events (wrangler d1 execute, server stopped).
 *
 * Usage: npm run load:webhooks -- [--comms 1250] [--concurrency 50] [--dup-ratio 0.1]
 *        [--before-ratio 0.2] [--tenants 5] [--port P] [--inspector-port P] (default: free ones) [--json]
 * Exit code 1 when any check fails.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import twilio from "twilio";
import { mintToken, ROOT } from "./lib/local.mjs";
import { startLocalWorker, wrangler } from "./lib/local-worker.mjs";
import { freePort, portOption } from "./lib/ports.mjs";

const { values: opts } = parseArgs({
  options: {
    comms: { type: "string", default: "1250" },
    concurrency: { type: "string", default: "50" },
    "dup-ratio": { type: "string", default: "0.1" },
    "before-ratio": { type: "string", default: "0.2" },
    tenants: { type: "string", default: "5" },
    port: { type: "string" },
    "inspector-port": { type: "string" },
    persist: { type: "string", default: ".wrangler/hostile/load-webhooks" },
    json: { type: "boolean", default: false },
  },
});
const COMMS = Number(opts.comms);
const CONCURRENCY = Number(opts.concurrency);
const DUP_RATIO = Number(opts["dup-ratio"]);
const BEFORE_RATIO = Number(opts["before-ratio"]);
const TENANTS = Number(opts.tenants);
const PORT = await portOption(opts.port, () => freePort());
const INSPECTOR_PORT = await portOption(opts["inspector-port"], () => freePort([PORT]));
const PERSIST = resolve(ROOT, opts.persist);
const BASE = `http://127.0.0.1:${PORT}/delivery/customer-communications`;

// ------------------------------------------------------------------ setup
const jwtSecret = randomBytes(32).toString("hex");
const worker = startLocalWorker({
  persist: PERSIST,
  port: PORT,
  inspectorPort: INSPECTOR_PORT,
  vars: { JWT_SECRET: jwtSecret, PROVIDER_SECRETS_KEY: randomBytes(32).toString("base64") },
});
const stop = worker.stop;

/** At most CONCURRENCY requests in flight. */
let inFlight = 0;
const waiters = [];
async function acquire() {
  if (inFlight < CONCURRENCY) {
    inFlight++;
    return;
  }
  await new Promise((r) => waiters.push(r));
}
const release = () => {
  const next = waiters.shift();
  if (next) next();
  else inFlight--;
};
async function request(url, init, expected) {
  for (let attempt = 1; ; attempt++) {
    await acquire();
    let res;
    let text = "";
    try {
      res = await fetch(url, init);
      text = await res.text();
    } catch (err) {
      if (attempt < 5) continue;
      throw err;
    } finally {
      release();
    }
    if (res.status === expected) return text;
    // A provider retries what was not acknowledged (5xx); 429 is never expected on webhooks.
    if (res.status >= 500 && attempt < 5) {
      stats.retried5xx++;
      await new Promise((r) => setTimeout(r, 200 * attempt));
      continue;
    }
    throw new Error(`${init.method ?? "GET"} ${url}: ${res.status} ${text.slice(0, 300)}`);
  }
}
const shuffle = (list) => {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
};

const stats = { retried5xx: 0, callbacks: 0, acked: 0 };
let exitCode = 0;
try {
  await worker.ready();
  // ---------------------------------------------------------------- tenants
  const tenants = [];
  for (let t = 0; t < TENANTS; t++) {
    const id = randomUUID();
    const admin = await mintToken({ role: "admin", tenant: id, secret: jwtSecret, ttl: "2h" });
    const authToken = randomBytes(16).toString("hex");
    const text = await request(
      `${BASE}/providers/twilio`,
      {
        method: "PUT",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ auth_token: authToken }),
      },
      200,
    );
    tenants.push({ id, admin, authToken, url: JSON.parse(text).provider.webhook_url });
  }

  // ---------------------------------------------------------------- plan
  const comms = Array.from({ length: COMMS }, (_, i) => {
    const failed = i % 4 === 3;
    return {
      i,
      tenant: tenants[i % TENANTS],
      sid: `SM${randomBytes(16).toString("hex")}`,
      chain: failed ? ["queued", "sent", "undelivered", "canceled"] : ["queued", "sent", "delivered", "read"],
      expected: failed ? "failed" : "read",
      before: i < COMMS * BEFORE_RATIO,
    };
  });
  const callback = (c, status) => {
    const params = {
      MessageSid: c.sid,
      MessageStatus: status,
      AccountSid: "ACload",
      To: `+1555${String(c.i).padStart(7, "0")}`,
    };
    return {
      url: c.tenant.url,
      init: {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-twilio-signature": twilio.getExpectedTwilioSignature(c.tenant.authToken, c.tenant.url, params),
        },
        body: new URLSearchParams(params).toString(),
      },
    };
  };
  const early = comms.filter((c) => c.before).flatMap((c) => c.chain.slice(0, 2).map((s) => callback(c, s)));
  const rest = comms.flatMap((c) => c.chain.slice(c.before ? 2 : 0).map((s) => callback(c, s)));
  const all = [...early, ...rest];
  const dups = shuffle([...all]).slice(0, Math.round(all.length * DUP_RATIO));
  const send = (cb) =>
    request(cb.url, cb.init, 200).then(() => {
      stats.acked++;
    });

  // ---------------------------------------------------------------- run
  const started = performance.now();
  // Early callbacks first (and their duplicates), before any create.
  const earlyDups = dups.filter((d) => early.includes(d));
  await Promise.all([...early, ...earlyDups].map(send));
  const earlyS = (performance.now() - started) / 1000;
  // Creates, then the rest of the callbacks shuffled with their duplicates.
  await Promise.all(
    comms.map(async (c) => {
      const text = await request(
        BASE,
        {
          method: "POST",
          headers: { authorization: `Bearer ${c.tenant.admin}`, "content-type": "application/json" },
          body: JSON.stringify({
            customer_id: randomUUID(),
            type: "sms",
            content: `Load ${c.i}`,
            provider: "twilio",
            provider_message_id: c.sid,
            communication_details: { recipient: { phone: `+1555${String(c.i).padStart(7, "0")}` } },
          }),
        },
        201,
      );
      c.id = JSON.parse(text).communication.id;
    }),
  );
  const burstStarted = performance.now();
  const lateDups = dups.filter((d) => !early.includes(d));
  await Promise.all(shuffle([...rest, ...lateDups]).map(send));
  const burstS = (performance.now() - burstStarted) / 1000;
  stats.callbacks = all.length + dups.length;

  // ---------------------------------------------------------------- wait until applied
  const expectedRead = comms.filter((c) => c.expected === "read").length;
  const deadline = Date.now() + 300_000;
  let applied = false;
  while (Date.now() < deadline && !applied) {
    let read = 0;
    let failed = 0;
    for (const t of tenants) {
      const q = (s) =>
        fetch(`${BASE}?status=${s}&limit=1`, { headers: { authorization: `Bearer ${t.admin}` } }).then((r) => r.json());
      read += (await q("read")).total;
      failed += (await q("failed")).total;
    }
    applied = read === expectedRead && failed === COMMS - expectedRead;
    if (!applied) await new Promise((r) => setTimeout(r, 1000));
  }
  const appliedS = (performance.now() - started) / 1000;

  // ---------------------------------------------------------------- check each communication
  const wrong = [];
  await Promise.all(
    comms.map(async (c) => {
      const headers = { authorization: `Bearer ${c.tenant.admin}` };
      const [one, events] = await Promise.all([
        request(`${BASE}/${c.id}`, { headers }, 200).then(JSON.parse),
        request(`${BASE}/${c.id}/events`, { headers }, 200).then(JSON.parse),
      ]);
      const statuses = events.events.map((e) => e.details.provider_status).sort();
      const ok =
        one.communication.status === c.expected &&
        JSON.stringify(statuses) === JSON.stringify([...c.chain].sort()) &&
        events.events.at(-1).status === c.expected;
      if (!ok) wrong.push({ sid: c.sid, status: one.communication.status, expected: c.expected, statuses });
    }),
  );
  stop();
  await new Promise((r) => setTimeout(r, 1500));
  // Summed over the shards (tenants are placed on either).
  const db = { pending: 0, events: 0, rows: 0 };
  for (const shard of ["SHARD_0", "SHARD_1"]) {
    const out = wrangler([
      "d1",
      "execute",
      shard,
      "--local",
      "--persist-to",
      PERSIST,
      "--json",
      "--command",
      "SELECT (SELECT count(*) FROM pending_provider_events) AS pending, (SELECT count(*) FROM communication_events) AS events, (SELECT count(*) FROM communications) AS rows",
    ]);
    const r = JSON.parse(out.stdout)[0].results[0];
    for (const k of Object.keys(db)) db[k] += r[k];
  }
  // The consumer logs each batch with its D1 work (src/webhooks/consumer.ts).
  const batches = readFileSync(worker.logFile, "utf8")
    .split("\n")
    .filter((line) => line.includes('"msg":"webhook batch"'))
    .map((line) => JSON.parse(line.slice(line.indexOf("{"))));
  const sum = (f) => batches.reduce((n, b) => n + f(b), 0);
  const messages = sum((b) => b.size);
  const consumer = {
    batches: batches.length,
    messages,
    failed: sum((b) => b.failed),
    rows_read_per_message: Number((sum((b) => b.d1.rows_read) / messages).toFixed(1)),
    rows_written_per_message: Number((sum((b) => b.d1.rows_written) / messages).toFixed(1)),
    queries_per_message: Number((sum((b) => b.d1.queries) / messages).toFixed(1)),
  };

  const figures = {
    communications: COMMS,
    tenants: TENANTS,
    callbacks_sent: stats.callbacks,
    distinct_callbacks: all.length,
    duplicates: dups.length,
    before_their_create: early.length,
    concurrency: CONCURRENCY,
    acknowledged: stats.acked,
    retried_5xx: stats.retried5xx,
    burst_acknowledged_per_s: Number(((rest.length + lateDups.length) / burstS).toFixed(1)),
    early_phase_s: Number(earlyS.toFixed(2)),
    all_applied_after_s: Number(appliedS.toFixed(1)),
    d1: db,
    consumer,
  };
  const checks = {
    "every callback acknowledged 200": stats.acked === stats.callbacks,
    "everything applied within 5 minutes": applied,
    "every communication in its expected status with exactly one event per distinct callback": wrong.length === 0,
    "events in D1 == distinct callbacks": db.events === all.length,
    "nothing left pending": db.pending === 0,
    "rows == communications": db.rows === COMMS,
  };
  if (opts.json) console.log(JSON.stringify({ figures, checks, wrong: wrong.slice(0, 10) }, null, 2));
  else {
    console.log("\nwebhook load figures");
    console.log(JSON.stringify(figures, null, 2));
    console.log("\nchecks");
    for (const [name, ok] of Object.entries(checks)) console.log(`  ${ok ? "ok  " : "FAIL"} ${name}`);
    if (wrong.length) console.log("\nfirst mismatches", wrong.slice(0, 10));
  }
  if (!Object.values(checks).every(Boolean)) exitCode = 1;
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  stop();
}
process.exit(exitCode);
