#!/usr/bin/env node
/**
 * `npm run test:contract` (the last stage of `npm test`): the OpenAPI document
 * as clients meet it, checked from outside by tools nobody here wrote.
 *
 *  1. The built Worker runs under `wrangler dev` three times, on fresh local
 *     state: A as configured for real traffic (migrated, an archived day in
 *     R2, PUBLIC_BASE_URL = Prism's origin: the service behind a gateway);
 *     B misconfigured (a JWT_SECRET under 32 bytes, databases not migrated),
 *     which answers 500; C with a JWKS_URL nothing listens on, which answers
 *     503. Each sits behind Stoplight Prism's validating proxy, started on
 *     the document A serves.
 *  2. `openapi-typescript` generates types from A's /openapi.json; tsc checks
 *     ./client.ts against them (its `@ts-expect-error` lines must be errors),
 *     and the program runs through Prism with `openapi-fetch`.
 *  3. ./plan.mjs sends its requests through the proxies. Every answer must
 *     have the status the step expects, and Prism must report no violation
 *     of the response; of the request only where the step says the request
 *     breaks the document on purpose (and then it must report one).
 *  4. Coverage: every (operation, documented status) of the served document
 *     must have been answered through Prism, but for EXEMPT below. A route
 *     or status added without a step here fails this stage.
 *
 * Success prints one line. On failure: what failed, and where the logs are.
 *   npm run test:contract [-- --dist dist] [-- --keep]
 * `--dist`: serve that build (npm test passes the one `npm run build` made);
 * else build into the state directory. CONTRACT_PORTS="p1,p2,...": the ten
 * ports to use (default: free ones the system picks).
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import openapiTS, { astToString } from "openapi-typescript";
import { ROOT } from "../../../scripts/lib/local.mjs";
import { startLocalWorker } from "../../../scripts/lib/local-worker.mjs";
import { plan } from "./plan.mjs";

if (!process.features.typescript) {
  // ./client.ts runs as TypeScript: Node 22.18+ strips types (npm scripts use the project's Node 22).
  console.error("test:contract needs Node 22.18 or later: run it as `npm run test:contract`");
  process.exit(2);
}
const { values: opts } = parseArgs({
  options: { dist: { type: "string" }, keep: { type: "boolean", default: false } },
});
const STATE = resolve(ROOT, ".wrangler/contract");
const HERE = resolve(ROOT, "test/openapi/contract");
const started = Date.now();
/** CONTRACT_VERBOSE=1: when each phase ends, on stderr. */
const phase = (name) => {
  if (process.env.CONTRACT_VERBOSE) console.error(`${((Date.now() - started) / 1000).toFixed(1)} s: ${name}`);
};

/**
 * Documented statuses no local run can produce, each with its reason. Keep
 * it short: anything else documented must be exercised.
 */
const EXEMPT = {
  "twilioWebhook 503":
    "the queue or D1 failing: miniflare's queues and D1 do not fail on demand (tested in workerd: test/webhooks)",
  "sendgridWebhook 503": "as twilioWebhook 503",
  "standardWebhook 503": "as twilioWebhook 503",
};

// ------------------------------------------------------------------ ports
/** `n` distinct ports the system reports free (all held open until each is known, then released). */
async function freePorts(n) {
  const servers = await Promise.all(
    Array.from({ length: n }, async () => {
      const server = createServer();
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      return server;
    }),
  );
  const ports = servers.map((server) => server.address().port);
  await Promise.all(servers.map((server) => new Promise((r) => server.close(r))));
  return ports;
}
const fixed = process.env.CONTRACT_PORTS?.split(",").map(Number);
if (fixed && (fixed.length < 10 || fixed.some((p) => !Number.isInteger(p)))) {
  console.error("CONTRACT_PORTS needs ten ports, comma-separated");
  process.exit(2);
}
const ports = fixed ?? (await freePorts(10));
const [portA, inspectA, portB, inspectB, portC, inspectC, prismA, prismB, prismC, jwksPort] = ports;
// Nothing listens on the tenth port: C's JWKS endpoint is unreachable.
const deadJwks = `http://127.0.0.1:${jwksPort}/jwks.json`;

