/**
 * Handlers of the subscription routes: the access decision, the store call,
 * and the status and localised envelope for its outcome. Secrets leave here
 * only in the answer to the create and the rotation; they are never logged.
 */
import type { RouteHandler } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import { type AuditAction, actorOf, auditInsert } from "../audit/store";
import { manageScope } from "../communications/access";
import { config } from "../config";
import type { Database } from "../db/client";
import { type JsonObject, type SubscriptionRow, subscriptions } from "../db/schema";
import type { AuthedEnv } from "../env";
import { EVENT_ID, eventIdFloor } from "../events/event";
import { type MessageKey, translate } from "../i18n/messages";
import { ApiError, badRequest, unavailable } from "../lib/errors";
import { log } from "../lib/logger";
import { configuredPublicHost } from "../lib/public-url";
import { uuidv7 } from "../lib/uuid";
import { recordSubscriptionCount } from "../shards/directory";
import { tenantDb } from "../shards/tenant-db";
import { enqueue } from "./messages";
import type {
  createSubscriptionRoute,
  deleteSubscriptionRoute,
  deliveriesRoute,
  getSubscriptionRoute,
  listSubscriptionsRoute,
  replayRoute,
  rotateSecretRoute,
  updateSubscriptionRoute,
} from "./routes";
import { type Delivery, EVENT_RETENTION_DAYS, type Subscription, type UpdateSubscriptionBody } from "./schemas";
import { newSecret, PREVIOUS_SECRET_TTL_MS, sealSecret } from "./signing";
import { type SubscriptionChanges, SubscriptionStore } from "./store";
import { checkUrl } from "./url";

type C = Context<AuthedEnv>;
const message = (c: C, key: MessageKey) => translate(c.var.lang, key);
const iso = (ms: number) => new Date(ms).toISOString();
const DAY_MS = 24 * 60 * 60 * 1000;
/** A replay's `since` may be this much older than 7 days (clocks, and the time the request takes). */
const REPLAY_SLACK_MS = 60_000;

export const toSubscription = (row: SubscriptionRow): Subscription => ({
  id: row.id,
  url: row.url,
  events: row.events as Subscription["events"],
  description: row.description,
  status: row.status,
  created_at: row.created_at,
  updated_at: row.updated_at,
});

/** This service's own host, as the caller reached it: a subscription may not point back at it. */
const serviceHost = (c: C) => new URL(c.req.url).host;

/** The URL as it will be called, or a 400 naming `url`. */
function validUrl(c: C, url: string) {
  const checked = checkUrl(url, {
    allowLoopback: config(c.env).outbound.allowLoopback,
    ownHosts: [serviceHost(c), ...configuredPublicHost(c.env)],
  });
  if ("problem" in checked) throw badRequest([{ field: "url", message: checked.problem }]);
  return checked.url;
}

async function storeFor(c: C, tenantId: string, access: "read" | "write") {
  return new SubscriptionStore(await tenantDb(c, tenantId, access), tenantId);
}

/**
 * A subscription action's audit entry (privacy.md), for the store's
 * `extra`: committed in the same batch as the action, and only if the
 * subscription is there once it ran (`exists`), or was just deleted.
 * Details hold settings (types, status, which fields changed), never the
 * URL (it may carry a token) or a secret.
 */
function auditOf(
  c: C,
  db: Database,
  tenantId: string,
  action: AuditAction,
  id: string,
  details: JsonObject,
  when: "exists" | "deleted",
) {
  const exists = sql`EXISTS (SELECT 1 FROM ${subscriptions} WHERE ${subscriptions.tenant_id} = ${tenantId} AND ${subscriptions.id} = ${id})`;
  return auditInsert(
    db,
    tenantId,
    {
      action,
      actor: actorOf(c.var.principal),
      target: { kind: "subscription", id },
      details,
      requestId: c.var.requestId,
    },
    // A delete's batch reads the count after it: changes() still names the delete.
    { when: when === "exists" ? exists : sql`changes() = 1` },
  ).statement;
}

const notFound = () => new ApiError(404, "subscription_not_found");

