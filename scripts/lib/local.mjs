/**
 * Shared by the local scripts (dev, token, seed, bench, load): the local
 * secrets in .dev.vars, token minting, and where the running dev server is.
 * Never used by the Worker.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { SignJWT } from "jose";
import { devVar, devVarsProblems } from "./dev-vars.mjs";

export const ROOT = resolve(import.meta.dirname, "../..");
const DEV_VARS = resolve(ROOT, ".dev.vars");

/** A stable demo tenant for local development. */
export const DEMO_TENANT = "00000000-0000-4000-8000-000000000001";
export const DEMO_CUSTOMER = "00000000-0000-4000-8000-0000000000c1";

/**
 * A local secret: `name` from the environment, else from .dev.vars, where it
 * is created with `make()` on first use. .dev.vars is git-ignored and
 * wrangler never deploys it.
 */
function localVar(name, make) {
  if (process.env[name]) return process.env[name];
  const previous = existsSync(DEV_VARS) ? readFileSync(DEV_VARS, "utf8") : "";
  const existing = devVar(previous, name);
  if (existing) return existing;
  const value = make();
  writeFileSync(DEV_VARS, `${previous}${previous && !previous.endsWith("\n") ? "\n" : ""}${name}=${value}\n`);
  console.error(`added a random local ${name} to .dev.vars`);
  return value;
}

/** Warnings about the secrets .dev.vars holds (an existing file is reused as it is). */
export const devVarsWarnings = () => devVarsProblems(existsSync(DEV_VARS) ? readFileSync(DEV_VARS, "utf8") : "");

/** The local HS256 key (JWT_SECRET). */
export const localSecret = () => localVar("JWT_SECRET", () => randomBytes(32).toString("hex"));

/** The local key that encrypts provider secrets at rest (base64 of 32 bytes). */
export const localProviderKey = () => localVar("PROVIDER_SECRETS_KEY", () => randomBytes(32).toString("base64"));

/** Local development may subscribe receivers on 127.0.0.1, [::1] and localhost (never set in production). */
export const localOutboundLoopback = () => localVar("OUTBOUND_ALLOW_LOOPBACK", () => "true");

export const ROLES = {
  admin: { role: "tenant_admin", permissions: ["manage:operations:tenant"] },
  viewer: { role: "dispatcher", permissions: ["view:tenant"] },
  driver: { role: "driver", permissions: ["manage:module:delivery"] },
  customer: {},
  "system-admin": { is_system_admin: true, permissions: [] },
};

/** Mints an HS256 access token for one of ROLES. */
export async function mintToken({
  role = "admin",
  tenant = DEMO_TENANT,
  customer,
  sub,
  ttl = "12h",
  secret = localSecret(),
} = {}) {
  const base = ROLES[role];
  if (!base) throw new Error(`unknown role ${role}; one of: ${Object.keys(ROLES).join(", ")}`);
  const claims = { ...base };
  if (role !== "system-admin") claims.tenant_id = tenant;
  if (role === "customer") claims.customer_id = customer ?? DEMO_CUSTOMER;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(sub ?? (role === "customer" ? (customer ?? DEMO_CUSTOMER) : randomUUID()))
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(new TextEncoder().encode(secret));
}

/**
 * `npm run dev` records its server here once it answers (git-ignored, under
 * .wrangler/), so that the scripts that talk to it (`npm run db:seed`) find
 * it whatever its port. DEV_SERVER_FILE names another file (the docs check
 * runs its own server beside yours).
 */
export const DEV_SERVER_FILE = resolve(ROOT, process.env.DEV_SERVER_FILE ?? ".wrangler/dev-server.json");

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
};

/** The running dev server of this checkout ({ origin, base, port, inspector_port, persist_to, pid }), or undefined. */
export function devServer() {
  let state;
  try {
    state = JSON.parse(readFileSync(DEV_SERVER_FILE, "utf8"));
  } catch {
    return undefined;
  }
  return Number.isInteger(state.pid) && alive(state.pid) ? state : undefined;
}

/** Records the dev server (see DEV_SERVER_FILE); returns a function that removes the record if it is still ours. */
export function recordDevServer(state) {
  writeFileSync(DEV_SERVER_FILE, `${JSON.stringify({ ...state, pid: process.pid }, null, 2)}\n`);
  return () => {
    try {
      if (JSON.parse(readFileSync(DEV_SERVER_FILE, "utf8")).pid === process.pid) rmSync(DEV_SERVER_FILE);
    } catch {
      // already gone
    }
  };
}
