/** Handlers: access decision, one store call, the localised envelope. */
import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { type MessageKey, translate } from "../i18n/messages";
import { badRequest, notFound } from "../lib/errors";
import { manageScope, readScope } from "./access";
import { decodeCursor, encodeCursor } from "./cursor";
import { CommunicationStore, toCommunication } from "./queries";
import type { createCommunicationRoute, eventsRoute, getRoute, listRoute, updateStatusRoute } from "./routes";

const message = (c: Context<AppEnv>, key: MessageKey) => translate(c.var.lang, key);

/** Provider clocks drift; an event more than this far in the future is refused. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export const list: RouteHandler<typeof listRoute, AppEnv> = async (c) => {
  const q = c.req.valid("query");
  const store = new CommunicationStore(c.var.db, readScope(c.var.principal, q));
  if (q.cursor !== undefined && q.page !== undefined) {
    throw badRequest([{ field: "cursor", message: "field_cursor_with_page" }]);
  }
  const limit = q.limit ?? 10;
  const order = q.sort_order ?? "desc";
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, order);
  const page = after ? undefined : (q.page ?? 1);
  const { rows, total, lastId } = await store.list(q, { limit, order, page, after });
  return c.json(
    {
      success: true as const,
      message: message(c, "list_ok"),
      communications: rows,
      total,
      page: page ?? null,
      limit,
      total_pages: Math.ceil(total / limit),
      next_cursor: lastId ? encodeCursor(order, lastId) : null,
    },
    200,
  );
};

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` hash the same. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export const create: RouteHandler<typeof createCommunicationRoute, AppEnv> = async (c) => {
  const principal = c.var.principal;
  const store = new CommunicationStore(c.var.db, manageScope(principal, c.req.valid("query")));
  const body = c.req.valid("json");
  const key = c.req.valid("header")["idempotency-key"];
  const idempotency = key ? { key, requestHash: await sha256Hex(canonicalJson(body)) } : undefined;
  const { communication, replayed } = await store.create(body, principal.userId, idempotency);
  if (replayed) c.header("Idempotent-Replayed", "true");
  return c.json({ success: true as const, message: message(c, "create_ok"), communication }, 201);
};

export const get: RouteHandler<typeof getRoute, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const store = new CommunicationStore(c.var.db, readScope(c.var.principal, c.req.valid("query")));
  const row = await store.get(id);
  if (!row) throw notFound();
  return c.json({ success: true as const, message: message(c, "get_ok"), communication: toCommunication(row) }, 200);
};

export const updateStatus: RouteHandler<typeof updateStatusRoute, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  if (Date.parse(body.occurred_at) > Date.now() + MAX_CLOCK_SKEW_MS) {
    throw badRequest([{ field: "occurred_at", message: "field_in_future" }]);
  }
  const store = new CommunicationStore(c.var.db, manageScope(c.var.principal, c.req.valid("query")));
  const result = await store.updateStatus(id, body);
  if (!result) throw notFound();
  return c.json(
    {
      success: true as const,
      message: message(c, result.changed ? "status_updated" : "status_unchanged"),
      communication: result.communication,
    },
    200,
  );
};

export const events: RouteHandler<typeof eventsRoute, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const store = new CommunicationStore(c.var.db, readScope(c.var.principal, c.req.valid("query")));
  const found = await store.events(id);
  if (!found) throw notFound();
  return c.json({ success: true as const, message: message(c, "events_ok"), events: found }, 200);
};
