/** Admin handlers: the directory, the shards' counts, and starting a move. */
import type { RouteHandler } from "@hono/zod-openapi";
import { desc, eq, gt } from "drizzle-orm";
import { outboxInsert } from "../audit/outbox";
import { actorOf } from "../audit/store";
import type { AuthedEnv } from "../env";
import { translate } from "../i18n/messages";
import { ApiError, badRequest, unavailable } from "../lib/errors";
import { UUID, uuidv7 } from "../lib/uuid";
import { shardBinding, shardNames } from "../shards/config";
import { directoryDb, readPlacement } from "../shards/directory";
import type { MoveParams } from "../shards/move";
import { auditOutbox, type MoveRow, moves, shardLoad, tenants } from "../shards/schema";
import type { moveRoute, shardsRoute, tenantRoute } from "./routes";
import type { Move } from "./schemas";

const toMove = (row: MoveRow): Move => ({
  id: row.id,
  status: row.status,
  from: row.from_shard,
  to: row.to_shard,
  copied: row.copied,
  rows_read: row.rows_read,
  rows_written: row.rows_written,
  error: row.error,
  created_at: row.created_at,
  updated_at: row.updated_at,
});

const isUniqueViolation = (err: unknown): boolean => {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (String((e as Error).message ?? e).includes("UNIQUE constraint failed")) return true;
  }
  return false;
};

/** A page position in the shards listing: the last tenant id of the page, opaque to clients. */
const encodeTenantCursor = (tenantId: string) => btoa(`t:${tenantId}`).replace(/=+$/, "");

function decodeTenantCursor(cursor: string): string {
  let decoded = "";
  try {
    decoded = atob(cursor);
  } catch {
    // answered below
  }
  const tenantId = decoded.startsWith("t:") ? decoded.slice(2) : "";
  if (!UUID.test(tenantId)) throw badRequest([{ field: "cursor", message: "field_invalid" }]);
  return tenantId.toLowerCase();
}

/** Ids per statement when counting a page's communications (D1 binds at most 100 parameters). */
const COUNT_CHUNK = 90;

export const listShards: RouteHandler<typeof shardsRoute, AuthedEnv> = async (c) => {
  const q = c.req.valid("query");
  const limit = q.limit ?? 100;
  const after = q.cursor === undefined ? undefined : decodeTenantCursor(q.cursor);
  const names = shardNames(c.env);
  const directory = directoryDb(c.env, c.var.dbStats);
  // A page of the directory in tenant id order (its primary key): limit + 1 says whether there is more.
  const [placed, loads] = await directory.batch([
    directory
      .select({ tenant_id: tenants.tenant_id, shard: tenants.shard })
      .from(tenants)
      .where(after ? gt(tenants.tenant_id, after) : undefined)
      .orderBy(tenants.tenant_id)
      .limit(limit + 1),
    directory.select().from(shardLoad),
  ]);
  const page = placed.slice(0, limit);
  const load = new Map(loads.map((l) => [l.shard, l.tenants]));
  const shards = await Promise.all(
    names.map(async (name) => {
      const here = page.filter((t) => t.shard === name).map((t) => t.tenant_id);
      const byTenant = new Map<string, number>();
      // An admin overview, not a tenant request: it reads this page's tenants' totals on every shard.
      for (let i = 0; i < here.length; i += COUNT_CHUNK) {
        const ids = here.slice(i, i + COUNT_CHUNK);
        const counts = await shardBinding(c.env, name)
          .prepare(
            `SELECT tenant_id, sum(n) AS n FROM communication_totals WHERE tenant_id IN (${ids.map(() => "?").join(", ")}) GROUP BY tenant_id`,
          )
          .bind(...ids)
          .all<{ tenant_id: string; n: number }>();
        for (const r of counts.results) byTenant.set(r.tenant_id, r.n);
      }
      return {
        name,
        tenant_count: load.get(name) ?? 0,
        tenants: here.map((tenant_id) => ({ tenant_id, communications: byTenant.get(tenant_id) ?? 0 })),
      };
    }),
  );
  const last = placed.length > limit ? page.at(-1) : undefined;
  return c.json(
    {
      success: true as const,
      message: translate(c.var.lang, "shards_ok"),
      limit,
      next_cursor: last ? encodeTenantCursor(last.tenant_id) : null,
      shards,
    },
    200,
  );
};

