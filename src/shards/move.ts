/**
 * A tenant move between shards, as a Cloudflare Workflow: every step is
 * recorded when it completes, so a Worker restart resumes at the first
 * unfinished step, and every step is idempotent (src/shards/copy.ts), so a
 * step cut short and run again changes nothing twice.
 *
 *  1. copy:   the tenant's rows, page by page, while reads and writes go on
 *             at the source;
 *  2. freeze: a fence row in the source shard (its triggers refuse every
 *             write of the tenant from then on: 503 + Retry-After) and
 *             `frozen` in the directory (isolates that re-read it refuse
 *             writes without trying);
 *  3. sync:   the same walk again: picks up what changed during the copy,
 *             and removes from the target what the source deleted meanwhile;
 *  4. verify: counts and a SHA-256 checksum of every table on both sides,
 *             the totals, the search documents and their count in the
 *             search index (src/shards/tenant-tables.ts, DERIVED_TABLES);
 *             a mismatch rolls back (fence lifted, target rows deleted,
 *             move failed, tenant untouched at the source);
 *  5. switch: the directory points at the target, writes resume there;
 *  6. wait one directory-cache TTL (isolates still reading the source
 *     switch over), then delete the source rows page by page.
 *
 * Audit (privacy.md): `tenant.move_started` is committed with the move's
 * row by the admin route, `tenant.move_finished` with the row's final status
 * here, both into the directory's audit outbox, and delivered to the
 * tenant's audit log by the next step (src/audit/outbox.ts).
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { deliverAuditOutbox, outboxInsert } from "../audit/outbox";
import type { Actor } from "../audit/store";
import { config } from "../config";
import { createDb, newDbStats } from "../db/client";
import { countSearchDocuments } from "../search";
import { type ShardName, shardBinding } from "./config";
import {
  type Cursor,
  checksumPage,
  copyPage,
  countRows,
  deletePage,
  type PageCost,
  prunePage,
  throughFence,
} from "./copy";
import { DIRECTORY_TTL_MS } from "./directory";
import { type MoveRow, type MoveStatus, moves, tenants } from "./schema";
import { DERIVED_TABLES, TENANT_TABLES, type TenantTable } from "./tenant-tables";

export interface MoveParams {
  moveId: string;
  tenantId: string;
  from: ShardName;
  to: ShardName;
  /** Who started it and in which request: the actor of the `tenant.move_finished` audit entry. */
  actor?: Actor;
  requestId?: string;
}

/** Who a move's finishing entry names: its starter (moves started before the audit log existed have none). */
const moveActor = (p: MoveParams): Actor => p.actor ?? { sub: "system:unknown", role: null, is_system_admin: true };

/** After the switch: a cached directory entry lives one TTL; a request that read it may still be running. */
const SOURCE_GRACE_MS = DIRECTORY_TTL_MS + 30_000;

const RETRY = { retries: { limit: 10, delay: "2 seconds", backoff: "exponential" }, timeout: "5 minutes" } as const;

const directory = (env: Env) => createDb(env.DIRECTORY, "first-primary", newDbStats());

interface Progress {
  copied: number;
  rowsRead: number;
  rowsWritten: number;
}

async function record(env: Env, moveId: string, status: MoveStatus, progress: Progress, error?: string) {
  await recordUpdate(directory(env), moveId, status, progress, error).run();
}

function recordUpdate(
  db: ReturnType<typeof directory>,
  moveId: string,
  status: MoveStatus,
  progress: Progress,
  error?: string,
) {
  return db
    .update(moves)
    .set({
      status,
      copied: progress.copied,
      rows_read: progress.rowsRead,
      rows_written: progress.rowsWritten,
      updated_at: new Date().toISOString(),
      ...(error === undefined ? {} : { error }),
    })
    .where(eq(moves.id, moveId));
}

