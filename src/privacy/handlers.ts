/** Privacy handlers: HTTP only; the stores decide, the handler picks the status. */
import type { RouteHandler } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import { actorOf, auditInsert } from "../audit/store";
import { manageScope } from "../communications/access";
import { decodeCursor, encodeCursor } from "../communications/cursor";
import { UNATTRIBUTED_CUSTOMER } from "../db/schema";
import type { AuthedEnv } from "../env";
import { type MessageKey, translate } from "../i18n/messages";
import { ApiError, badRequest, type FieldError, notFound } from "../lib/errors";
import { onTenantShard, tenantDb } from "../shards/tenant-db";
import { normaliseAddress } from "./address";
import { getErasure, listErasures, requestErasure, startErasure, toErasure } from "./erasure";
import { redactOne } from "./redaction";
import type {
  createErasureRoute,
  getErasureRoute,
  getSettingsRoute,
  listErasuresRoute,
  putSettingsRoute,
  redactRoute,
} from "./routes";
import { readSettings, SETTING, settingValue, updateRedactAfterDays } from "./settings";

const message = (c: Context<AuthedEnv>, key: MessageKey) => translate(c.var.lang, key);

/** The request's addresses, normalised; each bad one is a field error naming its index. */
function normaliseAll(addresses: string[]): string[] {
  const errors: FieldError[] = [];
  const out = new Set<string>();
  addresses.forEach((input, i) => {
    const address = normaliseAddress(input);
    if ("value" in address) out.add(address.value);
    else
      errors.push({
        field: `addresses.${i}`,
        message: address.problem === "phone_without_plus" ? "field_phone_needs_plus" : "field_address_invalid",
      });
  });
  if (errors.length) throw badRequest(errors);
  return [...out];
}

export const createErasure: RouteHandler<typeof createErasureRoute, AuthedEnv> = async (c) => {
  const { tenantId } = manageScope(c.var.principal, c.req.valid("query"));
  const body = c.req.valid("json");
  // The nil UUID holds unattributed inbound messages of every sender: erase those by address.
  if (body.customer_id === UNATTRIBUTED_CUSTOMER)
    throw badRequest([{ field: "customer_id", message: "field_invalid" }]);
  const addresses = normaliseAll(body.addresses ?? []);
  // Writes follow a tenant move at once (src/shards/tenant-db.ts).
  const result = await onTenantShard(c, tenantId, "write", (db) =>
    requestErasure(
      db,
      tenantId,
      { customer_id: body.customer_id, addresses, reference: body.reference ?? null },
      actorOf(c.var.principal),
      c.var.requestId,
    ),
  );
  if (result.outcome === "running") {
    return c.json(
      { success: true as const, message: message(c, "erasure_running"), erasure: toErasure(result.row) },
      200,
    );
  }
  await startErasure(c.env, result.row, c.var.requestId);
  return c.json(
    { success: true as const, message: message(c, "erasure_requested"), erasure: toErasure(result.row) },
    202,
  );
};

export const listErasuresHandler: RouteHandler<typeof listErasuresRoute, AuthedEnv> = async (c) => {
  const q = c.req.valid("query");
  const { tenantId } = manageScope(c.var.principal, q);
  const limit = q.limit ?? 10;
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, "desc");
  const db = await tenantDb(c, tenantId, "read");
  const { rows, lastId } = await listErasures(db, tenantId, { customer_id: q.customer_id }, { limit, after });
  return c.json(
    {
      success: true as const,
      message: message(c, "erasures_ok"),
      erasures: rows.map(toErasure),
      next_cursor: lastId ? encodeCursor("desc", lastId) : null,
    },
    200,
  );
};

export const getErasureHandler: RouteHandler<typeof getErasureRoute, AuthedEnv> = async (c) => {
  const { tenantId } = manageScope(c.var.principal, c.req.valid("query"));
  const row = await getErasure(await tenantDb(c, tenantId, "read"), tenantId, c.req.valid("param").id);
  if (!row) throw new ApiError(404, "erasure_not_found");
  return c.json({ success: true as const, message: message(c, "erasure_ok"), erasure: toErasure(row) }, 200);
};

export const redact: RouteHandler<typeof redactRoute, AuthedEnv> = async (c) => {
  const { tenantId } = manageScope(c.var.principal, c.req.valid("query"));
  const result = await onTenantShard(c, tenantId, "write", (db) =>
    redactOne(db, tenantId, c.req.valid("param").id, { actor: actorOf(c.var.principal), requestId: c.var.requestId }),
  );
  if (result.outcome === "not_found") throw notFound();
  const key = result.outcome === "redacted" ? "communication_redacted" : "communication_already_redacted";
  return c.json({ success: true as const, message: message(c, key), communication: result.communication }, 200);
};

export const getSettings: RouteHandler<typeof getSettingsRoute, AuthedEnv> = async (c) => {
  const { tenantId } = manageScope(c.var.principal, c.req.valid("query"));
  const settings = await readSettings(await tenantDb(c, tenantId, "read"), tenantId);
  return c.json({ success: true as const, message: message(c, "settings_ok"), settings }, 200);
};

export const putSettings: RouteHandler<typeof putSettingsRoute, AuthedEnv> = async (c) => {
  const { tenantId } = manageScope(c.var.principal, c.req.valid("query"));
  const { redact_after_days: days } = c.req.valid("json");
  // The entry goes first in the batch, so that it reads the value the change replaces.
  const previous = sql`json(coalesce(${settingValue(tenantId, SETTING.redactAfterDays)}, 'null'))`;
  const settings = await onTenantShard(c, tenantId, "write", (db) =>
    updateRedactAfterDays(
      db,
      tenantId,
      days,
      auditInsert(
        db,
        tenantId,
        {
          action: "settings.updated",
          actor: actorOf(c.var.principal),
          target: { kind: "settings", id: tenantId },
          requestId: c.var.requestId,
        },
        { details: sql`json_object('redact_after_days', ${days}, 'previous', ${previous})` },
      ).statement,
    ),
  );
  return c.json({ success: true as const, message: message(c, "settings_updated"), settings }, 200);
};
