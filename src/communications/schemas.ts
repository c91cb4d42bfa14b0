/**
 * Every request and response shape of the communications routes, declared
 * once: these Zod schemas validate requests (through @hono/zod-openapi,
 * which builds on @hono/zod-validator), type the handlers, and generate the
 * OpenAPI document served at /openapi.json.
 */
import { z } from "@hono/zod-openapi";
import { COMMUNICATION_TYPES, DIRECTIONS, STATUSES } from "../db/schema";
import { LANGUAGES } from "../i18n/messages";
import { MAX_FIELD_ERRORS, MAX_FIELD_LENGTH, MAX_MESSAGE_LENGTH } from "../lib/errors";
import { lowerCaseUuid, NIL_UUID } from "../lib/uuid";
import { MAX_ADDRESS_LENGTH } from "../search/address";
import { MAX_QUERY_LENGTH, MIN_PREFIX } from "../search/query";

const EXAMPLE_ID = "0195f3c2-6d1e-7b4a-9c3e-1a2b3c4d5e6f";
const EXAMPLE_TENANT = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b";
const EXAMPLE_CUSTOMER = "3b2a1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d";
const EXAMPLE_DELIVERY = "8e7d6c5b-4a39-4281-9f0e-d1c2b3a4f5e6";
/** The seed's example body, with real ids: the create example and the returned example share it. */
export const EXAMPLE_CREATE = {
  customer_id: EXAMPLE_CUSTOMER,
  delivery_id: EXAMPLE_DELIVERY,
  type: "sms",
  direction: "outbound",
  status: "sent",
  content: "Your delivery #1234 is on its way and will arrive between 2-4pm today.",
  communication_details: {
    sender: { user_id: EXAMPLE_ID, system_component: "delivery_notifications", phone: "+15551234567" },
    recipient: { phone: "+19876543210", name: "John Doe" },
    template_id: "delivery-on-way",
    template_variables: { delivery_id: "1234", delivery_window: "2-4pm" },
  },
  provider: "twilio",
  provider_message_id: "SM0123456789abcdef0123456789abcdef",
} as const;

/** An email sent through SendGrid, logged with the send's X-Message-Id (a realistic one). */
export const EXAMPLE_SENDGRID_CREATE = {
  customer_id: EXAMPLE_CUSTOMER,
  delivery_id: EXAMPLE_DELIVERY,
  type: "email",
  content: "Your delivery #1234 has been delivered.",
  communication_details: { recipient: { email: "john.doe@example.com", name: "John Doe" } },
  provider: "sendgrid",
  provider_message_id: "LRzXl66cTQ6PN6-DpxwDOw",
} as const;

/** Parameters that are present but empty (`customer_id=`) mean "not given". */
export const optionalParam = <T extends z.ZodType>(schema: T) =>
  // Typed as the optional inner schema (z.preprocess alone would type the input
  // `unknown`), so hc<App> clients get the real parameter types.
  z.preprocess((v) => (v === "" ? undefined : v), schema.optional()) as unknown as z.ZodOptional<T>;

/**
 * An optional query parameter. The document keeps the inner schema (type,
 * enum, format, bounds) and says that an empty value is accepted and means
 * "not given", as in the seed's own example URLs.
 * @see https://spec.openapis.org/oas/v3.1.0#fixed-fields-9 (allowEmptyValue)
 */
export const optionalQuery = <T extends z.ZodType>(schema: T) =>
  optionalParam(schema).openapi({ param: { allowEmptyValue: true } });

/** A UUID, kept in lower case (src/lib/uuid.ts says why). The format fixes the length; stated for clients and linters. */
export const uuid = () => z.uuid().overwrite(lowerCaseUuid).openapi({ maxLength: UUID_LENGTH });
const UUID_LENGTH = 36;
/** Longest date-time accepted: 2026-11-28T14:02:55.123456789+05:30 is 35 characters. */
const MAX_DATE_TIME = 40;
export const isoDateTime = () => z.iso.datetime({ offset: true }).max(MAX_DATE_TIME);
/**
 * A whole number written in decimal digits. `z.coerce.number()` would also
 * take "0x10", "1e1" or " 5 " (JavaScript's Number()); a page size is digits.
 */
export const decimalInt = (min: number, max: number) =>
  z
    .preprocess(
      (v) => (typeof v === "string" && /^\d{1,10}$/.test(v) ? Number(v) : v),
      z.number().int().min(min).max(max),
    )
    .openapi({ type: "integer", format: "int32", minimum: min, maximum: max });

