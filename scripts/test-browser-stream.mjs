#!/usr/bin/env node
/**
 * `npm run test:browser` (part of `npm test`): the README's browser snippet
 * (section "Live stream", its ```js block, as written there) runs in headless
 * Chromium against a local Worker, from a page of another origin, as a
 * dispatcher's screen would:
 *  1. a fresh local D1 and a build of the Worker served by `wrangler dev` on
 *     loopback (scripts/lib/local-worker.mjs), with CORS_ORIGINS naming the
 *     page's origin;
 *  2. a page served by a small local server on another port: BASE and TOKEN
 *     (a customer's token), then the snippet;
 *  3. once the page's EventSource has opened its stream with a ticket, a
 *     communication of that customer is created (and one of another
 *     customer); the page must log the first one's id, and never the other's;
 *  4. the Worker restarts (its objects with it, as on a deploy): the page
 *     must get a new ticket, resume with its last event id, and show a
 *     create made after the restart.
 * Fails when the snippet is missing from README.md, when the page logs an
 * error, or when the create does not show within 30 seconds.
 * Options (environment): PORT, INSPECTOR_PORT, PAGE_PORT (default: free
 * ports), CHROMIUM (default /usr/bin/chromium).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { resolve } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, ensureChromium } from "./lib/chromium.mjs";
import { mintToken, ROOT } from "./lib/local.mjs";
import { startLocalWorker } from "./lib/local-worker.mjs";
import { freePort } from "./lib/ports.mjs";

const TIMEOUT_MS = 30_000;

/** The ```js block of the README's "Live stream" section. */
function readmeSnippet() {
  const readme = readFileSync(resolve(ROOT, "README.md"), "utf8");
  const start = readme.indexOf("\n## Live stream\n");
  if (start === -1) throw new Error('README.md has no "## Live stream" section');
  const section = readme.slice(start + 1, readme.indexOf("\n## ", start + 1));
  const block = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md "Live stream" has no ```js block');
  return block;
}

ensureChromium();
const snippet = readmeSnippet();
const port = Number(process.env.PORT ?? (await freePort()));
const pagePort = Number(process.env.PAGE_PORT ?? (await freePort()));
const pageOrigin = `http://127.0.0.1:${pagePort}`;
const base = `http://127.0.0.1:${port}/delivery/customer-communications`;
const secret = randomBytes(32).toString("hex");
// Under the project (as the load scripts'): wrangler finds wrangler.toml from the built script's folder.
const persist = resolve(ROOT, ".wrangler/hostile/browser-stream");
const worker = startLocalWorker({
  persist,
  port,
  inspectorPort: Number(process.env.INSPECTOR_PORT ?? (await freePort())),
  vars: { JWT_SECRET: secret, CORS_ORIGINS: pageOrigin },
});

const tenant = randomUUID();
const customer = randomUUID();
const customerToken = await mintToken({ role: "customer", tenant, customer, secret, ttl: "1h" });
const adminToken = await mintToken({ role: "admin", tenant, secret, ttl: "1h" });
const page = `<!doctype html><meta charset="utf-8"><title>live stream</title><script>
const BASE = ${JSON.stringify(base)};
const TOKEN = ${JSON.stringify(customerToken)};
${snippet}</script>`;
const pageServer = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(page);
});
await new Promise((ok) => pageServer.listen(pagePort, "127.0.0.1", ok));

const create = async (customerId, content) => {
  const res = await fetch(base, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ customer_id: customerId, type: "sms", content }),
  });
  if (res.status !== 201) throw new Error(`create answered ${res.status}: ${await res.text()}`);
  return (await res.json()).communication.id;
};

let browser;
let failed = false;
try {
  await worker.ready();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const tab = await browser.newPage();
  const logged = [];
  const errors = [];
  const pageErrors = [];
  const requests = [];
  tab.on("console", (msg) => (msg.type() === "error" ? errors : logged).push(msg.text()));
  tab.on("pageerror", (err) => pageErrors.push(String(err)));
  tab.on("request", (r) => requests.push(r.url()));
  const showsWithin = async (id) => {
    const until = Date.now() + TIMEOUT_MS;
    while (!logged.includes(`communication.created ${id}`) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!logged.includes(`communication.created ${id}`)) {
      throw new Error(`the page did not show ${id} within ${TIMEOUT_MS / 1000} s; it logged: ${logged.join(" | ")}`);
    }
  };
  // The stream's response (200, with CORS headers) means the EventSource is open.
  const opened = tab.waitForResponse((r) => r.url().startsWith(`${base}/stream?ticket=`), { timeout: TIMEOUT_MS });
  await tab.goto(`${pageOrigin}/`);
  const stream = await opened;
  if (stream.status() !== 200) throw new Error(`the page's stream answered ${stream.status()}`);
  const allowed = (await stream.allHeaders())["access-control-allow-origin"];
  if (allowed !== pageOrigin) throw new Error(`the stream's Access-Control-Allow-Origin is ${allowed}`);

  const other = await create(randomUUID(), "another customer's message");
  const mine = await create(customer, "Your delivery is on its way");
  await showsWithin(mine);
  if (logged.some((line) => line.includes(other))) throw new Error("the page showed another customer's message");
  if (errors.length || pageErrors.length)
    throw new Error(`the page logged errors: ${[...errors, ...pageErrors].join(" | ")}`);
  console.log(`browser stream: the README snippet's EventSource (a ticket, origin ${pageOrigin}) showed ${mine}`);

  // A restart of the Worker and its objects (a deploy): the connection drops, EventSource's own
  // reconnection is refused (the ticket is used), and the snippet resumes with a new ticket.
  await worker.restart();
  const after = await create(customer, "Delivered");
  await showsWithin(after);
  const tickets = requests.filter((url) => url.startsWith(`${base}/stream?ticket=`));
  if (tickets.length < 2 || !tickets.at(-1)?.includes(`last_event_id=evt_`)) {
    throw new Error(`the page did not resume with a new ticket and its last event id: ${tickets.join(" | ")}`);
  }
  if (pageErrors.length) throw new Error(`the page threw: ${pageErrors.join(" | ")}`);
  console.log(`browser stream: after a restart the snippet resumed with a new ticket and showed ${after}`);
} catch (err) {
  failed = true;
  console.error(String(err?.stack ?? err));
  try {
    console.error(`wrangler dev output (tail):\n${readFileSync(worker.logFile, "utf8").slice(-3000)}`);
  } catch {
    // no log
  }
} finally {
  await browser?.close().catch(() => {});
  pageServer.close();
  worker.stop();
  rmSync(persist, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
