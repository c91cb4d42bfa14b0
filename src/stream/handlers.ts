/**
 * The live stream's handlers: the list's access decision, then one call to
 * the tenant's StreamHub (./hub.ts). The stream's body comes from the hub
 * and is returned as it is: no Worker code runs per frame, and nothing here
 * reads D1.
 */
import type { RouteHandler } from "@hono/zod-openapi";
import { readScope } from "../communications/access";
import type { AuthedEnv } from "../env";
import { translate } from "../i18n/messages";
import { parseSearch } from "../search";
import { pickFilters } from "./filters";
import { callHub, hubFor } from "./hub";
import type { streamRoute, ticketRoute } from "./routes";
import { formatTicket, newSecret, secretHash, TICKET_TTL_MS, toRecord } from "./tickets";

export const stream: RouteHandler<typeof streamRoute, AuthedEnv> = async (c) => {
  const query = c.req.valid("query");
  const principal = c.var.principal;
  const scope = readScope(principal, query);
  // A malformed address or q is the list's 400, before the stream opens.
  parseSearch(query);
  const body = await callHub(() =>
    hubFor(c.env, scope.tenantId).open({
      scope,
      filters: pickFilters(query),
      // The header is what EventSource sends when it reconnects: newer than the URL's.
      lastEventId: c.req.valid("header")["last-event-id"] ?? query.last_event_id,
      expiresAt: principal.expiresAt,
    }),
  );
  return c.body(body, 200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
    // Proxies (nginx and the like) must pass frames on as they come.
    "X-Accel-Buffering": "no",
  }) as never;
};

export const issueTicket: RouteHandler<typeof ticketRoute, AuthedEnv> = async (c) => {
  const principal = c.var.principal;
  const { tenantId } = readScope(principal, c.req.valid("query"));
  const secret = newSecret();
  const expiresAt = Math.min(Date.now() + TICKET_TTL_MS, principal.expiresAt ?? Number.POSITIVE_INFINITY);
  const hash = await secretHash(secret);
  await callHub(() => hubFor(c.env, tenantId).issueTicket(hash, toRecord(principal), expiresAt));
  return c.json(
    {
      success: true as const,
      message: translate(c.var.lang, "stream_ticket_ok"),
      ticket: formatTicket(tenantId, secret),
      expires_at: new Date(expiresAt).toISOString(),
    },
    201,
  );
};