/** A provider name as stored on communications (not only the three webhook providers). */
export const ProviderName = z
  .string()
  .max(32)
  .regex(/^[a-z0-9_-]{1,32}$/)
  .openapi({ description: "Lower-case provider name, `[a-z0-9_-]{1,32}`.", example: "twilio" });
export const ProviderMessageId = z.string().min(1).max(255).openapi({ example: "SM0123456789abcdef0123456789abcdef" });

export const CommunicationType = z.enum(COMMUNICATION_TYPES).openapi("CommunicationType");
export const Direction = z.enum(DIRECTIONS).openapi("Direction");
export const Status = z.enum(STATUSES).openapi("Status");

/** A tenant id as routes accept it (also how the rate limiter keys a system administrator's tenant). */
export const TenantId = uuid();

const tenantIdParam = optionalQuery(TenantId).openapi({
  param: { name: "tenant_id", in: "query" },
  description: "Tenant ID. Optional if in the token; required for system administrators.",
  example: EXAMPLE_TENANT,
});
/** Longest language tag a client needs to send (RFC 5646 4.4.1: 35 characters covers every registered tag). */
const MAX_LANGUAGE_TAG = 35;
/**
 * `language`: any string (contract.md, Languages: any other value falls back
 * to en, never a 400), documented as an open enum, the four languages or
 * any string, so that generated clients accept "de" and still list the four
 * (issue 23). When repeated, the first one counts, as in the middleware that
 * picks the language.
 */
export const LanguageCode = z
  .union([
    z.enum(LANGUAGES).openapi({ description: "A supported language." }),
    z.string().openapi({ maxLength: MAX_LANGUAGE_TAG, description: "Any other value: English." }),
  ])
  .openapi({
    description: `Language of response messages: ${LANGUAGES.join(", ")} (English, Arabic, Kurdish Sorani, Farsi), case-insensitive. Any other value (de, ar-SA...) is accepted and answers in English; Accept-Language is then not consulted.`,
    default: "en",
    example: "ar",
  });
const languageParam = optionalQuery(z.preprocess((v) => (Array.isArray(v) ? v[0] : v), LanguageCode)).openapi({
  param: { name: "language", in: "query" },
  description: `Language of response messages: ${LANGUAGES.join(", ")} (English, Arabic, Kurdish Sorani, Farsi), case-insensitive. Any other value (de, ar-SA...) is accepted and answers in English, never a 400. Without it, Accept-Language is honoured.`,
});

/** Query of every route: tenant and language. */
export const CommonQuery = z.object({ tenant_id: tenantIdParam, language: languageParam });
/** Operations that are not about one tenant's data (the admin routes): the language only. */
export const LanguageQuery = z.object({ language: languageParam });

export const MAX_PAGE = 1000;
/**
 * How deep results go: an offset page may reach this many rows (page x limit,
 * as search engines' result windows), and `total` counts up to this many
 * (beyond, it is this figure with `total_relation: "gte"`). Past it, `cursor`.
 */
export const MAX_RESULT_WINDOW = 10_000;
export const MAX_LIMIT = 100;
const MAX_CURSOR_LENGTH = 200;
const MAX_CONTENT_LENGTH = 100_000;
/** Events returned for one communication at most (src/communications/queries.ts). */
export const MAX_EVENTS = 1000;