/**
 * The move's final status and its `tenant.move_finished` entry, in one
 * directory batch. The entry is written only while the row is not final yet,
 * so a step that runs again after this batch committed adds no second one.
 */
async function finishRecord(
  env: Env,
  params: MoveParams,
  status: "done" | "failed",
  progress: Progress,
  error?: string,
) {
  const db = directory(env);
  const stillOpen = sql`(SELECT ${moves.status} FROM ${moves} WHERE ${moves.id} = ${params.moveId}) NOT IN ('done', 'failed')`;
  const { statement } = outboxInsert(
    db,
    params.tenantId,
    {
      action: "tenant.move_finished",
      actor: moveActor(params),
      target: { kind: "move", id: params.moveId },
      details: {
        status,
        from: params.from,
        to: params.to,
        copied: progress.copied,
        rows_read: progress.rowsRead,
        rows_written: progress.rowsWritten,
      },
      requestId: params.requestId ?? params.moveId,
    },
    stillOpen,
  );
  await db.batch([statement, recordUpdate(db, params.moveId, status, progress, error)]);
}

/** The tenant's non-empty totals cells, in key order, as one comparable string. */
async function totalsOf(db: D1Database, table: TenantTable, tenantId: string) {
  const result = await db
    .prepare(`SELECT type, direction, status, n FROM ${table.name} WHERE tenant_id = ? AND n > 0 ORDER BY 1, 2, 3`)
    .bind(tenantId)
    .all();
  return { value: JSON.stringify(result.results), rowsRead: result.meta.rows_read ?? 0 };
}

/**
 * Deletes every row of the tenant from a shard that does not serve it, its
 * totals and any fence. The tenant is fenced there first (if it is not
 * already): its deletes then go through the fence as the move's own
 * (`releasing`, src/shards/copy.ts), which the audit log's guard against
 * deletes lets through (migrations/0008_privacy.sql); nothing serves the
 * tenant from this shard, so the fence costs nobody anything.
 */
async function clearTenant(db: D1Database, tenantId: string, limit: number) {
  await db
    .prepare(
      "INSERT INTO tenant_fences (tenant_id, move_id, created_at) VALUES (?, 'clearing', ?) ON CONFLICT DO NOTHING",
    )
    .bind(tenantId, new Date().toISOString())
    .run();
  for (const table of TENANT_TABLES) {
    while ((await deletePage(db, table, tenantId, limit)).rows > 0) {}
  }
  await db.batch([
    db.prepare("DELETE FROM communication_totals WHERE tenant_id = ?").bind(tenantId),
    db.prepare("DELETE FROM communication_search_backfill WHERE tenant_id = ?").bind(tenantId),
    db.prepare("DELETE FROM tenant_fences WHERE tenant_id = ?").bind(tenantId),
  ]);
}

