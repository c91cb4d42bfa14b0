#!/usr/bin/env node
/**
 * `npm run dev`: the whole local setup in one command.
 *  1. local secrets in .dev.vars (JWT_SECRET, PROVIDER_SECRETS_KEY; created
 *     on first run, never deployed);
 *  2. the migrations applied to every local D1 database (.wrangler/state);
 *  3. ready-to-use tokens for the demo tenant, printed with curl examples;
 *  4. `wrangler dev` on 127.0.0.1 (PORT, default 8787).
 */
import { spawn, spawnSync } from "node:child_process";
import {
  DEMO_CUSTOMER,
  DEMO_TENANT,
  devVarsWarnings,
  localProviderKey,
  localSecret,
  mintToken,
  ROOT,
} from "./lib/local.mjs";

const port = process.env.PORT ?? "8787";
const wrangler = (args, opts = {}) => spawn("wrangler", args, { cwd: ROOT, stdio: "inherit", ...opts });

localSecret();
localProviderKey();
// An existing .dev.vars is used as it is: say so when the Worker would refuse its values.
for (const warning of devVarsWarnings()) console.warn(`warning: ${warning}`);
// Every local D1 database: the directory and each shard (scripts/migrate.mjs).
const migrate = spawnSync("node", ["scripts/migrate.mjs", "--local"], { cwd: ROOT, stdio: "inherit" });
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const admin = await mintToken({ role: "admin" });
const customer = await mintToken({ role: "customer" });
const base = `http://127.0.0.1:${port}/delivery/customer-communications`;
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
API reference: http://127.0.0.1:${port}/docs
`);

const dev = wrangler(["dev", "--ip", "127.0.0.1", "--port", port, ...process.argv.slice(2)]);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
