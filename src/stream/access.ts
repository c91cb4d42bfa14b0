/**
 * Who opens a stream: a bearer token, as on every route, or a ticket
 * (./tickets.ts) for browsers' EventSource. Either way the caller ends up on
 * `c.var.principal`, and the stream then applies the list's own rules
 * (`readScope`, src/communications/access.ts).
 */
import { createMiddleware } from "hono/factory";
import type { AuthedEnv } from "../env";
import { forbidden, unauthorized } from "../lib/errors";
import { requireAuth } from "../middleware/auth";
import { callHub, hubFor } from "./hub";
import { fromRecord, parseTicket, secretHash } from "./tickets";

/**
 * The bearer token when an Authorization header is sent; otherwise the
 * `ticket` parameter, redeemed (once) in the object of the tenant it names.
 * An unknown, used or expired ticket is a 401.
 *
 * A ticket is good for its tenant only: a `tenant_id` naming another one is
 * a 403, and the caller's tenant becomes the ticket's, so that a system
 * administrator's ticket (whose token names no tenant) streams the tenant it
 * was issued for.
 */
export const bearerOrTicket = createMiddleware<AuthedEnv>(async (c, next) => {
  if (c.req.header("authorization") !== undefined) return requireAuth(c, next);
  const ticket = c.req.query("ticket");
  if (!ticket) throw unauthorized("unauthorized");
  const parsed = parseTicket(ticket);
  if (!parsed) throw unauthorized("ticket_invalid");
  const hash = await secretHash(parsed.secret);
  const record = await callHub(() => hubFor(c.env, parsed.tenantId).redeemTicket(hash));
  if (!record || (record.expiresAt !== undefined && record.expiresAt <= Date.now())) {
    throw unauthorized("ticket_invalid");
  }
  const requested = c.req.query("tenant_id")?.trim().toLowerCase();
  if (requested && requested !== parsed.tenantId) throw forbidden("tenant_mismatch");
  c.set("principal", { ...fromRecord(record), tenantId: parsed.tenantId });
  await next();
});
