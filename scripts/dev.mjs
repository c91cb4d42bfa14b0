#!/usr/bin/env node
/**
 * `npm run dev`: the whole local setup in one command.
 *  1. local secrets in .dev.vars (JWT_SECRET, PROVIDER_SECRETS_KEY; created
 *     on first run, never deployed), and OUTBOUND_ALLOW_LOOPBACK=true so that
 *     event subscriptions may call receivers on 127.0.0.1;
 *  2. the migrations applied to every local D1 database (.wrangler/state, or
 *     --persist-to DIR), one line per database;
 *  3. ready-to-use tokens for the demo tenant, printed as `export` lines,
 *     with the addresses of the API reference and the console;
 *  4. `wrangler dev` on 127.0.0.1; once it answers, its origin is recorded in
 *     .wrangler/dev-server.json, where `npm run db:seed` finds it.
 *
 *   npm run dev [-- --port P] [--inspector-port P] [--persist-to DIR] [other wrangler dev flags]
 *
 * Ports: --port (or PORT) and --inspector-port (or INSPECTOR_PORT); by
 * default the first free port from 8787 and from 9229 up, so a second
 * checkout's dev server takes the next ones instead of failing.
 * Quiet: no request for Cloudflare's sample `Request.cf` (unreachable
 * offline, unused by the service), and each binding listed once: wrangler
 * reprints the whole table whenever its dev registry changes (when this
 * server registers itself, and whenever another local wrangler dev starts
 * or stops; no binding here goes through that registry), so a table that
 * repeats the last one is left out, as is the "Connection status updated"
 * line. The cost: wrangler's output is read through a pipe, so it shows no
 * hotkeys bar (Ctrl-C stops the server, as before).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { stripVTControlCharacters } from "node:util";
import {
  DEMO_CUSTOMER,
  DEMO_TENANT,
  DEV_SERVER_FILE,
  devVarsWarnings,
  localOutboundLoopback,
  localProviderKey,
  localSecret,
  mintToken,
  ROOT,
  recordDevServer,
} from "./lib/local.mjs";
import { firstFreeFrom, portOption } from "./lib/ports.mjs";

/** Copies wrangler's output line by line, leaving out a bindings table equal to the last one printed. */
function printOnceEachBindingsTable(output) {
  const plain = (line) => stripVTControlCharacters(line);
  let table; // lines of a table being read
  let printed = "";
  const flush = () => {
    const text = table.join("\n");
    if (plain(text) !== printed) process.stdout.write(`${text}\n`);
    printed = plain(text);
    table = undefined;
  };
  createInterface({ input: output, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
    const bare = plain(line).trim();
    if (bare.endsWith("Connection status updated")) return;
    if (bare.startsWith("Your Worker has access to the following bindings")) {
      if (table) flush();
      table = [line];
      return;
    }
    if (table && (bare.startsWith("Binding") || bare.startsWith("env.") || bare.startsWith("- "))) {
      table.push(line);
      return;
    }
    if (table) flush();
    process.stdout.write(`${line}\n`);
  });
}

/** Our own options, wherever they are among the arguments; the rest goes to wrangler dev. */
function parseOptions(argv) {
  const ours = { port: process.env.PORT, "inspector-port": process.env.INSPECTOR_PORT, "persist-to": undefined };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const name = flag.replace(/^--/, "");
    if (flag.startsWith("--") && name in ours) {
      ours[name] = inline ?? argv[++i];
      if (ours[name] === undefined) throw new Error(`${flag} needs a value`);
    } else rest.push(argv[i]);
  }
  return { ...ours, rest };
}

let options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
const port = await portOption(options.port, () => firstFreeFrom(8787));
const inspectorPort = await portOption(options["inspector-port"], () => firstFreeFrom(9229, [port]));
const persist = options["persist-to"];

const secret = localSecret();
localProviderKey();
localOutboundLoopback();
// An existing .dev.vars is used as it is: say so when the Worker would refuse its values.
for (const warning of devVarsWarnings()) console.warn(`warning: ${warning}`);
// Secrets given in the environment win over .dev.vars for the tokens (lib/local.mjs); the server must use them too.
const secretVars = ["JWT_SECRET", "PROVIDER_SECRETS_KEY"].flatMap((name) =>
  process.env[name] ? ["--var", `${name}:${process.env[name]}`] : [],
);

// Every local D1 database: the directory and each shard (scripts/migrate.mjs).
const migrate = spawnSync("node", ["scripts/migrate.mjs", "--local", ...(persist ? ["--persist-to", persist] : [])], {
  cwd: ROOT,
  stdio: "inherit",
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const origin = `http://127.0.0.1:${port}`;
const base = `${origin}/delivery/customer-communications`;
const admin = await mintToken({ role: "admin", secret });
const customer = await mintToken({ role: "customer", secret });
console.log(`
Local tokens for tenant ${DEMO_TENANT} (customer ${DEMO_CUSTOMER}), valid 12h;
more with \`npm run token -- --help\`. Paste into a second terminal:

export BASE=${base}
export ADMIN_TOKEN=${admin}
export CUSTOMER_TOKEN=${customer}

Then try:
  curl -s -X POST "$BASE" -H "Authorization: Bearer $ADMIN_TOKEN" -H "Content-Type: application/json" \\
    -d '{"customer_id":"${DEMO_CUSTOMER}","type":"sms","content":"Your delivery is on its way"}'
  curl -s "$BASE?page=1&limit=10" -H "Authorization: Bearer $ADMIN_TOKEN"
API reference: ${origin}/docs; inspector on 127.0.0.1:${inspectorPort}
Console: ${origin}/console (sign in by pasting ADMIN_TOKEN, or CUSTOMER_TOKEN for a customer's view)
`);

const dev = spawn(
  "wrangler",
  [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    ...(persist ? ["--persist-to", persist] : []),
    ...secretVars,
    ...options.rest,
  ],
  {
    cwd: ROOT,
    stdio: ["inherit", "pipe", "inherit"],
    env: {
      ...process.env,
      CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? "false",
      // Colours as in a terminal when this output goes to one.
      ...(process.stdout.isTTY && !process.env.NO_COLOR ? { FORCE_COLOR: process.env.FORCE_COLOR ?? "1" } : {}),
    },
  },
);
printOnceEachBindingsTable(dev.stdout);

let forget = () => {};
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code, signal) => {
  forget();
  process.exit(code ?? (signal ? 1 : 0));
});

// Recorded once it answers, so that a script finding the record finds a server.
const deadline = Date.now() + 120_000;
while (dev.exitCode === null && Date.now() < deadline) {
  try {
    if ((await fetch(`${origin}/openapi.json`)).ok) {
      mkdirSync(dirname(DEV_SERVER_FILE), { recursive: true });
      forget = recordDevServer({
        origin,
        base,
        port,
        inspector_port: inspectorPort,
        persist_to: persist ?? ".wrangler/state",
        started_at: new Date().toISOString(),
      });
      break;
    }
  } catch {
    // not listening yet
  }
  await new Promise((r) => setTimeout(r, 250));
}