export const create: RouteHandler<typeof createSubscriptionRoute, AuthedEnv> = async (c) => {
  const { tenantId } = manageScope(c.var.principal, c.req.valid("query"));
  const body = c.req.valid("json");
  const url = validUrl(c, body.url);
  const store = await storeFor(c, tenantId, "write");
  const id = uuidv7();
  const secret = newSecret();
  const sealed = await sealSecret(config(c.env).providerSecretsKey, tenantId, id, secret);
  const result = await store.create(
    {
      id,
      url,
      events: body.events,
      description: body.description ?? null,
      sealedSecret: sealed,
      serviceHost: serviceHost(c),
      now: iso(Date.now()),
    },
    [auditOf(c, store.db, tenantId, "subscription.created", id, { events: body.events }, "exists")],
  );
  if (result.outcome === "limit_reached") throw new ApiError(409, "subscription_limit");
  // The directory learns the tenant has subscriptions: from then on (within
  // one directory TTL everywhere, at once here) its changes go to the
  // outbox. If it cannot be told, the subscription would silently miss
  // events: it is taken back and the caller retries.
  try {
    await recordSubscriptionCount(c.env, tenantId, result.count, "raise", c.var.dbStats);
  } catch (err) {
    const takenBack = auditOf(c, store.db, tenantId, "subscription.deleted", id, { taken_back: true }, "deleted");
    await store
      .delete(id, [takenBack])
      .catch((cause) => log.error("subscription not taken back", { error: String(cause) }));
    throw unavailable(err);
  }
  return c.json(
    {
      success: true as const,
      message: message(c, "subscription_created"),
      subscription: { ...toSubscription(result.row), secret },
    },
    201,
  );
};

export const list: RouteHandler<typeof listSubscriptionsRoute, AuthedEnv> = async (c) => {
  const { tenantId } = manageScope(c.var.principal, c.req.valid("query"));
  const rows = await (await storeFor(c, tenantId, "read")).list();
  return c.json(
    { success: true as const, message: message(c, "subscriptions_ok"), subscriptions: rows.map(toSubscription) },
    200,
  );
};

export const get: RouteHandler<typeof getSubscriptionRoute, AuthedEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const { tenantId } = manageScope(c.var.principal, c.req.valid("query"));
  const store = await storeFor(c, tenantId, "read");
  const row = await store.get(id);
  if (!row) throw notFound();
  const stats = await store.deliveryStats(id);
  return c.json(
    {
      success: true as const,
      message: message(c, "subscription_ok"),
      subscription: {
        ...toSubscription(row),
        delivery_counts: stats.counts,
        last_success_at: stats.lastSuccess,
        last_failure_at: stats.lastFailure,
      },
    },
    200,
  );
};

const UPDATABLE = ["url", "events", "description", "status"] as const;

function changesOf(c: C, body: UpdateSubscriptionBody): SubscriptionChanges {
  if (!UPDATABLE.some((k) => body[k] !== undefined)) {
    throw badRequest([{ field: "body", message: "field_nothing_to_update", params: { values: UPDATABLE.join(", ") } }]);
  }
  const changes: SubscriptionChanges = {};
  if (body.url !== undefined) {
    changes.url = validUrl(c, body.url);
    changes.service_host = serviceHost(c);
  }
  if (body.events !== undefined) changes.events = body.events;
  if (body.description !== undefined) changes.description = body.description;
  if (body.status !== undefined) {
    changes.status = body.status;
    // Resuming (a disabled one too) starts its failure clock afresh.
    if (body.status === "active") changes.failing_since = null;
  }
  return changes;
}

export const update: RouteHandler<typeof updateSubscriptionRoute, AuthedEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const { tenantId } = manageScope(c.var.principal, c.req.valid("query"));
  const changes = changesOf(c, c.req.valid("json"));
  const details: JsonObject = {
    changed: Object.keys(changes).filter((k) => k !== "service_host" && k !== "failing_since"),
  };
  if (changes.status !== undefined) details.status = changes.status;
  if (changes.events !== undefined) details.events = changes.events;
  const store = await storeFor(c, tenantId, "write");
  const audit = auditOf(c, store.db, tenantId, "subscription.updated", id, details, "exists");
  const row = await store.update(id, changes, iso(Date.now()), [audit]);
  if (!row) throw notFound();
  return c.json(
    { success: true as const, message: message(c, "subscription_updated"), subscription: toSubscription(row) },
    200,
  );
};

