/**
 * Erasure requests (privacy.md, "Erasing a customer"): the record and its
 * queries. The work is done by a Workflow (./erasure-workflow.ts) over what
 * ./erasure-scope.ts lists.
 *
 * The record keeps `customer_id`, the counts, the requester (`sub`, and the
 * role the audit entry of its finish names), the reference and the request
 * id; the addresses to erase only while it runs (set to NULL when it ends),
 * and the API never returns them. The Workflow's parameters are ids only, so
 * Cloudflare's record of the instance holds nothing personal either.
 */
import { and, desc, eq, inArray, lt } from "drizzle-orm";
import { type Actor, auditInsert } from "../audit/store";
import type { Database } from "../db/client";
import { type ErasureStatus, erasures } from "../db/schema";
import { log } from "../lib/logger";
import { uuidv7, uuidv7Floor } from "../lib/uuid";

export type ErasureRow = typeof erasures.$inferSelect;

/** The Workflow's parameters: which erasure of which tenant, nothing else. */
export interface ErasureParams {
  tenantId: string;
  erasureId: string;
}

export const ACTIVE: ErasureStatus[] = ["pending", "running"];

/** An erasure as the API returns it. */
export const toErasure = (row: ErasureRow) => ({
  id: row.id,
  customer_id: row.customer_id,
  reference: row.reference,
  status: row.status,
  erased: {
    communications: row.erased_communications,
    events: row.erased_events,
    archived_days: row.erased_archived_days,
  },
  requested_by: row.requested_by,
  created_at: row.created_at,
  finished_at: row.finished_at,
});
export type Erasure = ReturnType<typeof toErasure>;

/** Communications with an id below this were created before the request: the ones it covers. */
export const erasureCutoff = (row: Pick<ErasureRow, "created_at">) => uuidv7Floor(Date.parse(row.created_at));

export interface ErasureRequest {
  customer_id: string;
  /** Normalised (./address.ts). */
  addresses: string[];
  reference: string | null;
}

export type RequestOutcome = { outcome: "created"; row: ErasureRow } | { outcome: "running"; row: ErasureRow };

const isActiveConflict = (err: unknown): boolean => {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (String((e as Error).message ?? e).includes("UNIQUE constraint failed: erasures.tenant_id")) return true;
  }
  return false;
};

export async function activeErasure(db: Database, tenantId: string, customerId: string) {
  const [row] = await db
    .select()
    .from(erasures)
    .where(
      and(eq(erasures.tenant_id, tenantId), eq(erasures.customer_id, customerId), inArray(erasures.status, ACTIVE)),
    )
    .limit(1);
  return row;
}

/**
 * Records an erasure request with its `erasure.requested` audit entry, in
 * one batch. While another one of that customer is pending or running (the
 * unique index erasures_one_active decides, also between concurrent
 * requests), that one is the answer.
 */
export async function requestErasure(
  db: Database,
  tenantId: string,
  request: ErasureRequest,
  actor: Actor,
  requestId: string,
): Promise<RequestOutcome> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const now = Date.now();
    const row: ErasureRow = {
      tenant_id: tenantId,
      id: uuidv7(now),
      customer_id: request.customer_id,
      addresses: request.addresses,
      reference: request.reference,
      status: "pending",
      erased_communications: 0,
      erased_events: 0,
      erased_archived_days: 0,
      requested_by: actor.sub,
      requester_role: actor.role,
      requester_is_system_admin: actor.is_system_admin,
      request_id: requestId,
      created_at: new Date(now).toISOString(),
      updated_at: new Date(now).toISOString(),
      finished_at: null,
    };
    const audit = auditInsert(db, tenantId, {
      action: "erasure.requested",
      actor,
      target: { kind: "erasure", id: row.id },
      details: { customer_id: request.customer_id, addresses: request.addresses.length },
      requestId,
    });
    try {
      await db.batch([db.insert(erasures).values(row), audit.statement]);
      return { outcome: "created", row };
    } catch (err) {
      if (!isActiveConflict(err)) throw err;
    }
    // The running one was committed on the primary, which a replica may not show yet.
    const running = await activeErasure(db.primary(), tenantId, request.customer_id);
    if (running) return { outcome: "running", row: running };
    // It finished between our insert and our read: try once more.
  }
  throw new Error("erasure request kept conflicting with a finishing one");
}

/** Starts the erasure's Workflow; a failure is logged and left to the cron (resumeErasures), never lost. */
export async function startErasure(env: Env, row: Pick<ErasureRow, "tenant_id" | "id">, requestId: string) {
  const params: ErasureParams = { tenantId: row.tenant_id, erasureId: row.id };
  try {
    await env.ERASURE.create({ id: row.id, params });
  } catch (err) {
    log.warn("erasure workflow not started; the hourly cron starts it", {
      request_id: requestId,
      erasure_id: row.id,
      error: err instanceof Error ? err.message.slice(0, 200) : String(err),
    });
  }
}

export async function getErasure(db: Database, tenantId: string, id: string) {
  const [row] = await db
    .select()
    .from(erasures)
    .where(and(eq(erasures.tenant_id, tenantId), eq(erasures.id, id)))
    .limit(1);
  return row;
}

/** The tenant's erasures, newest first (ids are UUIDv7), optionally of one customer. */
export async function listErasures(
  db: Database,
  tenantId: string,
  filters: { customer_id?: string },
  page: { limit: number; after?: string },
) {
  const rows = await db
    .select()
    .from(erasures)
    .where(
      and(
        eq(erasures.tenant_id, tenantId),
        filters.customer_id ? eq(erasures.customer_id, filters.customer_id) : undefined,
        page.after ? lt(erasures.id, page.after) : undefined,
      ),
    )
    .orderBy(desc(erasures.id))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit);
  return { rows: items, lastId: rows.length > page.limit ? items.at(-1)?.id : undefined };
}

/** An erasure this long unfinished without a live Workflow is started again by the cron. */
const RESUME_AFTER_MS = 5 * 60_000;

/**
 * The cron's safety net (src/index.ts): every erasure still pending or
 * running on a shard, older than RESUME_AFTER_MS, whose Workflow never
 * started (its create failed after the request was recorded) is started;
 * one whose Workflow errored or was terminated is restarted (its steps are
 * idempotent). Reads the small partial index of unfinished erasures.
 */
export async function resumeErasures(env: Env, db: Database, now = Date.now()) {
  const unfinished = await db
    .select({ tenant_id: erasures.tenant_id, id: erasures.id, created_at: erasures.created_at })
    .from(erasures)
    .where(inArray(erasures.status, ACTIVE));
  let resumed = 0;
  for (const row of unfinished) {
    if (now - Date.parse(row.created_at) < RESUME_AFTER_MS) continue;
    const params: ErasureParams = { tenantId: row.tenant_id, erasureId: row.id };
    try {
      // Never started: start it now. Started: create refuses the id, and the instance says how it is.
      await env.ERASURE.create({ id: row.id, params });
      resumed++;
      continue;
    } catch {
      // an instance with this id exists
    }
    try {
      const instance = await env.ERASURE.get(row.id);
      const { status } = await instance.status();
      if (status === "errored" || status === "terminated") {
        await instance.restart();
        resumed++;
      }
    } catch (err) {
      log.warn("erasure not resumed", {
        erasure_id: row.id,
        error: err instanceof Error ? err.message.slice(0, 200) : String(err),
      });
    }
  }
  return resumed;
}
