#!/usr/bin/env node
/**
 * `npm run load:stream`: the live stream under load, against a real
 * `wrangler dev` on loopback (the Worker, the tenant's StreamHub Durable
 * Object and D1, all in workerd), with its baselines measured in the same run.
 *
 *  1. a fresh local D1 under its own persist dir, migrated with wrangler; a
 *     build of the Worker served by `wrangler dev --no-bundle`, random
 *     JWT_SECRET (--var);
 *  2. baseline: CHANGES changes to one tenant (creates, then status changes
 *     of some of them) with no stream open, paced at RATE per second over
 *     USERS staff users; the workerd's CPU time (user + system, from
 *     /proc/<pid>/stat) is read around them. Also IDLE seconds of nothing;
 *  3. STREAMS streams of that tenant: 40 % staff (half of them with one of
 *     the list's filters), 60 % customers (a pool of STREAMS / 4 customers,
 *     each with one unfiltered stream and one with a `type` filter, some
 *     customers with two); IDLE seconds with them open and idle (the
 *     keep-alives are all they cost); then the same CHANGES again;
 *  4. checks: every change reached every stream that should see it (the
 *     list's visibility and filters, computed here independently from the
 *     communication the API returned), exactly once, and no other stream;
 *  5. prints: deliveries, missing, unexpected, duplicates; commit-to-frame
 *     latency p50/p99/max over every delivery and over each change's last
 *     delivery, from the change's timestamp (`created_at` or `updated_at`,
 *     taken by the Worker just before its D1 write: an upper bound, which
 *     includes that write; same machine, same clock), and the frame's time
 *     after the API's answer reached this client (a lower bound: the commit
 *     was before the answer); the workerd's
 *     CPU per change without streams, with STREAMS streams, their difference
 *     (the fan-out: matching, framing, queuing and writing every frame,
 *     through the Worker to the sockets) per change and per frame, and idle
 *     CPU per second with and without the streams.
 *
 * Usage: npm run load:stream -- [--streams 200] [--changes 1000] [--rate 8]
 *        [--users 10] [--idle 20] [--port P] [--inspector-port P] (default: free ones) [--json]
 * Small run: npm run load:stream -- --streams 20 --changes 100 --idle 3
 * Exit code 1 when any check fails.
 */
import { spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { mintToken, ROOT } from "./lib/local.mjs";
import { startLocalWorker } from "./lib/local-worker.mjs";
import { freePort, portOption } from "./lib/ports.mjs";

const { values: opts } = parseArgs({
  options: {
    streams: { type: "string", default: "200" },
    changes: { type: "string", default: "1000" },
    rate: { type: "string", default: "8" },
    users: { type: "string", default: "10" },
    idle: { type: "string", default: "20" },
    port: { type: "string" },
    "inspector-port": { type: "string" },
    persist: { type: "string", default: ".wrangler/hostile/load-stream" },
    json: { type: "boolean", default: false },
  },
});
const STREAMS = Number(opts.streams);
const CHANGES = Number(opts.changes);
const RATE = Number(opts.rate);
const USERS = Number(opts.users);
const IDLE_S = Number(opts.idle);
const PORT = await portOption(opts.port, () => freePort());
const INSPECTOR_PORT = await portOption(opts["inspector-port"], () => freePort([PORT]));
const BASE = `http://127.0.0.1:${PORT}/delivery/customer-communications`;
const say = (...args) => {
  if (!opts.json) console.log(...args);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ the Worker
const secret = randomBytes(32).toString("hex");
const worker = startLocalWorker({
  persist: resolve(ROOT, opts.persist),
  port: PORT,
  inspectorPort: INSPECTOR_PORT,
  vars: { JWT_SECRET: secret },
});
await worker.ready();

/** CPU ms (user + system) of the workerd serving the Worker: the one wrangler starts with an inspector. */
function workerdCpu() {
  const pids = spawnSync("pgrep", ["-g", String(worker.pgid), "workerd"], { encoding: "utf8" })
    .stdout.trim()
    .split("\n")
    .filter(Boolean);
  const ticks = (pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
  };
  const served = pids.filter((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--inspector-addr"));
  return (served.length ? served : pids).reduce((sum, pid) => sum + ticks(pid), 0);
}

/** CPU ms of every workerd of the group (the Worker's and wrangler's proxy in front of it). */
function allWorkerdCpu() {
  const pids = spawnSync("pgrep", ["-g", String(worker.pgid), "workerd"], { encoding: "utf8" })
    .stdout.trim()
    .split("\n")
    .filter(Boolean);
  return pids.reduce((sum, pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return sum + (Number(fields[11]) + Number(fields[12])) * 10;
  }, 0);
}
/** This client's own CPU ms (parsing every frame of every stream). */
const clientCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// ------------------------------------------------------------------ callers
const TENANT = randomUUID();
const TYPES = ["sms", "email", "push_notification", "call"];
const customers = Array.from({ length: Math.max(2, Math.round(STREAMS / 4)) }, () => randomUUID());
const deliveries = Array.from({ length: 10 }, () => randomUUID());
const admins = await Promise.all(
  Array.from({ length: USERS }, () => mintToken({ role: "admin", tenant: TENANT, secret, ttl: "2h" })),
);
const pick = (list, i) => list[i % list.length];

/** The streams to open: who, with which filters. */
function streamPlan() {
  const staff = Math.round(STREAMS * 0.4);
  const staffFilters = [
    {},
    { type: "sms" },
    { status: "delivered" },
    { direction: "inbound" },
    { delivery_id: deliveries[0] },
    { customer_id: customers[0] },
    { provider: "twilio" },
    { type: "email", direction: "outbound" },
  ];
  const plan = [];
  for (let i = 0; i < staff; i++) {
    plan.push({ role: i % 2 ? "viewer" : "admin", filters: i % 2 ? pick(staffFilters, i) : {} });
  }
  for (let i = 0; plan.length < STREAMS; i++) {
    const customer = pick(customers, i);
    plan.push({ role: "customer", customer, filters: i >= customers.length ? { type: pick(TYPES, i) } : {} });
  }
  return plan;
}

/** The list's rules, restated independently of src/stream/filters.ts. */
function shouldSee(stream, c) {
  if (c.tenant_id !== TENANT) return false;
  if (stream.role === "customer" && c.customer_id !== stream.customer) return false;
  return Object.entries(stream.filters).every(([k, v]) => c[k] === v);
}

// ------------------------------------------------------------------ streams
const decoder = new TextDecoder();

async function openStream(spec, index) {
  const token = await mintToken({
    role: spec.role === "admin" ? "admin" : spec.role === "viewer" ? "viewer" : "customer",
    tenant: TENANT,
    customer: spec.customer,
    secret,
    ttl: "2h",
  });
  const query = new URLSearchParams(spec.filters).toString();
  const res = await fetch(`${BASE}/stream${query ? `?${query}` : ""}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200) throw new Error(`stream ${index}: ${res.status} ${await res.text()}`);
  const stream = { ...spec, index, received: new Map(), duplicates: 0, opened: false, ended: false, keepAlives: 0 };
  const reader = res.body.getReader();
  stream.cancel = () => reader.cancel().catch(() => {});
  (async () => {
    let buffer = "";
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true }));
      if (done) break;
      const now = Date.now();
      buffer += decoder.decode(value, { stream: true });
      let cut = buffer.indexOf("\n\n");
      while (cut !== -1) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        cut = buffer.indexOf("\n\n");
        if (frame.startsWith("retry:")) stream.opened = true;
        if (frame.startsWith(": keep-alive")) stream.keepAlives++;
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (!data) continue;
        const event = JSON.parse(data);
        const c = event.data.communication;
        const key = changeKey(c);
        if (stream.received.has(key)) stream.duplicates++;
        else stream.received.set(key, { arrived: now, fromTimestamp: now - Date.parse(event.timestamp) });
      }
    }
    stream.ended = true;
  })();
  return stream;
}

const changeKey = (c) => `${c.id}|${c.status}|${c.updated_at}`;
/** When this client sent each change, and when the API's answer (after the commit) came back. */
const timing = new Map();

// ------------------------------------------------------------------ changes
let retried429 = 0;
async function send(path, init, i) {
  for (;;) {
    const res = await fetch(`${BASE}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${pick(admins, i)}`, "content-type": "application/json" },
    });
    if (res.status === 429) {
      retried429++;
      await sleep(1000);
      continue;
    }
    const body = await res.json();
    if (res.status !== 200 && res.status !== 201)
      throw new Error(`${init.method} ${path}: ${res.status} ${JSON.stringify(body)}`);
    return body.communication;
  }
}

/**
 * CHANGES changes at RATE per second: 60 % creates, then status changes of
 * the created ones (sent -> delivered -> read, or sent -> failed). Returns
 * every change as the API answered it.
 */
async function makeChanges() {
  const creates = Math.round(CHANGES * 0.6);
  const done = [];
  const live = [];
  const started = Date.now();
  const inFlight = new Set();
  for (let i = 0; i < CHANGES; i++) {
    const due = started + (i * 1000) / RATE;
    if (due > Date.now()) await sleep(due - Date.now());
    const sent = Date.now();
    const work =
      i < creates
        ? send(
            "",
            {
              method: "POST",
              body: JSON.stringify({
                // 1 in 5 to a customer with no stream open.
                customer_id: i % 5 === 4 ? randomUUID() : pick(customers, i * 7),
                delivery_id: pick(deliveries, i * 3),
                type: pick(TYPES, i),
                direction: i % 3 === 2 ? "inbound" : "outbound",
                content: `Your delivery #${i} is on its way`,
                ...(i % 2 ? { provider: "twilio", provider_message_id: `SM${randomUUID().replaceAll("-", "")}` } : {}),
              }),
            },
            i,
          ).then((c) => live.push(c) && c)
        : (async () => {
            // One change at a time per communication, so that each one changes something (and has its event).
            const target = live.find((c) => !c.busy && (c.status === "sent" || c.status === "delivered"));
            if (!target) throw new Error("no communication left to change");
            const status = target.status === "delivered" ? "read" : i % 4 === 0 ? "failed" : "delivered";
            target.busy = true;
            const c = await send(
              `/${target.id}`,
              { method: "PATCH", body: JSON.stringify({ status, occurred_at: new Date().toISOString() }) },
              i,
            );
            Object.assign(target, c, { busy: false });
            return c;
          })();
    const tracked = work.then((c) => {
      timing.set(changeKey(c), { sent, answered: Date.now() });
      done.push({ ...c });
    });
    inFlight.add(tracked);
    tracked.finally(() => inFlight.delete(tracked));
    // Status changes need their create answered first.
    if (i === creates - 1) await Promise.all(inFlight);
  }
  await Promise.all(inFlight);
  return { changes: done, seconds: (Date.now() - started) / 1000 };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (n, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

// ------------------------------------------------------------------ run
let exitCode = 0;
try {
  say(
    `load:stream: ${STREAMS} streams, ${CHANGES} changes at ${RATE}/s, tenant ${TENANT}, loadavg ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );

  let cpu = workerdCpu();
  await sleep(IDLE_S * 1000);
  const idleBaseline = (workerdCpu() - cpu) / IDLE_S;

  say("baseline: changes with no stream open ...");
  cpu = workerdCpu();
  const base = await makeChanges();
  const baseCpu = workerdCpu() - cpu;

  say(`opening ${STREAMS} streams ...`);
  const plan = streamPlan();
  const streams = [];
  for (let i = 0; i < plan.length; i += 20) {
    streams.push(...(await Promise.all(plan.slice(i, i + 20).map((s, j) => openStream(s, i + j)))));
  }
  const openDeadline = Date.now() + 30_000;
  while (streams.some((s) => !s.opened) && Date.now() < openDeadline) await sleep(50);
  if (streams.some((s) => !s.opened)) throw new Error("some streams never sent their opening frame");

  say(`idle for ${IDLE_S} s with ${STREAMS} streams open ...`);
  cpu = workerdCpu();
  await sleep(IDLE_S * 1000);
  const idleStreams = (workerdCpu() - cpu) / IDLE_S;
  const keepAlives = streams.reduce((n, s) => n + s.keepAlives, 0);

  say("changes with the streams open ...");
  cpu = workerdCpu();
  const allBefore = allWorkerdCpu();
  const clientBefore = clientCpu();
  const run = await makeChanges();
  // Every expected frame, or 30 s.
  const expected = streams.map((s) => run.changes.filter((c) => shouldSee(s, c)).map(changeKey));
  const totalExpected = expected.reduce((n, e) => n + e.length, 0);
  const waitUntil = Date.now() + 30_000;
  const receivedCount = () => streams.reduce((n, s) => n + s.received.size, 0);
  while (receivedCount() < totalExpected && Date.now() < waitUntil) await sleep(50);
  const streamCpu = workerdCpu() - cpu;
  const allStreamCpu = allWorkerdCpu() - allBefore;
  const clientStreamCpu = clientCpu() - clientBefore;

  // Checks
  let missing = 0;
  let unexpected = 0;
  const latencies = [];
  const afterAnswer = [];
  const sendToFrame = [];
  const lastDelivery = new Map();
  for (const [i, s] of streams.entries()) {
    const want = new Set(expected[i]);
    for (const key of want) if (!s.received.has(key)) missing++;
    for (const [key, { arrived, fromTimestamp }] of s.received) {
      if (!want.has(key)) unexpected++;
      else {
        latencies.push(fromTimestamp);
        const t = timing.get(key);
        afterAnswer.push(arrived - t.answered);
        sendToFrame.push(arrived - t.sent);
        lastDelivery.set(key, Math.max(lastDelivery.get(key) ?? 0, fromTimestamp));
      }
    }
  }
  afterAnswer.sort((a, b) => a - b);
  sendToFrame.sort((a, b) => a - b);
  // The baseline of the same run: the API's own answer to each change, from the same client.
  const sendToAnswer = run.changes.map((c) => timing.get(changeKey(c))).map((t) => t.answered - t.sent);
  sendToAnswer.sort((a, b) => a - b);
  const duplicates = streams.reduce((n, s) => n + s.duplicates, 0);
  const ended = streams.filter((s) => s.ended).length;
  const unseen = run.changes.filter((c) => !streams.some((s) => shouldSee(s, c))).length;
  latencies.sort((a, b) => a - b);
  const perChange = [...lastDelivery.values()].sort((a, b) => a - b);
  for (const s of streams) s.cancel();

  const fanoutCpu = streamCpu - baseCpu;
  const result = {
    streams: STREAMS,
    staff_streams: streams.filter((s) => s.role !== "customer").length,
    customer_streams: streams.filter((s) => s.role === "customer").length,
    changes: run.changes.length,
    rate_per_s: round(run.changes.length / run.seconds, 1),
    deliveries_expected: totalExpected,
    deliveries: latencies.length,
    missing,
    unexpected,
    duplicates,
    streams_ended_early: ended,
    changes_seen_by_no_stream: unseen,
    retried_429: retried429,
    latency_ms: {
      per_delivery: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) },
      per_change_last_delivery: {
        p50: percentile(perChange, 50),
        p99: percentile(perChange, 99),
        max: perChange.at(-1),
      },
      after_api_answer: { p50: percentile(afterAnswer, 50), p99: percentile(afterAnswer, 99) },
      send_to_frame: { p50: percentile(sendToFrame, 50), p99: percentile(sendToFrame, 99) },
      send_to_answer_baseline: { p50: percentile(sendToAnswer, 50), p99: percentile(sendToAnswer, 99) },
    },
    cpu_ms: {
      per_change_without_streams: round(baseCpu / base.changes.length),
      per_change_with_streams: round(streamCpu / run.changes.length),
      ratio: round(streamCpu / run.changes.length / (baseCpu / base.changes.length)),
      fanout_per_change: round(fanoutCpu / run.changes.length),
      fanout_per_delivery: round(fanoutCpu / Math.max(1, latencies.length), 4),
      idle_per_s_without_streams: round(idleBaseline),
      idle_per_s_with_streams: round(idleStreams),
      keep_alive_frames_during_idle: keepAlives,
      every_workerd_with_streams: round(allStreamCpu),
      this_client_with_streams: round(clientStreamCpu),
    },
    loadavg: loadavg().map((l) => round(l, 1)),
  };
  const ok = missing === 0 && unexpected === 0 && duplicates === 0 && ended === 0;
  if (!ok) exitCode = 1;
  if (opts.json) console.log(JSON.stringify(result, null, 2));
  else {
    say("");
    say(
      `streams                 ${result.streams} (${result.staff_streams} staff, ${result.customer_streams} customers)`,
    );
    say(
      `changes                 ${result.changes} at ${result.rate_per_s}/s (${unseen} seen by no stream; ${retried429} answered 429 and retried)`,
    );
    say(
      `deliveries              ${result.deliveries} of ${totalExpected} expected; missing ${missing}, unexpected ${unexpected}, duplicates ${duplicates}, streams ended early ${ended}`,
    );
    say(
      `latency, commit->frame  per delivery p50 ${result.latency_ms.per_delivery.p50} ms, p99 ${result.latency_ms.per_delivery.p99} ms, max ${result.latency_ms.per_delivery.max} ms`,
    );
    say(
      `                        per change (last stream) p50 ${result.latency_ms.per_change_last_delivery.p50} ms, p99 ${result.latency_ms.per_change_last_delivery.p99} ms`,
    );
    say(
      `frame after API answer  p50 ${result.latency_ms.after_api_answer.p50} ms, p99 ${result.latency_ms.after_api_answer.p99} ms (negative: the frame came first)`,
    );
    const l = result.latency_ms;
    say(
      `from this client's send frame p50 ${l.send_to_frame.p50} ms, p99 ${l.send_to_frame.p99} ms; the API's own answer (baseline) p50 ${l.send_to_answer_baseline.p50} ms, p99 ${l.send_to_answer_baseline.p99} ms (x${round(l.send_to_frame.p50 / l.send_to_answer_baseline.p50)}, x${round(l.send_to_frame.p99 / l.send_to_answer_baseline.p99)})`,
    );
    say(
      `workerd CPU per change  ${result.cpu_ms.per_change_without_streams} ms without streams, ${result.cpu_ms.per_change_with_streams} ms with ${STREAMS} (x${result.cpu_ms.ratio})`,
    );
    say(
      `fan-out CPU             ${result.cpu_ms.fanout_per_change} ms per change, ${result.cpu_ms.fanout_per_delivery} ms per frame delivered`,
    );
    say(
      `idle CPU per second     ${result.cpu_ms.idle_per_s_without_streams} ms without streams, ${result.cpu_ms.idle_per_s_with_streams} ms with ${STREAMS} open (${keepAlives} keep-alive frames in ${IDLE_S} s)`,
    );
    say(
      `CPU of the changes run  ${round(streamCpu)} ms the Worker's workerd, ${result.cpu_ms.every_workerd_with_streams} ms with wrangler's proxy, ${result.cpu_ms.this_client_with_streams} ms this client`,
    );
    say(`loadavg                 ${result.loadavg.join(" ")}`);
    say(ok ? "OK: every change reached every stream that should see it, once, and no other" : "FAILED");
  }
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  worker.stop();
}
process.exit(exitCode);
