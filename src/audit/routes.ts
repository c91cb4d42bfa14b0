/**
 * GET /delivery/customer-communications/audit (privacy.md, "The audit
 * log"): the tenant's privileged actions, newest first, cursor pages, for
 * manage:operations:tenant or a system administrator naming `tenant_id`.
 * Read only: no route changes or deletes an entry.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { manageScope, mayManage } from "../communications/access";
import { decodeCursor, encodeCursor } from "../communications/cursor";
import { BASE_PATH } from "../communications/routes";
import type { AuthedEnv } from "../env";
import { translate } from "../i18n/messages";
import { validationHook } from "../lib/validation";
import { json, success } from "../openapi/responses";
import { PRIVACY_TAG, protectedRoute } from "../openapi/route";
import { tenantDb } from "../shards/tenant-db";
import { AuditList, AuditQuery, EXAMPLE_AUDIT_ENTRY } from "./schemas";
import { listAudit } from "./store";

export const auditRoute = protectedRoute(
  mayManage,
  { reads: true, tag: PRIVACY_TAG },
  {
    method: "get",
    path: `${BASE_PATH}/audit`,
    operationId: "listAuditEntries",
    summary: "List the audit log",
    description:
      "The tenant's privileged actions (provider connections, subscriptions, erasures, redactions, settings, tenant moves, exports), newest first, with cursor pages; filters `action`, `actor` (a `sub`), `created_after`, `created_before`. Entries are written in the same transaction as their action, never changed or deleted, kept at least 400 days and moved with the tenant. Requires manage:operations:tenant.",
    request: { query: AuditQuery },
    responses: {
      200: json(AuditList, "A page of entries.", {
        page: success("audit_ok", { entries: [EXAMPLE_AUDIT_ENTRY], next_cursor: null }),
      }),
    },
  },
);

export const auditRouter = new OpenAPIHono<AuthedEnv>({ defaultHook: validationHook }).openapi(
  auditRoute,
  async (c) => {
    const q = c.req.valid("query");
    const { tenantId } = manageScope(c.var.principal, q);
    const limit = q.limit ?? 10;
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, "desc");
    const db = await tenantDb(c, tenantId, "read");
    const { entries, lastId } = await listAudit(db, tenantId, q, { limit, after });
    return c.json(
      {
        success: true as const,
        message: translate(c.var.lang, "audit_ok"),
        entries,
        next_cursor: lastId ? encodeCursor("desc", lastId) : null,
      },
      200,
    );
  },
);
