#!/usr/bin/env node
/**
 * `npm run db:seed`: demo data for the local demo tenant, created through the
 * API of a running dev server (`npm run dev` in another terminal), so every
 * row passes the same validation, permissions and counters as real traffic.
 *   npm run db:seed [-- --count 40] [--url http://127.0.0.1:8787]
 * The server is the one `npm run dev` started in this checkout, whatever its
 * port (it records its origin in .wrangler/dev-server.json), unless --url
 * names another.
 * Creates COUNT communications (default 40) for DEMO_TENANT over a handful of
 * customers (the demo customer among them), all types and both directions,
 * then moves some forward with status updates (delivered, read, failed).
 * Each create carries an Idempotency-Key derived from its index and the body
 * is deterministic, so running it again within 24 hours creates nothing new.
 * Tokens are signed with the local key (.dev.vars), as `npm run token` does.
 */
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { DEMO_CUSTOMER, DEMO_TENANT, DEV_SERVER_FILE, devServer, mintToken } from "./lib/local.mjs";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "40" },
    url: { type: "string" },
  },
});
const origin = values.url ?? devServer()?.origin;
if (!origin) {
  console.error(
    `no dev server of this checkout is running (${DEV_SERVER_FILE}): start it with \`npm run dev\`, or pass --url`,
  );
  process.exit(1);
}
const count = Number(values.count);
if (!Number.isInteger(count) || count < 1 || count > 1000) {
  console.error("--count must be an integer from 1 to 1000");
  process.exit(2);
}
const base = `${origin.replace(/\/$/, "")}/delivery/customer-communications`;

/** A stable UUID (version 4 layout) from a name, so reruns send the same bodies. */
function stableUuid(name) {
  const h = createHash("sha256").update(`${DEMO_TENANT}:${name}`).digest("hex");
  const variant = ((Number.parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const customers = [DEMO_CUSTOMER, ...[1, 2, 3, 4].map((i) => stableUuid(`customer-${i}`))];
const types = ["sms", "email", "push_notification", "call"];
const templates = {
  sms: ["delivery-on-way", "Your delivery #{n} is on its way and will arrive between 2-4pm today."],
  email: ["delivery-scheduled", "Your delivery #{n} is scheduled for tomorrow. Track it in the app."],
  push_notification: ["driver-nearby", "Your driver is 5 minutes away with delivery #{n}."],
  call: ["delivery-confirmation", "Call to confirm the address of delivery #{n}."],
};

function body(i) {
  const type = types[i % types.length];
  const inbound = i % 7 === 3;
  const [templateId, text] = templates[type];
  const n = 1000 + i;
  return {
    customer_id: customers[i % customers.length],
    delivery_id: stableUuid(`delivery-${Math.floor(i / 2)}`),
    type,
    direction: inbound ? "inbound" : "outbound",
    status: inbound ? "read" : "sent",
    content: inbound ? `Customer reply about delivery #${n}: please leave it at the door.` : text.replace("{n}", n),
    communication_details: inbound
      ? { sender: { phone: "+19876543210", name: "Demo Customer" }, recipient: { system_component: "support_inbox" } }
      : {
          sender: { system_component: "delivery_notifications", phone: "+15551234567" },
          recipient: { phone: "+19876543210", name: "Demo Customer" },
          template_id: templateId,
          template_variables: { delivery_id: String(n), delivery_window: "2-4pm" },
        },
  };
}

async function send(method, url, token, payload, headers = {}) {
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
      body: JSON.stringify(payload),
    });
  } catch (err) {
    console.error(`cannot reach ${origin} (${err.cause?.code ?? err.message}); start it with \`npm run dev\` first`);
    process.exit(1);
  }
  const json = await res.json().catch(() => undefined);
  return { res, json };
}

const admin = await mintToken({ role: "admin" });
let created = 0;
let replayed = 0;
let updated = 0;
let applied = 0;
const ids = [];
for (let i = 0; i < count; i++) {
  const { res, json } = await send("POST", base, admin, body(i), { "idempotency-key": `demo-seed-${i}` });
  if (res.status !== 201) {
    console.error(`create #${i}: ${res.status} ${JSON.stringify(json)}`);
    process.exit(1);
  }
  if (res.headers.get("idempotent-replayed") === "true") replayed++;
  else created++;
  ids.push({ id: json.communication.id, status: json.communication.status, i });
}

// Provider callbacks: move some outbound messages forward. Repeats change nothing.
const started = Date.parse("2026-01-01T00:00:00Z");
for (const { id, status, i } of ids) {
  if (status !== "sent") continue;
  const steps = i % 5 === 0 ? ["failed"] : i % 3 === 0 ? ["delivered", "read"] : i % 2 === 0 ? ["delivered"] : [];
  // A replayed create answers the original row; ask for the current state.
  const now = await fetch(`${base}/${id}`, { headers: { authorization: `Bearer ${admin}` } }).then((r) => r.json());
  let current = now.communication.status;
  for (const [k, next] of steps.entries()) {
    const occurred_at = new Date(Math.min(Date.now(), started + (i * 60 + k + 1) * 1000)).toISOString();
    const { res, json } = await send("PATCH", `${base}/${id}`, admin, {
      status: next,
      occurred_at,
      details: { provider: "demo" },
    });
    if (res.status !== 200) {
      console.error(`status update ${id} -> ${next}: ${res.status} ${JSON.stringify(json)}`);
      process.exit(1);
    }
    updated++;
    if (json.communication.status !== current) applied++;
    current = json.communication.status;
  }
}

const list = await fetch(`${base}?limit=1`, { headers: { authorization: `Bearer ${admin}` } }).then((r) => r.json());
console.log(
  `tenant ${DEMO_TENANT}: ${created} created, ${replayed} already there (same Idempotency-Key); ${updated} status updates sent, ${applied} applied; ${list.total} communications in total`,
);
console.log(`customer ${DEMO_CUSTOMER} is the demo customer: \`npm run token -- --role customer\` sees only theirs`);