async function latestMove(env: Env, tenantId: string, stats: AuthedEnv["Variables"]["dbStats"]) {
  const [row] = await directoryDb(env, stats)
    .select()
    .from(moves)
    .where(eq(moves.tenant_id, tenantId))
    .orderBy(desc(moves.created_at))
    .limit(1);
  return row ? toMove(row) : null;
}

export const getTenant: RouteHandler<typeof tenantRoute, AuthedEnv> = async (c) => {
  const { tenant_id } = c.req.valid("param");
  const placement = await readPlacement(c.env, tenant_id, c.var.dbStats);
  if (!placement) throw new ApiError(404, "tenant_not_found");
  const move = await latestMove(c.env, tenant_id, c.var.dbStats);
  return c.json(
    {
      success: true as const,
      message: translate(c.var.lang, "tenant_ok"),
      tenant: { tenant_id, shard: placement.shard, frozen: placement.frozen, move },
    },
    200,
  );
};

export const moveTenant: RouteHandler<typeof moveRoute, AuthedEnv> = async (c) => {
  const { tenant_id } = c.req.valid("param");
  const { to } = c.req.valid("json");
  const names = shardNames(c.env);
  if (!names.includes(to)) {
    throw badRequest([{ field: "to", message: "field_invalid_value", params: { values: names.join(", ") } }]);
  }
  const placement = await readPlacement(c.env, tenant_id, c.var.dbStats);
  if (!placement) throw new ApiError(404, "tenant_not_found");
  if (placement.shard === to) throw new ApiError(409, "move_conflict");

  const now = new Date().toISOString();
  const row: MoveRow = {
    id: uuidv7(),
    tenant_id,
    from_shard: placement.shard,
    to_shard: to,
    status: "queued",
    copied: 0,
    rows_read: 0,
    rows_written: 0,
    error: null,
    created_at: now,
    updated_at: now,
  };
  const db = directoryDb(c.env, c.var.dbStats);
  const actor = actorOf(c.var.principal);
  // The move's row and its audit entry in one directory batch (src/audit/outbox.ts).
  const audit = outboxInsert(db, tenant_id, {
    action: "tenant.move_started",
    actor,
    target: { kind: "move", id: row.id },
    details: { from: row.from_shard, to },
    requestId: c.var.requestId,
  });
  try {
    // moves_one_active (a partial unique index) admits one unfinished move per tenant.
    await db.batch([db.insert(moves).values(row), audit.statement]);
  } catch (err) {
    if (isUniqueViolation(err)) throw new ApiError(409, "move_conflict");
    throw err;
  }
  const params: MoveParams = {
    moveId: row.id,
    tenantId: tenant_id,
    from: row.from_shard,
    to,
    actor,
    requestId: c.var.requestId,
  };
  try {
    await c.env.TENANT_MOVE.create({ id: row.id, params });
  } catch (err) {
    // Nothing started: the move is failed, and its entry goes with it (it never reached a shard).
    await db.batch([
      db
        .update(moves)
        .set({ status: "failed", error: "the workflow could not be started", updated_at: new Date().toISOString() })
        .where(eq(moves.id, row.id)),
      db.delete(auditOutbox).where(eq(auditOutbox.id, audit.row.id)),
    ]);
    throw unavailable(err);
  }
  return c.json({ success: true as const, message: translate(c.var.lang, "move_started"), move: toMove(row) }, 202);
};