export const ListQuery = CommonQuery.extend({
  page: optionalQuery(decimalInt(1, MAX_PAGE)).openapi({
    param: { name: "page", in: "query" },
    description: `Page number (1-${MAX_PAGE}). Use \`cursor\` for deeper walks.`,
    default: 1,
    example: 1,
  }),
  limit: optionalQuery(decimalInt(1, MAX_LIMIT)).openapi({
    param: { name: "limit", in: "query" },
    description: "Items per page (1-100, default 10).",
    default: 10,
    example: 10,
  }),
  cursor: optionalQuery(z.string().max(MAX_CURSOR_LENGTH)).openapi({
    param: { name: "cursor", in: "query" },
    description:
      "Opaque `next_cursor` of a previous page. Stable under concurrent inserts; cannot be combined with `page`.",
  }),
  customer_id: optionalQuery(uuid()).openapi({
    param: { name: "customer_id", in: "query" },
    description: "Filter by customer. Customers may only pass their own (or omit it).",
    example: EXAMPLE_CUSTOMER,
  }),
  delivery_id: optionalQuery(uuid()).openapi({
    param: { name: "delivery_id", in: "query" },
    description: "Filter by delivery.",
    example: EXAMPLE_DELIVERY,
  }),
  type: optionalQuery(CommunicationType).openapi({
    param: { name: "type", in: "query" },
    description: "Filter by type.",
  }),
  status: optionalQuery(Status).openapi({ param: { name: "status", in: "query" }, description: "Filter by status." }),
  direction: optionalQuery(Direction).openapi({
    param: { name: "direction", in: "query" },
    description: "Filter by direction.",
  }),
  created_after: optionalQuery(isoDateTime()).openapi({
    param: { name: "created_after", in: "query" },
    description: "Only communications created at or after this ISO 8601 time.",
    example: "2026-01-01T00:00:00Z",
  }),
  created_before: optionalQuery(isoDateTime()).openapi({
    param: { name: "created_before", in: "query" },
    description: "Only communications created before this ISO 8601 time.",
  }),
  provider: optionalQuery(ProviderName).openapi({
    param: { name: "provider", in: "query" },
    description: "Filter by provider (lower-case name).",
    example: "twilio",
  }),
  provider_message_id: optionalQuery(ProviderMessageId).openapi({
    param: { name: "provider_message_id", in: "query" },
    description: "Filter by the provider's message id (with or without `provider`).",
  }),
  address: optionalQuery(z.string().max(MAX_ADDRESS_LENGTH)).openapi({
    param: { name: "address", in: "query" },
    description:
      "A phone number or email address that sent or received the communication (`communication_details.sender` / `.recipient`, `phone` or `email`). Phones compare in E.164: spaces, dashes, dots and parentheses are ignored, and a number without `+` is a 400; emails compare trimmed and case-insensitively (A-Z).",
    example: "+964 750 123 4567",
  }),
  q: optionalQuery(z.string().max(MAX_QUERY_LENGTH)).openapi({
    param: { name: "q", in: "query" },
    description: `Words in \`content\`, full text: every word must occur (\`closure erbil\`), a trailing \`*\` matches a prefix of at least ${MIN_PREFIX} characters (\`deliv*\`), \`"..."\` matches a phrase. Latin, Arabic and Persian script (Arabic and Persian letter forms, harakat, tatweel and ZWNJ are folded). No operators: AND, OR, NOT and NEAR are words. A query without a word, an unclosed quote or a misplaced \`*\` is a 400.`,
    example: "deliv* erbil",
  }),
  sort_order: optionalQuery(z.enum(["desc", "asc"])).openapi({
    param: { name: "sort_order", in: "query" },
    description: "`desc` (newest first, default) or `asc`.",
    default: "desc",
  }),
});
export type ListQuery = z.infer<typeof ListQuery>;

export const EXPORT_FORMATS = ["ndjson", "csv"] as const;
/** The export takes the list's filters and order, not its pages (search.md, Export). */
export const ExportQuery = ListQuery.omit({ page: true, limit: true, cursor: true }).extend({
  format: optionalQuery(z.enum(EXPORT_FORMATS)).openapi({
    param: { name: "format", in: "query" },
    description:
      "`ndjson` (default): one communication per line, as the API returns it. `csv`: RFC 4180, a header row.",
    default: "ndjson",
  }),
});
export type ExportQuery = z.infer<typeof ExportQuery>;

export const IdParams = z.object({
  // overwrite() (in uuid()) keeps the type a string and the document's format.
  id: uuid().openapi({ param: { name: "id", in: "path" }, example: EXAMPLE_ID }),
});

const shortText = (max: number) => z.string().max(max);

const Attachment = z
  .looseObject({
    name: shortText(255).optional(),
    type: shortText(255).optional(),
    url: z.url({ protocol: /^https?$/ }).max(2048),
    size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).openapi({ format: "int64" }).optional(),
  })
  .openapi("Attachment");

/**
 * Deepest nesting accepted in free-form JSON (communication_details, event
 * details). The tables' json_valid() CHECKs fail beyond SQLite's 1000
 * levels, which would be a 500; provider payloads need a handful.
 */
export const MAX_JSON_DEPTH = 32;

/** Whether a JSON value nests at most MAX_JSON_DEPTH levels; iterative, as the caller picks the depth. */
export function withinJsonDepth(value: unknown): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [node, depth] = top;
    if (node === null || typeof node !== "object") continue;
    if (depth > MAX_JSON_DEPTH) return false;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return true;
}

