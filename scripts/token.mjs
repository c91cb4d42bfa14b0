#!/usr/bin/env node
/**
 * Prints a local access token.
 *   npm run token -- --role admin|viewer|driver|customer|system-admin
 *                    [--tenant UUID] [--customer UUID] [--sub ID] [--ttl 12h]
 * Signed with JWT_SECRET from the environment or .dev.vars (created if missing).
 */
import { parseArgs } from "node:util";
import { DEMO_TENANT, mintToken, ROLES } from "./lib/local.mjs";

const { values } = parseArgs({
  options: {
    role: { type: "string", default: "admin" },
    tenant: { type: "string", default: DEMO_TENANT },
    customer: { type: "string" },
    sub: { type: "string" },
    ttl: { type: "string", default: "12h" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(
    `usage: npm run token -- --role ${Object.keys(ROLES).join("|")} [--tenant UUID] [--customer UUID] [--sub ID] [--ttl 12h]`,
  );
  process.exit(0);
}
try {
  console.log(await mintToken(values));
} catch (err) {
  console.error(String(err.message ?? err));
  process.exit(2);
}
