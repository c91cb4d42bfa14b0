/**
 * GET /delivery/customer-communications/providers/unmatched: the tenant's
 * provider events that matched no communication yet (kept for one created
 * later, src/webhooks/store.ts), newest first, in cursor pages. For staff
 * (view:tenant, manage:operations:tenant, system administrators naming the
 * tenant): a status callback for a message the sender never logged, or
 * logged under another id, waits here instead of unseen.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { canReadTenant } from "../auth/principal";
import { resolveTenant } from "../communications/access";
import { CommonQuery, count, ListQuery, Status, successEnvelope, timestamp } from "../communications/schemas";
import { STATUSES } from "../db/schema";
import type { AuthedEnv } from "../env";
import { translate } from "../i18n/messages";
import { badRequest } from "../lib/errors";
import { validationHook } from "../lib/validation";
import { json, success } from "../openapi/responses";
import { protectedRoute, WEBHOOK_TAG } from "../openapi/route";
import { PROVIDERS_PATH } from "../providers/routes";
import { tenantDb } from "../shards/tenant-db";
import { ANY_PROVIDER, listUnmatched, PENDING_TTL_MS, type UnmatchedAfter } from "./store";

const MAX_CURSOR_LENGTH = 1400;

const toBase64Url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

export const encodeUnmatchedCursor = (after: UnmatchedAfter) =>
  toBase64Url(new TextEncoder().encode(JSON.stringify(after)));

export function decodeUnmatchedCursor(cursor: string): UnmatchedAfter {
  try {
    const bytes = Uint8Array.from(atob(cursor.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
    const after: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
    if (Array.isArray(after) && after.length === 4 && after.every((v) => typeof v === "string" && v.length <= 1000)) {
      return after as UnmatchedAfter;
    }
  } catch {
    // answered below
  }
  throw badRequest([{ field: "cursor", message: "field_invalid" }]);
}

export const UnmatchedEvent = z
  .object({
    provider: z.string().max(32).nullable().openapi({
      description: "twilio, sendgrid, or another name sent on the standard route; null when the event named none.",
      example: "sendgrid",
    }),
    provider_message_id: z.string().max(255).openapi({
      description: "The provider's id of the message, as the event named it.",
      example: "LRzXl66cTQ6PN6-DpxwDOw.filterdrecv-5645d9c87f-6r9lz-1-62E6B2E5-45.0",
    }),
    status: z.enum(STATUSES).nullable().openapi({
      description: "Our status the event maps to; null for a provider value the mapping does not list.",
    }),
    provider_status: z.string().max(64).openapi({ description: "The provider's own value.", example: "delivered" }),
    occurred_at: timestamp.openapi({ description: "When the provider says it happened." }),
    received_at: timestamp.openapi({ description: "When the service kept it." }),
    expires_at: timestamp.openapi({
      description: "When it is deleted if no communication with this id is created before (7 days after received_at).",
    }),
  })
  .openapi("UnmatchedProviderEvent");

const MAX_UNMATCHED_PAGE = 100;

const UnmatchedList = successEnvelope("UnmatchedProviderEvents", {
  events: z.array(UnmatchedEvent).max(MAX_UNMATCHED_PAGE),
  limit: count(),
  next_cursor: z
    .string()
    .max(MAX_CURSOR_LENGTH)
    .nullable()
    .openapi({ description: "Pass as `cursor` for the next page; null on the last page." }),
});

const UnmatchedQuery = CommonQuery.extend({
  limit: ListQuery.shape.limit,
  cursor: z
    .preprocess((v) => (v === "" ? undefined : v), z.string().max(MAX_CURSOR_LENGTH).optional())
    .openapi({
      param: { name: "cursor", in: "query", allowEmptyValue: true },
      description: "Opaque `next_cursor` of a previous page.",
      type: "string",
      maxLength: MAX_CURSOR_LENGTH,
    }),
});

const EXAMPLE = {
  provider: "sendgrid",
  provider_message_id: "LRzXl66cTQ6PN6-DpxwDOw.filterdrecv-5645d9c87f-6r9lz-1-62E6B2E5-45.0",
  status: "delivered",
  provider_status: "delivered",
  occurred_at: "2026-11-28T14:03:11.000Z",
  received_at: "2026-11-28T14:03:12.004Z",
  expires_at: "2026-12-05T14:03:12.004Z",
};

export const unmatchedRoute = protectedRoute(
  canReadTenant,
  { reads: true, tag: WEBHOOK_TAG },
  {
    method: "get",
    path: `${PROVIDERS_PATH}/unmatched`,
    operationId: "listUnmatchedProviderEvents",
    summary: "List provider events that matched nothing",
    description:
      "Status events a provider sent for a message id no communication of the tenant has (yet), newest first. Each is applied if a communication with that id is created before `expires_at`. Tenant staff only (view:tenant or manage:operations:tenant).",
    request: { query: UnmatchedQuery },
    responses: {
      200: json(UnmatchedList, "A page of kept events.", {
        page: success("unmatched_ok", { events: [EXAMPLE], limit: 10, next_cursor: null }),
      }),
    },
  },
);

export const unmatchedRouter = new OpenAPIHono<AuthedEnv>({ defaultHook: validationHook }).openapi(
  unmatchedRoute,
  async (c) => {
    const q = c.req.valid("query");
    const tenantId = resolveTenant(c.var.principal, q.tenant_id);
    const limit = q.limit ?? 10;
    const after = q.cursor === undefined ? undefined : decodeUnmatchedCursor(q.cursor);
    const rows = await listUnmatched(await tenantDb(c, tenantId, "read"), tenantId, limit, after);
    const page = rows.slice(0, limit);
    const last = rows.length > limit ? page.at(-1) : undefined;
    const events = page.map((r) => ({
      provider: r.provider === ANY_PROVIDER ? null : r.provider,
      provider_message_id: r.provider_message_id ?? r.kept_id,
      status: (Status.safeParse(r.status).data ?? null) as z.infer<typeof Status> | null,
      provider_status: r.provider_status ?? "",
      occurred_at: r.occurred_at ?? r.received_at,
      received_at: r.received_at,
      expires_at: new Date(Date.parse(r.received_at) + PENDING_TTL_MS).toISOString(),
    }));
    return c.json(
      {
        success: true as const,
        message: translate(c.var.lang, "unmatched_ok"),
        events,
        limit,
        next_cursor: last
          ? encodeUnmatchedCursor([last.received_at, last.provider, last.kept_id, last.event_key])
          : null,
      },
      200,
    );
  },
);
