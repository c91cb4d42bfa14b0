/**
 * Handlers speak HTTP only: the access decision, one store call, and the
 * status code and localised envelope for the store's outcome.
 */
import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AuthedEnv } from "../env";
import { publish } from "../events/publish";
import { type MessageKey, translate } from "../i18n/messages";
import { ApiError, badRequest, notFound, unavailable } from "../lib/errors";
import { parseSearch, searchNotReady } from "../search";
import { type Access, onTenantShard, tenantDb } from "../shards/tenant-db";
import { outboxFor } from "../subscriptions/outbox";
import { queuePendingEvents } from "../webhooks/pending";
import { manageScope, readScope } from "./access";
import { decodeCursor, encodeCursor } from "./cursor";
import { idempotencyKey } from "./idempotency";
import type { createCommunicationRoute, eventsRoute, getRoute, listRoute, updateStatusRoute } from "./routes";
import { MAX_RESULT_WINDOW } from "./schemas";
import { CommunicationStore, type Scope, toCommunication } from "./store";

const message = (c: Context<AuthedEnv>, key: MessageKey) => translate(c.var.lang, key);

/**
 * The store for this caller's scope, on the tenant's shard. A tenant with
 * subscriptions (the directory entry says so) gets the outbox: each change's
 * event is committed with it (src/subscriptions/outbox.ts).
 */
const storeFor = async (c: Context<AuthedEnv>, scope: Scope, access: Access) => {
  const db = await tenantDb(c, scope.tenantId, access);
  return new CommunicationStore(db, scope, outboxFor(c.var.shard?.subscriptions ?? 0));
};

/**
 * A write through the store, on the tenant's shard; run again on the new
 * shard if a tenant move switched under this isolate's cached placement
 * (src/shards/tenant-db.ts). The store gets the outbox as storeFor's does,
 * from the placement it runs on. Returns the store that committed, for its events.
 */
const writeWith = <T>(c: Context<AuthedEnv>, scope: Scope, work: (store: CommunicationStore) => Promise<T>) =>
  onTenantShard(c, scope.tenantId, "write", async (db) => {
    const store = new CommunicationStore(db, scope, outboxFor(c.var.shard?.subscriptions ?? 0));
    return { store, result: await work(store) };
  });

/** Provider clocks drift; an event more than this far in the future is refused. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export const list: RouteHandler<typeof listRoute, AuthedEnv> = async (c) => {
  const q = c.req.valid("query");
  const scope = readScope(c.var.principal, q);
  if (q.cursor !== undefined && q.page !== undefined) {
    throw badRequest([{ field: "cursor", message: "field_cursor_with_page" }]);
  }
  const limit = q.limit ?? 10;
  const order = q.sort_order ?? "desc";
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, order);
  const store = await storeFor(c, scope, "read");
  const page = after ? undefined : (q.page ?? 1);
  // OFFSET reads every row it skips: a page may reach at most MAX_RESULT_WINDOW rows deep.
  if (page !== undefined && page * limit > MAX_RESULT_WINDOW) {
    throw badRequest([{ field: "page", message: "field_page_too_deep", params: { max: String(MAX_RESULT_WINDOW) } }]);
  }
  const search = parseSearch(q);
  const result = await store.list({ ...q, search }, { limit, order, page, after });
  if (result.outcome === "search_pending") throw searchNotReady();
  const { rows, total, totalRelation, lastId } = result;
  return c.json(
    {
      success: true as const,
      message: message(c, "list_ok"),
      communications: rows,
      total,
      total_relation: totalRelation,
      page: page ?? null,
      limit,
      total_pages: Math.ceil(total / limit),
      next_cursor: lastId ? encodeCursor(order, lastId) : null,
    },
    200,
  );
};

export const create: RouteHandler<typeof createCommunicationRoute, AuthedEnv> = async (c) => {
  const principal = c.var.principal;
  const scope = manageScope(principal, c.req.valid("query"));
  const body = c.req.valid("json");
  if (body.provider_message_id && !body.provider) {
    throw badRequest([{ field: "provider", message: "field_required" }]);
  }
  const key = c.req.valid("header")["idempotency-key"];
  const idempotency = key ? await idempotencyKey(key, body) : undefined;
  const { store, result } = await writeWith(c, scope, (s) => s.create(body, principal.userId, idempotency));
  publish(c.env, (p) => c.executionCtx.waitUntil(p), store.committed);
  if (result.outcome === "key_conflict") throw new ApiError(409, "idempotency_conflict");
  if (result.outcome === "provider_conflict") throw new ApiError(409, "provider_message_conflict");
  if (result.outcome === "created" && result.hasPendingEvents) {
    await queuePendingEvents(c.env, c.var.requestId, result.communication);
  }
  // The record expired and was purged between our insert and our read: a
  // retry will either claim the key afresh or find the new holder.
  if (result.outcome === "key_vanished") throw unavailable();
  if (result.outcome === "replayed") c.header("Idempotent-Replayed", "true");
  return c.json({ success: true as const, message: message(c, "create_ok"), communication: result.communication }, 201);
};

export const get: RouteHandler<typeof getRoute, AuthedEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const store = await storeFor(c, readScope(c.var.principal, c.req.valid("query")), "read");
  const row = await store.get(id);
  if (!row) throw notFound();
  return c.json({ success: true as const, message: message(c, "get_ok"), communication: toCommunication(row) }, 200);
};

export const updateStatus: RouteHandler<typeof updateStatusRoute, AuthedEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  if (Date.parse(body.occurred_at) > Date.now() + MAX_CLOCK_SKEW_MS) {
    throw badRequest([{ field: "occurred_at", message: "field_in_future" }]);
  }
  const scope = manageScope(c.var.principal, c.req.valid("query"));
  const { store, result } = await writeWith(c, scope, (s) => s.updateStatus(id, body));
  publish(c.env, (p) => c.executionCtx.waitUntil(p), store.committed);
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

export const events: RouteHandler<typeof eventsRoute, AuthedEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const store = await storeFor(c, readScope(c.var.principal, c.req.valid("query")), "read");
  const found = await store.events(id);
  if (!found) throw notFound();
  return c.json({ success: true as const, message: message(c, "events_ok"), events: found }, 200);
};
