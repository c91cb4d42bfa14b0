/**
 * Shared by the local scripts (dev, token, seed, bench, load): the local
 * signing key in .dev.vars and token minting. Never used by the Worker.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { SignJWT } from "jose";

export const ROOT = resolve(import.meta.dirname, "../..");
const DEV_VARS = resolve(ROOT, ".dev.vars");

/** A stable demo tenant for local development. */
export const DEMO_TENANT = "00000000-0000-4000-8000-000000000001";
export const DEMO_CUSTOMER = "00000000-0000-4000-8000-0000000000c1";

/**
 * The local HS256 key: JWT_SECRET from the environment, else .dev.vars,
 * which is created with a random key on first use. .dev.vars is git-ignored
 * and wrangler never deploys it.
 */
export function localSecret() {
  if (process.env.JWT_SECRET) return process.env.JWT_SECRET;
  if (existsSync(DEV_VARS)) {
    const match = /^JWT_SECRET=(.*)$/m.exec(readFileSync(DEV_VARS, "utf8"));
    if (match?.[1]) return match[1].trim().replace(/^"(.*)"$/, "$1");
  }
  const secret = randomBytes(32).toString("hex");
  const previous = existsSync(DEV_VARS) ? readFileSync(DEV_VARS, "utf8") : "";
  writeFileSync(DEV_VARS, `${previous}${previous && !previous.endsWith("\n") ? "\n" : ""}JWT_SECRET=${secret}\n`);
  console.error("created .dev.vars with a random local JWT_SECRET");
  return secret;
}

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