export const remove: RouteHandler<typeof deleteSubscriptionRoute, AuthedEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const { tenantId } = manageScope(c.var.principal, c.req.valid("query"));
  const store = await storeFor(c, tenantId, "write");
  const { deleted, count } = await store.delete(id, [
    auditOf(c, store.db, tenantId, "subscription.deleted", id, {}, "deleted"),
  ]);
  if (!deleted) throw notFound();
  // The directory's count follows; set, then raised again to what the shard
  // holds, so a create running meanwhile is never counted out. If the
  // directory cannot be reached, the count stays high: the tenant's changes
  // keep going to the outbox (rows written for nobody), nothing is missed.
  try {
    await recordSubscriptionCount(c.env, tenantId, count, "set", c.var.dbStats);
    const now = await store.count();
    if (now > count) await recordSubscriptionCount(c.env, tenantId, now, "raise", c.var.dbStats);
  } catch (err) {
    log.warn("subscription count not lowered", {
      request_id: c.var.requestId,
      error: err instanceof Error ? err.name : typeof err,
    });
  }
  return c.json({ success: true as const, message: message(c, "subscription_deleted") }, 200);
};

export const rotate: RouteHandler<typeof rotateSecretRoute, AuthedEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const { tenantId } = manageScope(c.var.principal, c.req.valid("query"));
  const store = await storeFor(c, tenantId, "write");
  const secret = newSecret();
  const sealed = await sealSecret(config(c.env).providerSecretsKey, tenantId, id, secret);
  const now = Date.now();
  const row = await store.rotate(id, sealed, iso(now), iso(now + PREVIOUS_SECRET_TTL_MS), [
    auditOf(c, store.db, tenantId, "subscription.secret_rotated", id, {}, "exists"),
  ]);
  if (!row) throw notFound();
  return c.json(
    {
      success: true as const,
      message: message(c, "subscription_secret_rotated"),
      subscription: { ...toSubscription(row), secret },
    },
    200,
  );
};

const toBase64Url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function decodeDeliveryCursor(cursor: string): string {
  let decoded = "";
  try {
    decoded = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    // invalid below
  }
  if (!EVENT_ID.test(decoded)) throw badRequest([{ field: "cursor", message: "field_invalid" }]);
  return decoded;
}

export const deliveries: RouteHandler<typeof deliveriesRoute, AuthedEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const q = c.req.valid("query");
  const { tenantId } = manageScope(c.var.principal, q);
  const before = q.cursor === undefined ? undefined : decodeDeliveryCursor(q.cursor);
  const limit = q.limit ?? 20;
  const store = await storeFor(c, tenantId, "read");
  if (!(await store.get(id))) throw notFound();
  const rows = await store.deliveries(id, q.status, limit, before);
  const page = rows.slice(0, limit);
  const last = rows.length > limit ? page.at(-1)?.event_id : undefined;
  const items: Delivery[] = page.map((r) => ({
    event_id: r.event_id,
    type: r.type as Delivery["type"],
    status: r.status,
    attempts: r.attempts,
    last_status_code: r.last_status_code,
    last_error: r.last_error as Delivery["last_error"],
    last_response: r.last_response,
    last_attempt_at: r.last_attempt_at,
    next_attempt_at: r.next_attempt_at,
  }));
  return c.json(
    {
      success: true as const,
      message: message(c, "deliveries_ok"),
      deliveries: items,
      next_cursor: last ? toBase64Url(last) : null,
    },
    200,
  );
};

export const replay: RouteHandler<typeof replayRoute, AuthedEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const { tenantId } = manageScope(c.var.principal, c.req.valid("query"));
  const body = c.req.valid("json");
  const now = Date.now();
  const since = Date.parse(body.since);
  const until = body.until === undefined ? now : Math.min(Date.parse(body.until), now);
  if (since < now - EVENT_RETENTION_DAYS * DAY_MS - REPLAY_SLACK_MS) {
    throw badRequest([
      { field: "since", message: "field_replay_too_old", params: { days: String(EVENT_RETENTION_DAYS) } },
    ]);
  }
  if (until <= since) throw badRequest([{ field: "until", message: "field_until_before_since" }]);
  const store = await storeFor(c, tenantId, "write");
  const sub = await store.get(id);
  if (!sub) throw notFound();
  if (sub.status !== "active") throw new ApiError(409, "subscription_not_active");
  try {
    await enqueue(c.env.EVENT_DELIVERIES, [
      {
        kind: "replay",
        tenant_id: tenantId,
        subscription_id: id,
        from: eventIdFloor(since),
        to: eventIdFloor(until + 1),
      },
    ]);
  } catch (err) {
    throw unavailable(err);
  }
  return c.json(
    {
      success: true as const,
      message: message(c, "replay_accepted"),
      replay: { since: iso(since), until: iso(until) },
    },
    202,
  );
};