/** Provider keys beyond the documented ones are kept as given (contract.md). */
export const CommunicationDetails = z
  .looseObject({
    sender: z
      .looseObject({
        user_id: shortText(255).optional(),
        system_component: shortText(255).optional(),
        phone: shortText(64).optional(),
        email: shortText(320).optional(),
      })
      .optional(),
    recipient: z
      .looseObject({
        phone: shortText(64).optional(),
        email: shortText(320).optional(),
        name: shortText(255).optional(),
      })
      .optional(),
    template_id: shortText(255).optional(),
    template_variables: z.record(z.string(), z.unknown()).optional(),
    attachments: z.array(Attachment).max(50).optional(),
  })
  .refine(withinJsonDepth, { message: `nested deeper than ${MAX_JSON_DEPTH} levels` })
  .openapi("CommunicationDetails", {
    example: {
      sender: { user_id: EXAMPLE_ID, system_component: "delivery_notifications", phone: "+15551234567" },
      recipient: { phone: "+19876543210", name: "John Doe" },
      template_id: "delivery-on-way",
      template_variables: { delivery_id: "1234", delivery_window: "2-4pm" },
      attachments: [
        {
          name: "delivery_details.pdf",
          type: "application/pdf",
          url: "https://example.com/attachments/delivery_details.pdf",
          size: 245678,
        },
      ],
    },
  });

/** A customer's id: a UUID, never the nil UUID (reserved for inbound messages from unknown senders). */
export const CustomerId = uuid()
  .refine((v) => v !== NIL_UUID, { params: { key: "field_customer_reserved" } })
  .openapi({
    description:
      "The customer's id. Not the nil UUID 00000000-0000-0000-0000-000000000000, which marks inbound messages from unknown senders.",
  });

/** Body of POST. Unknown top-level keys (including server-owned ones) are rejected. */
export const CreateBody = z
  .strictObject({
    customer_id: CustomerId,
    delivery_id: uuid().nullish(),
    type: CommunicationType,
    direction: Direction.default("outbound"),
    status: Status.default("sent"),
    content: z.string().max(MAX_CONTENT_LENGTH).nullish(),
    communication_details: CommunicationDetails.default({}),
    provider: ProviderName.nullish(),
    provider_message_id: ProviderMessageId.nullish().openapi({
      description:
        "The provider's id of this message; requires `provider`. Twilio: the MessageSid or CallSid (`SM0123456789abcdef0123456789abcdef`). SendGrid: the send's `X-Message-Id` (`LRzXl66cTQ6PN6-DpxwDOw`) or an event's full `sg_message_id` (`LRzXl66cTQ6PN6-DpxwDOw.filterdrecv-5645d9c87f-6r9lz-1-62E6B2E5-45.0`, one per recipient); events match either way. Unique per tenant and provider: a second create with the same pair is a 409.",
    }),
  })
  .openapi("CreateCommunication", {
    example: EXAMPLE_CREATE,
    // The handler's cross-field rule, stated for validators: a
    // provider_message_id that is not null needs a provider that is not null.
    dependentSchemas: {
      provider_message_id: {
        anyOf: [
          { properties: { provider_message_id: { type: "null" } } },
          { properties: { provider: { type: "string", maxLength: 32 } }, required: ["provider"] },
        ],
      },
    },
  } as Record<string, unknown>);
export type CreateBody = z.infer<typeof CreateBody>;

/** Body of PATCH: a provider's status event. */
export const StatusUpdateBody = z
  .strictObject({
    status: Status,
    occurred_at: isoDateTime().openapi({ description: "When the provider says the event happened (ISO 8601)." }),
    details: z
      .record(z.string(), z.unknown())
      .refine(withinJsonDepth, { message: `nested deeper than ${MAX_JSON_DEPTH} levels` })
      .optional()
      .openapi({ description: "Provider payload to keep with the event (provider name, event id, error code...)." }),
  })
  .openapi("StatusUpdate", {
    example: { status: "delivered", occurred_at: "2026-11-28T14:03:11Z", details: { provider: "twilio" } },
  });
export type StatusUpdateBody = z.infer<typeof StatusUpdateBody>;

export const IdempotencyHeaders = z.object({
  "idempotency-key": optionalParam(
    z
      .string()
      .min(1)
      .max(255)
      .regex(/^[\x21-\x7e]+$/),
  ).openapi({
    param: { name: "idempotency-key", in: "header" },
    description:
      "Makes the create safe to retry for 24 hours: the same key with the same body returns the original response and creates nothing; with another body it is a 409.",
    example: "3f1a9c7e-webhook-81723",
  }),
});

export const timestamp = z
  .string()
  .max(MAX_DATE_TIME)
  .openapi({ format: "date-time", example: "2026-11-28T14:02:55.120Z" });
