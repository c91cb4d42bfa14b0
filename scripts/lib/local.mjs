/**
 * Shared by the local scripts (dev, token, seed, bench, load): the local
 * secrets in .dev.vars and token minting. Never used by the Worker.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
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
