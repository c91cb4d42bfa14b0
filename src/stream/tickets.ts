/**
 * Stream tickets: how a browser's EventSource (which cannot send an
 * Authorization header) opens a stream. `POST .../stream/tickets`, with the
 * caller's bearer token, answers `st_<tenant>_<secret>`; the stream accepts it
 * once, within 60 seconds, as that caller.
 *
 * The ticket names its tenant in clear, so that the stream knows which
 * tenant's Durable Object to ask; the object keeps only a SHA-256 of the
 * 256-bit secret, with the caller's identity. A ticket is therefore good only
 * in the object of the tenant it was issued for: rewriting the tenant part
 * sends it to an object that has never seen it (401). No MAC is needed to
 * trust the tenant part, and so no shared key to configure (deployments
 * verifying tokens with a JWKS have none).
 */
import type { Principal } from "../auth/principal";

export const TICKET_TTL_MS = 60_000;

/** `st_`, the tenant id's 32 hex digits, `_`, the secret's 64. */
export const TICKET_PATTERN = /^st_([0-9a-f]{32})_([0-9a-f]{64})$/;
/** `st_` + 32 + `_` + 64. */
export const TICKET_LENGTH = 100;

/** What the object keeps of a ticket's caller: a Principal as plain data. */
export interface PrincipalRecord {
  userId: string;
  tenantId: string | null;
  isSystemAdmin: boolean;
  permissions: string[];
  role: string | null;
  customerId: string;
  expiresAt?: number;
}

export const toRecord = (p: Principal): PrincipalRecord => ({
  userId: p.userId,
  tenantId: p.tenantId,
  isSystemAdmin: p.isSystemAdmin,
  permissions: [...p.permissions],
  role: p.role,
  customerId: p.customerId,
  expiresAt: p.expiresAt,
});

export const fromRecord = (r: PrincipalRecord): Principal => ({ ...r, permissions: new Set(r.permissions) });

const hex = (bytes: ArrayBuffer | Uint8Array) =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

/** A new ticket secret: 32 random bytes, hex. */
export const newSecret = () => hex(crypto.getRandomValues(new Uint8Array(32)));

/** What the object stores in place of the secret. */
export const secretHash = async (secret: string) =>
  hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret)));

export const formatTicket = (tenantId: string, secret: string) => `st_${tenantId.replaceAll("-", "")}_${secret}`;

/** The tenant and secret of a well-formed ticket; undefined for anything else. */
export function parseTicket(ticket: string): { tenantId: string; secret: string } | undefined {
  const m = TICKET_PATTERN.exec(ticket);
  if (!m?.[1] || !m[2]) return undefined;
  const t = m[1];
  const tenantId = `${t.slice(0, 8)}-${t.slice(8, 12)}-${t.slice(12, 16)}-${t.slice(16, 20)}-${t.slice(20)}`;
  return { tenantId, secret: m[2] };
}
