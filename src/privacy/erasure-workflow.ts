/**
 * An erasure as a Cloudflare Workflow (wrangler.toml `workflows`, class
 * CustomerErasure): the parts of ./erasure-scope.ts in order, one bounded
 * page per step. Each step is recorded when it completes, so a Worker
 * restart resumes at the first unfinished one; each page is idempotent (a
 * step run again after its writes committed finds less to do and counts
 * nothing twice).
 *
 * Tenant moves: every step first reads the directory (not the isolate's
 * cache). While the tenant has a move under way, the step does nothing and
 * the Workflow sleeps and asks again, so the move copies a tenant that holds
 * still; then the erasure goes on, on whichever shard the tenant is now.
 *
 * When every part is done, one batch marks the erasure `done`, clears its
 * addresses, adds what the archive pass erased to the counts, and writes
 * the `erasure.finished` audit entry (naming the requester as the actor). A
 * part that keeps failing past its retries marks it `failed` the same way.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import { and, eq, inArray, notInArray, sql } from "drizzle-orm";
import { auditInsert } from "../audit/store";
import { config } from "../config";
import { createDb, type Database, d1Fields, newDbStats } from "../db/client";
import { erasures } from "../db/schema";
import { log } from "../lib/logger";
import { shardBinding } from "../shards/config";
import { directoryDb, readPlacement } from "../shards/directory";
import { moves } from "../shards/schema";
import { ACTIVE, type ErasureParams, type ErasureRow, getErasure } from "./erasure";
import { ERASURE_PARTS, type PageResult, scopeOf } from "./erasure-scope";

const RETRY = { retries: { limit: 10, delay: "2 seconds", backoff: "exponential" }, timeout: "5 minutes" } as const;
/** How long a step waits before asking again whether the tenant's move is over. */
export const MOVE_POLL = "5 seconds";

type OnShard<T> = { waiting: true } | { waiting: false; value: T };

interface Shard {
  db: Database;
  /** The same session's client, for statements sent as they are (counted in the same stats). */
  d1: D1Database;
  row: ErasureRow;
}

/**
 * Runs `work` on the tenant's shard as the directory names it now, unless
 * the tenant is being moved (then: waiting).
 */
async function onShard<T>(
  env: Env,
  p: ErasureParams,
  step: string,
  work: (shard: Shard) => Promise<T>,
): Promise<OnShard<T>> {
  const stats = newDbStats();
  const started = Date.now();
  const [placement, moving] = await Promise.all([
    readPlacement(env, p.tenantId, stats),
    directoryDb(env, stats)
      .select({ id: moves.id })
      .from(moves)
      .where(and(eq(moves.tenant_id, p.tenantId), notInArray(moves.status, ["done", "failed"])))
      .limit(1),
  ]);
  if (!placement) throw new Error("the erasure's tenant is not in the directory");
  if (placement.frozen || moving.length) return { waiting: true };
  const db = createDb(shardBinding(env, placement.shard), "first-primary", stats);
  const row = await getErasure(db, p.tenantId, p.erasureId);
  if (!row) throw new Error("the erasure's record is not on the tenant's shard");
  // Statements sent as they are go through the same instrumented client: every step's cost is counted.
  const value = await work({ db, d1: db.$client, row });
  // One line per step: what the erasure costs (BENCHMARKS.md, "Privacy"), ids and counts only.
  log.info("erasure step", {
    erasure_id: p.erasureId,
    tenant_id: p.tenantId,
    shard: placement.shard,
    step,
    duration_ms: Date.now() - started,
    d1: d1Fields(stats),
  });
  return { waiting: false, value };
}

interface Totals {
  communications: number;
  events: number;
  archived_days: number;
}

/**
 * The final batch: status, addresses cleared, the archive pass's counts
 * added, and the audit entry, written only if this batch is the one that
 * ended the erasure (a step run again after it commits nothing).
 */
async function finish({ db, row }: Shard, status: "done" | "failed", archived: Totals) {
  const now = new Date().toISOString();
  const mine = and(eq(erasures.tenant_id, row.tenant_id), eq(erasures.id, row.id));
  const entry = auditInsert(
    db,
    row.tenant_id,
    {
      action: "erasure.finished",
      actor: { sub: row.requested_by, role: row.requester_role, is_system_admin: row.requester_is_system_admin },
      target: { kind: "erasure", id: row.id },
      requestId: row.request_id,
    },
    {
      when: sql`changes() = 1`,
      details: sql`(SELECT json_object('status', ${erasures.status}, 'customer_id', ${erasures.customer_id},
        'communications', ${erasures.erased_communications}, 'events', ${erasures.erased_events},
        'archived_days', ${erasures.erased_archived_days}) FROM ${erasures} WHERE ${mine})`,
    },
  );
  await db.batch([
    db
      .update(erasures)
      .set({
        status,
        addresses: null,
        erased_communications: sql`${erasures.erased_communications} + ${archived.communications}`,
        erased_events: sql`${erasures.erased_events} + ${archived.events}`,
        erased_archived_days: archived.archived_days,
        updated_at: now,
        finished_at: now,
      })
      .where(and(mine, inArray(erasures.status, ACTIVE))),
    entry.statement,
  ]);
}

export class CustomerErasure extends WorkflowEntrypoint<Env, ErasureParams> {
  override async run(event: WorkflowEvent<ErasureParams>, step: WorkflowStep) {
    const params = event.payload;
    const env = this.env;
    const limit = config(env).erasureBatchRows;

    /** One step on the shard; while the tenant moves, sleep and ask again. */
    const onTenant = async <T extends Rpc.Serializable<T>>(
      name: string,
      work: (s: Shard) => Promise<T>,
    ): Promise<T> => {
      for (;;) {
        const result = await step.do(name, RETRY, async () => {
          const r = await onShard(env, params, name, work);
          return r.waiting ? { waiting: true as const } : { waiting: false as const, value: r.value };
        });
        if (!result.waiting) return result.value as T;
        await step.sleep("wait for the tenant's move", MOVE_POLL);
      }
    };

    const archived: Totals = { communications: 0, events: 0, archived_days: 0 };
    const state = await onTenant("begin", async ({ db, row }) => {
      if (row.status === "pending") {
        await db
          .update(erasures)
          .set({ status: "running", updated_at: new Date().toISOString() })
          .where(and(eq(erasures.tenant_id, row.tenant_id), eq(erasures.id, row.id), eq(erasures.status, "pending")))
          .run();
      }
      return row.status === "done" || row.status === "failed" ? "finished" : "running";
    });
    if (state === "finished") return { status: "already finished" };

    try {
      for (const part of ERASURE_PARTS) {
        let cursor: string | null = null;
        do {
          const from: string | null = cursor;
          const page: PageResult = await onTenant(`erase ${part.name}`, (s) =>
            part.page({ env, db: s.db, d1: s.d1, scope: scopeOf(s.row), limit }, from),
          );
          if (page.erased) {
            archived.communications += page.erased.communications;
            archived.events += page.erased.events;
            archived.archived_days += page.erased.archived_days;
          }
          cursor = page.next;
        } while (cursor);
      }
    } catch (err) {
      await onTenant("fail", (s) => finish(s, "failed", archived));
      return { status: "failed", error: err instanceof Error ? err.message.slice(0, 200) : String(err) };
    }
    await onTenant("finish", (s) => finish(s, "done", archived));
    return { status: "done", archived };
  }
}
