/**
 * The export (search.md, Export): every communication a list with the same
 * filters would page through, in one streamed response.
 *
 * The body is a ReadableStream pulled by the client: each pull reads the
 * next EXPORT_PAGE_ROWS rows by keyset (the list's own queries, under the
 * same visible() scope, src/communications/store.ts) and writes them out,
 * so at most one page is held at a time, whatever the number of rows. The
 * first page is read before the response starts: a D1 failure there is an
 * ordinary 503, and the first bytes carry rows. Each further page counts
 * once against the caller's rate limit (src/middleware/rate-limit.ts). Any
 * failure after the response started errors the stream, which aborts the
 * response: the client sees a transfer error, never a clean end.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { actorOf, auditInsert } from "../audit/store";
import { readScope } from "../communications/access";
import type { ExportQuery } from "../communications/schemas";
import { CommunicationStore, type ListFilters } from "../communications/store";
import { d1Fields } from "../db/client";
import type { AppEnv, AuthedEnv } from "../env";
import { log } from "../lib/logger";
import { validationHook } from "../lib/validation";
import { countAnotherRequest, RATE_LIMIT_PERIOD_S } from "../middleware/rate-limit";
import { parseSearch, searchNotReady } from "../search";
import { onTenantShard, tenantDb } from "../shards/tenant-db";
import { type ExportFormat, head, lines, MEDIA_TYPES } from "./format";
import { EXPORT_PAGE_ROWS, exportRoute } from "./routes";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `communications-<tenant>-<UTC date>.<ext>` (search.md). */
const fileName = (tenantId: string, format: ExportFormat, now = new Date()) =>
  `communications-${tenantId}-${now.toISOString().slice(0, 10)}.${format}`;

/**
 * The audit entry of an export (privacy.md: `export.downloaded`, the filters
 * and the number of rows), written when the transfer ends, complete or cut,
 * since only then is the number known. An entry holds no address and no
 * words: `address` and `q` are recorded as given or not, never their
 * values. The entry follows the tenant across a move (onTenantShard); if it
 * cannot be written, the error is logged with the request's id, and the
 * `export` log line of the same request still records the download.
 */
async function audit(
  c: Context<AuthedEnv>,
  tenantId: string,
  query: ExportQuery,
  format: ExportFormat,
  rows: number,
  complete: boolean,
) {
  const { address, q, tenant_id: _tenant, language: _language, ...rest } = query;
  const filters = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined && v !== ""));
  try {
    await onTenantShard(c, tenantId, "write", (db) =>
      auditInsert(db, tenantId, {
        action: "export.downloaded",
        actor: actorOf(c.var.principal),
        target: { kind: "export", id: c.var.requestId },
        details: { format, filters, address: address !== undefined, q: q !== undefined, rows, complete },
        requestId: c.var.requestId,
      }).statement.run(),
    );
  } catch (err) {
    log.error("export audit entry not written", { request_id: c.var.requestId, tenant_id: tenantId, err });
  }
}

/** Why an export stopped before its last row (logged; the client sees the transfer cut). */
class ExportCut extends Error {}

async function exportHandler(c: Context<AuthedEnv>, query: ExportQuery) {
  const principal = c.var.principal;
  const scope = readScope(principal, query);
  const search = parseSearch(query);
  const store = new CommunicationStore(await tenantDb(c, scope.tenantId, "read"), scope);
  if (search && (await store.searchPending())) throw searchNotReady();
  const filters: ListFilters = { ...query, search };
  const format = query.format ?? "ndjson";
  const order = query.sort_order ?? "desc";
  const pageOf = (after?: string) => store.page(filters, { limit: EXPORT_PAGE_ROWS, order, after });

  let page: Awaited<ReturnType<typeof pageOf>> | undefined = await pageOf();
  const started = performance.now();
  let rows = 0;
  const encoder = new TextEncoder();
  let finished = false;
  const finish = (complete: boolean, error?: unknown) => {
    if (finished) return;
    finished = true;
    c.executionCtx.waitUntil(audit(c, scope.tenantId, query, format, rows, complete));
    logFinish(complete, error);
  };
  const logFinish = (complete: boolean, error?: unknown) =>
    (complete ? log.info : log.warn)("export", {
      request_id: c.var.requestId,
      tenant_id: scope.tenantId,
      format,
      rows,
      complete,
      duration_ms: Math.round(performance.now() - started),
      d1: d1Fields(c.var.dbStats),
      ...(error === undefined ? {} : { error: error instanceof Error ? error.message : String(error) }),
    });

  /** One more count per page after the first; a refused one waits one window and tries once more. */
  const charge = async () => {
    if (await countAnotherRequest(c.env, principal, query.tenant_id)) return;
    await sleep(RATE_LIMIT_PERIOD_S * 1000);
    if (!(await countAnotherRequest(c.env, principal, query.tenant_id))) {
      throw new ExportCut("rate limited part-way");
    }
  };

  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const first = head(format);
        if (first) controller.enqueue(encoder.encode(first));
      },
      async pull(controller) {
        try {
          if (!page) {
            // The previous page was the last.
            finish(true);
            controller.close();
            return;
          }
          const current: NonNullable<typeof page> = page;
          page = undefined;
          controller.enqueue(encoder.encode(lines(format, current.rows)));
          rows += current.rows.length;
          if (current.lastId) {
            // The count and the read run together: the limiter's answer (a
            // round trip locally, a local counter in production) costs no
            // extra wait. A page read and then refused is not sent.
            const [next] = await Promise.all([pageOf(current.lastId), charge()]);
            page = next;
          } else {
            finish(true);
            controller.close();
          }
        } catch (err) {
          finish(false, err);
          // Errors the stream: the runtime aborts the response mid-body.
          controller.error(err);
        }
      },
      cancel(reason) {
        // The client went away: nothing more is read.
        page = undefined;
        finish(false, reason ?? "cancelled by the client");
      },
    },
    // Pulled one page at a time: nothing is read ahead of what the client takes.
    { highWaterMark: 0 },
  );

  return c.body(body, 200, {
    "content-type": MEDIA_TYPES[format],
    "content-disposition": `attachment; filename="${fileName(scope.tenantId, format)}"`,
  });
}

export const exportRouter = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(
  exportRoute,
  // Streamed text: the route's typed (JSON) responses do not describe it.
  (c) => exportHandler(c as unknown as Context<AuthedEnv>, c.req.valid("query")) as never,
);