// ------------------------------------------------------------------ build and state
rmSync(STATE, { recursive: true, force: true });
mkdirSync(STATE, { recursive: true });
const ENV = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" };
function mustRun(cmd, args) {
  const out = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", env: ENV });
  if (out.status !== 0) {
    console.error(`${cmd} ${args.join(" ")} failed:\n${out.stdout}${out.stderr}`);
    process.exit(1);
  }
}
const dist = opts.dist ? resolve(ROOT, opts.dist) : resolve(STATE, "dist");
if (!opts.dist) mustRun("npx", ["wrangler", "deploy", "--dry-run", "--outdir", dist]);
phase("build");

const secrets = {
  jwt: randomBytes(32).toString("hex"),
  providers: randomBytes(32).toString("base64"),
};
const tenant = crypto.randomUUID();
const archiveDay = "2026-01-15";
/** The archive's own example lines (the document's), as the tenant's: what the retention job writes. */
const committed = JSON.parse(readFileSync(resolve(ROOT, "openapi.json"), "utf8"));
const archiveExample =
  committed.paths["/delivery/customer-communications/archive/{date}"].get.responses["200"].content[
    "application/x-ndjson"
  ].examples.stream.value;
const archiveBody = archiveExample.replaceAll(/"tenant_id":"[^"]+"/g, `"tenant_id":"${tenant}"`);

/** The Workers (A, B, C) and Prism processes, stopped on exit. */
const workers = {};
const children = [];
function stopAll() {
  for (const w of Object.values(workers)) w.stop();
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}
process.on("exit", stopAll);

function fail(lines) {
  console.error(["openapi contract: FAILED", ...lines, `logs: ${STATE}`].join("\n"));
  stopAll();
  process.exit(1);
}

const origin = (port) => `http://127.0.0.1:${port}`;
/** A command run to completion, without blocking B's and C's start-up. */
const run = (cmd, args) =>
  new Promise((done) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: ENV, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => (code === 0 ? done() : fail([`${cmd} ${args.join(" ")} failed:`, out])));
  });

// B and C need no migration: they start first and boot while A's state is prepared.
workers.B = startLocalWorker({
  persist: resolve(STATE, "b"),
  port: portB,
  inspectorPort: inspectB,
  dist,
  migrate: false,
  vars: { JWT_SECRET: "shorter-than-32-bytes", PROVIDER_SECRETS_KEY: secrets.providers },
});
workers.C = startLocalWorker({
  persist: resolve(STATE, "c"),
  port: portC,
  inspectorPort: inspectC,
  dist,
  migrate: false,
  vars: { JWKS_URL: deadJwks, JWT_ISSUER: "contract", JWT_AUDIENCE: "contract" },
});
// A: migrated with `npm run db:migrate:local`'s script, then an archived day stored in R2.
const stateA = resolve(STATE, "a");
mkdirSync(stateA, { recursive: true });
writeFileSync(resolve(STATE, "archive.ndjson"), archiveBody);
// One after the other: wrangler processes sharing a state directory lock each other out (SQLITE_BUSY).
await run("node", ["scripts/migrate.mjs", "--local", "--persist-to", stateA]);
await run("npx", [
  "wrangler",
  "r2",
  "object",
  "put",
  `customer-communications-archive/${tenant}/${archiveDay}.ndjson`,
  "--file",
  resolve(STATE, "archive.ndjson"),
  "--content-type",
  "application/x-ndjson",
  "--local",
  "--persist-to",
  stateA,
  "--config",
  resolve(ROOT, "wrangler.toml"),
]);
phase("A migrated, archive stored");
workers.A = startLocalWorker({
  persist: stateA,
  port: portA,
  inspectorPort: inspectA,
  dist,
  reset: false,
  migrate: false,
  vars: {
    JWT_SECRET: secrets.jwt,
    PROVIDER_SECRETS_KEY: secrets.providers,
    // Clients reach A through Prism: the gateway whose origin A hands out.
    PUBLIC_BASE_URL: origin(prismA),
    // One communication per erasure step: an erasure of a customer with a few
    // communications runs for many steps, so a second request finds it running (200).
    ERASURE_BATCH_ROWS: "1",
  },
});