export class TenantMove extends WorkflowEntrypoint<Env, MoveParams> {
  override async run(event: WorkflowEvent<MoveParams>, step: WorkflowStep) {
    const { moveId, tenantId, from, to } = event.payload;
    const env = this.env;
    const limit = config(env).moveBatchRows;
    const source = shardBinding(env, from);
    const target = shardBinding(env, to);
    const progress: Progress = { copied: 0, rowsRead: 0, rowsWritten: 0 };
    const spend = (cost: PageCost) => {
      progress.rowsRead += cost.rowsRead;
      progress.rowsWritten += cost.rowsWritten;
    };

    /**
     * Walks every tenant table, one step per page; the pass's name prefixes
     * the step names. The sync pass (behind the fence) also removes from the
     * target what the source deleted since the copy pass.
     */
    const copyAll = async (pass: "copy" | "sync") => {
      for (const table of TENANT_TABLES) {
        let after: Cursor = null;
        do {
          const page = await step.do(`${pass} ${table.name}`, RETRY, () =>
            copyPage(source, target, table, tenantId, after, limit),
          );
          progress.copied += page.rows;
          spend(page.cost);
          after = page.next;
        } while (after);
        if (pass === "copy") continue;
        do {
          const page = await step.do(`prune ${table.name}`, RETRY, () =>
            prunePage(source, target, table, tenantId, after, limit),
          );
          spend(page.cost);
          after = page.next;
        } while (after);
      }
    };

    /** Count and checksum of one table on both sides; the difference, or undefined. */
    const compareRows = async (table: TenantTable & { columns?: readonly string[] }): Promise<string | undefined> => {
      const counts = await step.do(`count ${table.name}`, RETRY, async () => ({
        source: await countRows(source, table, tenantId),
        target: await countRows(target, table, tenantId),
      }));
      if (counts.source !== counts.target) {
        return `${table.name}: ${counts.source} rows at the source, ${counts.target} at the target`;
      }
      let sums = { source: "", target: "" };
      let cursors: { source: Cursor; target: Cursor } = { source: null, target: null };
      let first = true;
      while (first || cursors.source || cursors.target) {
        first = false;
        const page = await step.do(`checksum ${table.name}`, RETRY, async () => {
          const [s, t] = await Promise.all([
            checksumPage(source, table, tenantId, cursors.source, limit, sums.source),
            checksumPage(target, table, tenantId, cursors.target, limit, sums.target),
          ]);
          return {
            sums: { source: s.checksum, target: t.checksum },
            cursors: { source: s.next, target: t.next },
            rowsRead: s.cost.rowsRead + t.cost.rowsRead,
          };
        });
        progress.rowsRead += page.rowsRead;
        sums = page.sums;
        cursors = page.cursors;
      }
      return sums.source === sums.target ? undefined : `${table.name}: checksums differ`;
    };

    /** Counts and checksums of both sides; the first difference, or undefined. */
    const verify = async (): Promise<string | undefined> => {
      for (const table of TENANT_TABLES) {
        const difference = await compareRows(table);
        if (difference) return difference;
      }
      for (const table of DERIVED_TABLES) {
        if (table.compare === "rows") {
          const difference = await compareRows(table);
          if (difference) return difference;
          continue;
        }
        const same = await step.do(`compare ${table.name}`, RETRY, async () => {
          const [s, t] = await Promise.all([totalsOf(source, table, tenantId), totalsOf(target, table, tenantId)]);
          return { equal: s.value === t.value, rowsRead: s.rowsRead + t.rowsRead };
        });
        progress.rowsRead += same.rowsRead;
        if (!same.equal) return `${table.name}: totals differ`;
      }
      // The search index (see DERIVED_TABLES): one document per communication on both sides.
      const search = await step.do("count communication_search", RETRY, async () => {
        const [s, t, n] = await Promise.all([
          countSearchDocuments(source, tenantId),
          countSearchDocuments(target, tenantId),
          countRows(target, { name: "communications", key: ["id"] }, tenantId),
        ]);
        return { source: s.documents, target: t.documents, communications: n, rowsRead: s.rowsRead + t.rowsRead };
      });
      progress.rowsRead += search.rowsRead;
      if (search.source !== search.communications || search.target !== search.communications) {
        return `communication_search: ${search.source} documents at the source, ${search.target} at the target, for ${search.communications} communications`;
      }
      return undefined;
    };

    await step.do("start", RETRY, async () => {
      // The target does not serve this tenant (the directory says `from`):
      // anything of it there is residue of an earlier move that stopped
      // half-way, including a fence, which would refuse the copy.
      await clearTenant(target, tenantId, limit);
      await record(env, moveId, "copying", progress);
    });
    // `tenant.move_started`, committed with the move's row, reaches the
    // tenant's audit log at the source before the copy, which carries it.
    await step.do("deliver audit entries", RETRY, () => deliverAuditOutbox(env, tenantId));
    try {
      await copyAll("copy");
      await step.do("freeze", RETRY, async () => {
        await source
          .prepare("INSERT INTO tenant_fences (tenant_id, move_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
          .bind(tenantId, moveId, new Date().toISOString())
          .run();
        const db = directory(env);
        await db.update(tenants).set({ frozen: true }).where(eq(tenants.tenant_id, tenantId)).run();
        await record(env, moveId, "frozen", progress);
      });
      await copyAll("sync");
      // The hourly purge may have removed expired idempotency keys at the
      // source after they were copied; drop them on both sides alike.
      await step.do("drop expired keys", RETRY, async () => {
        const now = new Date().toISOString();
        for (const db of [source, target]) {
          // The source is fenced: the delete goes through the fence (src/shards/copy.ts).
          await throughFence(
            db,
            tenantId,
            db.prepare("DELETE FROM idempotency_keys WHERE tenant_id = ? AND expires_at <= ?").bind(tenantId, now),
          );
        }
      });
      await step.do("verifying", RETRY, () => record(env, moveId, "verifying", progress));
      const difference = await verify();
      if (difference) {
        await step.do("roll back", RETRY, () => this.rollBack(event.payload, limit, progress, difference));
        return { status: "failed" as const, error: difference };
      }
    } catch (err) {
      // A step that kept failing after its retries: nothing was switched yet,
      // so the source still holds everything.
      const error = err instanceof Error ? err.message : String(err);
      await step.do("roll back after error", RETRY, () => this.rollBack(event.payload, limit, progress, error));
      return { status: "failed" as const, error };
    }

    await step.do("switch", RETRY, async () => {
      const db = directory(env);
      await db.batch([
        db
          .update(tenants)
          .set({ shard: to, frozen: false })
          .where(and(eq(tenants.tenant_id, tenantId), eq(tenants.shard, from))),
        db.update(moves).set({ status: "switched", updated_at: new Date().toISOString() }).where(eq(moves.id, moveId)),
      ]);
    });
    await step.sleep("let directory caches expire", SOURCE_GRACE_MS);
    await step.do("cleaning", RETRY, () => record(env, moveId, "cleaning", progress));
    for (const table of TENANT_TABLES) {
      let deleted = 0;
      do {
        const page = await step.do(`delete ${table.name}`, RETRY, () => deletePage(source, table, tenantId, limit));
        spend(page.cost);
        deleted = page.rows;
      } while (deleted > 0);
    }
    await step.do("finish", RETRY, async () => {
      // The totals cells are all zero once the communications are gone (and
      // the search index's entries went with them); the fence goes last.
      await source.batch([
        source.prepare("DELETE FROM communication_totals WHERE tenant_id = ?").bind(tenantId),
        source.prepare("DELETE FROM communication_search_backfill WHERE tenant_id = ?").bind(tenantId),
        source.prepare("DELETE FROM tenant_fences WHERE tenant_id = ?").bind(tenantId),
      ]);
      await finishRecord(env, event.payload, "done", progress);
    });
    await step.do("deliver audit entries", RETRY, () => deliverAuditOutbox(env, tenantId));
    return { status: "done" as const, ...progress };
  }

  /** Before the switch only: lift the fence and the freeze, delete what was copied, record the failure. */
  private async rollBack(params: MoveParams, limit: number, progress: Progress, error: string) {
    const { tenantId, from, to } = params;
    const source = shardBinding(this.env, from);
    const target = shardBinding(this.env, to);
    await clearTenant(target, tenantId, limit);
    await source.prepare("DELETE FROM tenant_fences WHERE tenant_id = ?").bind(tenantId).run();
    await directory(this.env).update(tenants).set({ frozen: false }).where(eq(tenants.tenant_id, tenantId)).run();
    await finishRecord(this.env, params, "failed", progress, error.slice(0, 500));
    // Not fenced any more: the entry reaches the source's audit log now (else the cron delivers it).
    await deliverAuditOutbox(this.env, tenantId);
  }
}

export type { MoveRow };
