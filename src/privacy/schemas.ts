/**
 * Request and response shapes of the privacy routes (erasures, redaction,
 * settings), declared once for validation, types and the OpenAPI document.
 */
import { z } from "@hono/zod-openapi";
import {
  CommonQuery,
  count,
  EXAMPLE_COMMUNICATION,
  id,
  ListQuery,
  successEnvelope,
  timestamp,
  uuid,
} from "../communications/schemas";
import { ERASURE_STATUSES } from "../db/schema";
import { MAX_REDACT_DAYS, MIN_REDACT_DAYS } from "./settings";

/** At most this many addresses per erasure request. */
export const MAX_ADDRESSES = 20;
export const MAX_REFERENCE = 200;
const MAX_PAGE_ITEMS = 100;
const MAX_CURSOR = 200;

const EXAMPLE_ERASURE_ID = "0196a1b2-3c4d-7e5f-8a6b-7c8d9e0f1a2b";

export const ErasureBody = z
  .strictObject({
    customer_id: uuid().openapi({ description: "The customer whose communications are erased." }),
    addresses: z
      .array(z.string().min(1).max(320))
      .max(MAX_ADDRESSES)
      .optional()
      .openapi({
        description: `Phone numbers (E.164, with \`+\`; spaces, dashes, dots and parentheses are ignored) or email addresses (any case) whose communications are erased too, attributed to a customer or not. At most ${MAX_ADDRESSES}. Never stored beyond the erasure's run, never returned.`,
        example: ["+964 750 123 4567", "Customer@Example.com"],
      }),
    reference: z
      .string()
      .max(MAX_REFERENCE)
      .nullish()
      .openapi({ description: "The request's ticket number.", example: "DSR-2026-0142" }),
  })
  .openapi("ErasureRequest", {
    example: {
      customer_id: EXAMPLE_COMMUNICATION.customer_id,
      addresses: ["+9647501234567"],
      reference: "DSR-2026-0142",
    },
  });

export const Erasure = z
  .object({
    id: id(EXAMPLE_ERASURE_ID),
    customer_id: id(EXAMPLE_COMMUNICATION.customer_id),
    reference: z.string().max(MAX_REFERENCE).nullable(),
    status: z.enum(ERASURE_STATUSES).openapi({
      description: "`pending` (queued), `running`, `done` (nothing it covers is served any more), `failed`.",
    }),
    erased: z
      .object({
        communications: count(),
        events: count().openapi({ description: "Status events of the erased communications." }),
        archived_days: count().openapi({ description: "Archived days in R2 rewritten without them." }),
      })
      .openapi({ description: "What went so far (final once `done`)." }),
    requested_by: z.string().max(255).openapi({ description: "The requester's `sub`." }),
    created_at: timestamp,
    finished_at: timestamp.nullable(),
  })
  .openapi("Erasure");

export const EXAMPLE_ERASURE: z.infer<typeof Erasure> = {
  id: EXAMPLE_ERASURE_ID,
  customer_id: EXAMPLE_COMMUNICATION.customer_id,
  reference: "DSR-2026-0142",
  status: "done",
  erased: { communications: 128, events: 211, archived_days: 3 },
  requested_by: "5d0c1f7e-2b3a-4c4d-8e9f-0a1b2c3d4e5f",
  created_at: "2026-12-01T09:00:00.000Z",
  finished_at: "2026-12-01T09:00:41.512Z",
};

const nextCursor = z
  .string()
  .max(MAX_CURSOR)
  .nullable()
  .openapi({ description: "Pass as `cursor` for the next page; null on the last page." });

export const ErasureItem = successEnvelope("ErasureItem", { erasure: Erasure });
export const ErasureList = successEnvelope("ErasureList", {
  erasures: z.array(Erasure).max(MAX_PAGE_ITEMS),
  next_cursor: nextCursor,
});

export const ErasureParams = z.object({
  id: uuid().openapi({ param: { name: "id", in: "path" }, example: EXAMPLE_ERASURE_ID }),
});

/** The list's paging (limit, cursor) and one filter, as the communications list takes them. */
export const ErasureListQuery = ListQuery.pick({
  tenant_id: true,
  language: true,
  limit: true,
  cursor: true,
  customer_id: true,
});

export const RedactDays = z
  .number()
  .int()
  .min(MIN_REDACT_DAYS)
  .max(MAX_REDACT_DAYS)
  .nullable()
  .openapi({
    format: "int32",
    description: `Content older than this many days (${MIN_REDACT_DAYS}-${MAX_REDACT_DAYS}) is redacted by the hourly job; null keeps it.`,
    example: 90,
  });

export const SettingsBody = z.strictObject({ redact_after_days: RedactDays }).openapi("PrivacySettingsUpdate", {
  example: { redact_after_days: 90 },
});

export const Settings = z
  .object({
    redact_after_days: RedactDays,
    updated_at: timestamp.nullable().openapi({ description: "Last change; null while never set." }),
  })
  .openapi("PrivacySettings");

export const SettingsResponse = successEnvelope("PrivacySettingsItem", { settings: Settings });

export { CommonQuery };