try {
  await Promise.all(Object.values(workers).map((w) => w.ready()));
} catch (err) {
  fail([String(err.message)]);
}
phase("Workers ready");

// ------------------------------------------------------------------ Prism, on the served document
const served = await (await fetch(`${origin(portA)}/openapi.json`)).json();
const documentFile = resolve(STATE, "openapi.json");
writeFileSync(documentFile, JSON.stringify(served));

function startPrism(name, port, upstream) {
  const log = openSync(resolve(STATE, `prism-${name}.log`), "w");
  const child = spawn(
    resolve(ROOT, "node_modules/.bin/prism"),
    ["proxy", documentFile, upstream, "--host", "127.0.0.1", "--port", String(port)],
    { cwd: ROOT, stdio: ["ignore", log, log], env: ENV, detached: true },
  );
  children.push(child);
}
startPrism("a", prismA, origin(portA));
startPrism("b", prismB, origin(portB));
startPrism("c", prismC, origin(portC));

async function listening(port) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      await fetch(`${origin(port)}/openapi.json`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  fail([`Prism did not listen on ${port} within 60 s`]);
}

// ------------------------------------------------------------------ the generated client: types, then tsc
const generated = resolve(HERE, "generated");
mkdirSync(generated, { recursive: true });
writeFileSync(
  resolve(generated, "api.ts"),
  `// Generated by test/openapi/contract/run.mjs from the served /openapi.json (openapi-typescript).\n${astToString(
    await openapiTS(new URL(`${origin(portA)}/openapi.json`)),
  )}`,
);
const tsc = spawnSync(resolve(ROOT, "node_modules/.bin/tsc"), ["-p", resolve(HERE, "tsconfig.json")], {
  cwd: ROOT,
  encoding: "utf8",
});
if (tsc.status !== 0) fail(["the client program does not typecheck against the generated types:", tsc.stdout]);
phase("types generated, client typechecked");

await Promise.all([listening(prismA), listening(prismB), listening(prismC)]);
phase("Prism listening");

// ------------------------------------------------------------------ requests through Prism
/** A request that has no answer by then fails its step (and the run goes on). */
const REQUEST_TIMEOUT_MS = 30_000;
/** Every answer seen through Prism: what it was, and what Prism said about it. */
const seen = [];
const problems = [];

/** Prism's verdict travels in the sl-violations header (proxy mode). */
const violationsOf = (res) => {
  const header = res.headers.get("sl-violations");
  return header ? JSON.parse(header) : [];
};

