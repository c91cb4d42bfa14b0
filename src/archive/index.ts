/**
 * GET /delivery/customer-communications/archive/{YYYY-MM-DD}: a tenant's
 * archived day (src/archive/retention.ts) as NDJSON, for the tenant's staff
 * (view:tenant, manage:operations:tenant, system administrators naming the
 * tenant). Customers get 403: an archive holds every customer's messages.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { canReadTenant } from "../auth/principal";
import { resolveTenant } from "../communications/access";
import { BASE_PATH } from "../communications/routes";
import {
  CommonQuery,
  Communication,
  CommunicationEvent,
  EXAMPLE_COMMUNICATION,
  EXAMPLE_EVENT,
  MAX_EVENTS,
} from "../communications/schemas";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { validationHook } from "../lib/validation";
import { error, failure, headerRef, streamed } from "../openapi/responses";
import { protectedRoute } from "../openapi/route";
import { archiveKey } from "./retention";

const DateParams = z.object({
  date: z
    .string()
    .max(10)
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .refine(
      (d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
    )
    // format: date states the calendar check of the refine above (2026-02-30 is refused).
    .openapi({ param: { name: "date", in: "path" }, description: "A UTC day.", example: "2026-05-31", format: "date" }),
});

/**
 * An archived day is built as one string by one Worker invocation
 * (src/archive/retention.ts), within its 128 MB of memory: it cannot be
 * longer than this many characters.
 */
const MAX_ARCHIVE_CHARS = 128 * 1024 * 1024;

/** One line of an archive: the communication as the API returns it, with its events. */
export const ArchivedCommunication = z
  .object({ ...Communication.shape, events: z.array(CommunicationEvent).max(MAX_EVENTS) })
  .openapi("ArchivedCommunication");

export const archiveRoute = protectedRoute(
  canReadTenant,
  { reads: false },
  {
    method: "get",
    path: `${BASE_PATH}/archive/{date}`,
    operationId: "getArchivedDay",
    summary: "Download an archived day",
    description:
      'Communications of the tenant created on that UTC day and archived to R2 by the retention job (RETENTION_DAYS), as NDJSON: one `ArchivedCommunication` (a communication with its `events`) per line, oldest first. Read the body as text (openapi-fetch: `parseAs: "text"` or `"stream"`). Tenant staff only.',
    request: { params: DateParams, query: CommonQuery },
    responses: {
      200: streamed({
        mediaType: "application/x-ndjson",
        description: "The archived day, NDJSON.",
        item: { name: "ArchivedCommunication", schema: ArchivedCommunication },
        maxLength: MAX_ARCHIVE_CHARS,
        example: {
          summary: "Two lines: communications with their events",
          value: [
            { ...EXAMPLE_COMMUNICATION, status: "delivered", events: [EXAMPLE_EVENT] },
            {
              ...EXAMPLE_COMMUNICATION,
              id: "0195f3c4-0b1c-7d2e-8f30-4a5b6c7d8e9f",
              provider_message_id: null,
              provider: null,
              events: [],
            },
          ]
            .map((line) => `${JSON.stringify(line)}\n`)
            .join(""),
        },
        // R2, not D1: no x-d1-bookmark.
        headers: {
          "X-Request-Id": headerRef("X-Request-Id"),
          "Server-Timing": headerRef("Server-Timing"),
          "Cache-Control": headerRef("Cache-Control"),
          "Access-Control-Allow-Origin": headerRef("Access-Control-Allow-Origin"),
          "RateLimit-Policy": headerRef("RateLimit-Policy"),
          "X-RateLimit-Limit": headerRef("X-RateLimit-Limit"),
        },
      }),
      404: error("Nothing of that tenant was archived for that day.", {
        none: failure("No archive for the day", "archive_not_found"),
      }),
    },
  },
);

export const archiveRouter = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(
  archiveRoute,
  async (c) => {
    const tenantId = resolveTenant(c.var.principal, c.req.valid("query").tenant_id);
    const object = await c.env.ARCHIVE.get(archiveKey(tenantId, c.req.valid("param").date));
    if (!object) throw new ApiError(404, "archive_not_found");
    // An erasure may leave a day with no line (src/archive/rewrite.ts): nothing to serve. Its body
    // (one newline) is read to the end: an R2 body left unread is cancelled with an error.
    if (object.customMetadata?.communications === "0") {
      await object.text();
      throw new ApiError(404, "archive_not_found");
    }
    return c.body(object.body, 200, { "content-type": "application/x-ndjson; charset=utf-8" }) as never;
  },
);