/** Ids in responses: UUIDs as stored (lower case). */
export const id = (example?: string) => z.string().max(UUID_LENGTH).openapi({ format: "uuid", example });
/** Largest value of a count in a response (int32, as D1 returns it). */
const MAX_INT32 = 2_147_483_647;
export const count = () => z.number().int().min(0).max(MAX_INT32).openapi({ format: "int32" });
const localised = () => z.string().max(MAX_MESSAGE_LENGTH);

export const Communication = z
  .object({
    id: id(EXAMPLE_ID),
    tenant_id: id(EXAMPLE_TENANT),
    customer_id: id(EXAMPLE_CUSTOMER),
    delivery_id: id(EXAMPLE_DELIVERY).nullable(),
    type: CommunicationType,
    direction: Direction,
    status: Status,
    content: z.string().max(MAX_CONTENT_LENGTH).nullable(),
    communication_details: z.record(z.string(), z.unknown()),
    provider: z.string().max(32).nullable().openapi({ example: "twilio" }),
    provider_message_id: z.string().max(255).nullable().openapi({ example: "SM0123456789abcdef0123456789abcdef" }),
    created_by: z.string().max(255),
    created_at: timestamp,
    updated_at: timestamp,
    redacted_at: timestamp.nullable().openapi({
      description:
        "When content and addresses were redacted (POST /{id}/redact, or the tenant's redact_after_days); null until then.",
    }),
  })
  .openapi("Communication");
export type Communication = z.infer<typeof Communication>;

/** A communication as the examples of the document show it. */
export const EXAMPLE_COMMUNICATION: Communication = {
  id: EXAMPLE_ID,
  tenant_id: EXAMPLE_TENANT,
  ...EXAMPLE_CREATE,
  created_by: "5d0c1f7e-2b3a-4c4d-8e9f-0a1b2c3d4e5f",
  created_at: "2026-11-28T14:02:55.120Z",
  updated_at: "2026-11-28T14:02:55.120Z",
  redacted_at: null,
};

export const CommunicationEvent = z
  .object({
    id: id(),
    communication_id: id(),
    from_status: Status,
    status: Status,
    occurred_at: timestamp,
    recorded_at: timestamp,
    details: z.record(z.string(), z.unknown()),
  })
  .openapi("CommunicationEvent");

/** An applied status change, for the events and archive examples. */
export const EXAMPLE_EVENT: z.infer<typeof CommunicationEvent> = {
  id: "0195f3c3-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
  communication_id: EXAMPLE_COMMUNICATION.id,
  from_status: "sent",
  status: "delivered",
  occurred_at: "2026-11-28T14:03:11.000Z",
  recorded_at: "2026-11-28T14:03:12.004Z",
  details: { provider: "twilio" },
};

export const successEnvelope = <T extends z.ZodRawShape>(name: string, shape: T) =>
  z
    .object({ success: z.literal(true), message: localised().openapi({ description: "Localised." }), ...shape })
    .openapi(name);

export const ListResponse = successEnvelope("CommunicationList", {
  communications: z.array(Communication).max(MAX_LIMIT),
  total: count().openapi({
    description: `Matching communications across all pages; counted up to ${MAX_RESULT_WINDOW.toLocaleString("en")} when the filters need a count (see total_relation).`,
  }),
  total_relation: z.enum(["eq", "gte"]).openapi({
    description: `\`eq\`: total is exact. \`gte\`: more than ${MAX_RESULT_WINDOW.toLocaleString("en")} match and total is that lower bound (counting further would read every match).`,
  }),
  page: count().nullable().openapi({ description: "The page served; null when `cursor` was used." }),
  limit: count(),
  total_pages: count(),
  next_cursor: z
    .string()
    .max(MAX_CURSOR_LENGTH)
    .nullable()
    .openapi({ description: "Pass as `cursor` for the next page; null on the last page." }),
});
export const ItemResponse = successEnvelope("CommunicationItem", { communication: Communication });
export const EventsResponse = successEnvelope("CommunicationEvents", {
  events: z.array(CommunicationEvent).max(MAX_EVENTS),
});

export const ErrorResponse = z
  .object({
    success: z.literal(false),
    message: localised().openapi({ description: "Localised.", example: "Unauthorized" }),
    errors: z
      .array(z.object({ field: z.string().max(MAX_FIELD_LENGTH), message: localised() }))
      .max(MAX_FIELD_ERRORS)
      .optional()
      .openapi({ description: "Present on validation errors: each offending field and what is wrong (localised)." }),
  })
  .openapi("Error");