/** The operation (and its documented statuses) a request is for, by the served document. */
const operations = Object.entries(served.paths).flatMap(([template, item]) =>
  Object.entries(item).map(([method, op]) => ({
    method: method.toUpperCase(),
    template,
    // Concrete segments before parameters: /providers/twilio is not /providers/{provider}.
    rank: (template.match(/\{/g) ?? []).length,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`),
    id: op.operationId,
    statuses: Object.keys(op.responses),
  })),
);
operations.sort((a, b) => a.rank - b.rank);
const operationOf = (method, url) => {
  const path = new URL(url).pathname;
  return operations.find((o) => o.method === method && o.pattern.test(path));
};

/** fetch through Prism, recording the answer and Prism's violations. */
async function observed(input, init = {}, step = {}) {
  const request = new Request(input, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  let res;
  let text;
  try {
    res = await fetch(request);
    text = await res.text();
  } catch (err) {
    const name = step.name ?? `${request.method} ${new URL(request.url).pathname}`;
    problems.push(`${name}: no answer (${err.cause?.code ?? err.name})`);
    seen.push({ step: name, status: 0 });
    return new Response(null, { status: 599 });
  }
  const operation = operationOf(request.method, request.url);
  const violations = violationsOf(res);
  const entry = { step: step.name ?? `${request.method} ${new URL(request.url).pathname}`, status: res.status };
  entry.operation = operation?.id;
  const requestViolations = violations.filter((v) => v.location?.[0] === "request");
  const responseViolations = violations.filter((v) => v.location?.[0] !== "request");
  for (const v of responseViolations) problems.push(`${entry.step} -> ${res.status}: response ${describe(v)}`);
  if (step.invalid && requestViolations.length === 0) {
    problems.push(`${entry.step}: meant to break the document, but Prism found the request valid`);
  }
  if (!step.invalid && !step.inexpressible) {
    for (const v of requestViolations) problems.push(`${entry.step}: request ${describe(v)}`);
  }
  seen.push(entry);
  return new Response(text, { status: res.status, headers: res.headers });
}
const describe = (v) => `${v.location?.join(".")}: ${v.message}`;

// The generated client's program, run through Prism A.
const context = {
  tenant,
  archiveDay,
  secrets,
  prism: { A: origin(prismA), B: origin(prismB), C: origin(prismC) },
  direct: origin(portA),
};
const steps = await plan(context);
try {
  const { clientRun } = await import(pathToFileURL(resolve(HERE, "client.ts")).href);
  const result = await clientRun({
    baseUrl: context.prism.A,
    adminToken: context.tokens.admin,
    fetch: (input, init) => observed(input, init, { name: "generated client" }),
    archive: { day: archiveDay, lines: archiveBody.split("\n").filter(Boolean).length },
    keys: context.keys,
  });
  context.webhookUrls = result.webhookUrls;
} catch (err) {
  fail([`the generated client's program failed: ${err.stack ?? err}`]);
}
phase("client ran");

for (const step of steps) {
  if (step.direct) {
    // Straight to A, not through Prism (and not counted): the upstream side of the gateway.
    const res = await fetch(step.url(), step.init());
    if (res.status !== step.status) problems.push(`${step.name}: expected ${step.status}, got ${res.status}`);
    continue;
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await step.before?.();
    } catch (err) {
      problems.push(`${step.name}: ${err.message}`);
    }
    const res = await observed(step.url(), step.init(), step);
    if (res.status === step.status || attempt >= (step.attempts ?? 1)) {
      if (res.status !== step.status) {
        problems.push(`${step.name}: expected ${step.status}, got ${res.status} ${(await res.text()).slice(0, 300)}`);
      } else {
        try {
          await step.after?.(res);
        } catch (err) {
          problems.push(`${step.name}: ${err.message}`);
        }
      }
      break;
    }
    seen.pop();
  }
  const last = seen.at(-1);
  if (step.op && last?.operation !== step.op) {
    problems.push(`${step.name}: meant for ${step.op}, matched ${last?.operation ?? "no operation"}`);
  }
}

// ------------------------------------------------------------------ coverage of the served document
phase("plan ran");
const covered = new Set(seen.filter((s) => s.operation).map((s) => `${s.operation} ${s.status}`));
const documented = operations.flatMap((o) => o.statuses.map((status) => `${o.id} ${status}`));
const missing = documented.filter((key) => !covered.has(key) && !(key in EXEMPT));
const stale = Object.keys(EXEMPT).filter((key) => !documented.includes(key) || covered.has(key));
if (missing.length)
  problems.push(`not exercised (add a step to test/openapi/contract/plan.mjs): ${missing.join(", ")}`);
if (stale.length) problems.push(`exempt but not documented, or exercised after all: ${stale.join(", ")}`);
const undocumented = seen.filter((s) => s.operation && !documented.includes(`${s.operation} ${s.status}`));
for (const s of undocumented) problems.push(`${s.step}: status ${s.status} is not documented for ${s.operation}`);

if (problems.length) fail(problems);
const exercised = documented.length - Object.keys(EXEMPT).length;
console.log(
  `openapi contract: ${operations.length} operations, ${exercised}/${documented.length} documented statuses answered through Prism (${Object.keys(EXEMPT).length} exempt), ${seen.length} requests, 0 violations; generated client typechecked and ran (${((Date.now() - started) / 1000).toFixed(0)} s)`,
);
if (!opts.keep) {
  stopAll();
  rmSync(resolve(STATE, "a"), { recursive: true, force: true });
}
process.exit(0);
