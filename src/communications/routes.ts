/** OpenAPI route definitions: the single description of each operation. */
import { createRoute, type z } from "@hono/zod-openapi";
import { type MessageKey, type MessageParams, translate } from "../i18n/messages";
import { requireAuth } from "../middleware/auth";
import { allow, mayManage, mayRead } from "./access";
import {
  CommonQuery,
  CreateBody,
  ErrorResponse,
  EventsResponse,
  EXAMPLE_COMMUNICATION,
  IdempotencyHeaders,
  IdParams,
  ItemResponse,
  ListQuery,
  ListResponse,
  StatusUpdateBody,
} from "./schemas";

export const BASE_PATH = "/delivery/customer-communications";

/** Response headers, declared once as components in src/app.ts. */
const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });
/** Headers on every response (set by src/middleware/context.ts). */
const everyResponse = {
  "X-Request-Id": headerRef("X-Request-Id"),
  "Server-Timing": headerRef("Server-Timing"),
  "x-d1-bookmark": headerRef("x-d1-bookmark"),
};

interface NamedExample {
  summary: string;
  value: unknown;
}

const json = <T extends z.ZodType>(
  schema: T,
  description: string,
  examples: Record<string, NamedExample>,
  headers: Record<string, { $ref: string }> = {},
) => ({
  description,
  headers: { ...everyResponse, ...headers },
  content: { "application/json": { schema, examples } },
});

/** An error example with the real English message from the catalogue. */
const failure = (
  summary: string,
  key: MessageKey,
  errors?: { field: string; key: MessageKey; params?: MessageParams }[],
): NamedExample => ({
  summary,
  value: {
    success: false,
    message: translate("en", key),
    ...(errors && {
      errors: errors.map((e) => ({ field: e.field, message: translate("en", e.key, { field: e.field, ...e.params }) })),
    }),
  },
});

const error = (description: string, examples: Record<string, NamedExample>, headers = {}) =>
  json(ErrorResponse, description, examples, headers);

const success = (key: MessageKey, fields: Record<string, unknown>): NamedExample => ({
  summary: translate("en", key),
  value: { success: true, message: translate("en", key), ...fields },
});

/**
 * Headers read by middleware (src/middleware/context.ts), not by handlers:
 * declared as component parameters (src/app.ts) rather than header schemas,
 * which would make every hc<App> call pass `header`.
 */
const parameters = [{ $ref: "#/components/parameters/AcceptLanguage" }];
const readParameters = [...parameters, { $ref: "#/components/parameters/D1Bookmark" }];

/** Errors any authenticated route can answer. */
const commonErrors = {
  400: error("Invalid query, path, header or body; `errors` names each field.", {
    validation: failure("A parameter out of range", "validation_failed", [
      { field: "limit", key: "field_too_big", params: { max: "100" } },
    ]),
    tenant: failure("A system administrator without tenant_id", "validation_failed", [
      { field: "tenant_id", key: "field_tenant_required" },
    ]),
  }),
  401: error(
    "Missing, invalid or expired bearer token (with `WWW-Authenticate: Bearer`).",
    {
      missing: failure("No Authorization header", "unauthorized"),
      invalid: failure("Bad signature, expired, wrong issuer or audience", "token_invalid"),
    },
    { "WWW-Authenticate": headerRef("WWW-Authenticate") },
  ),
  403: error("Not allowed: permission, tenant or customer mismatch.", {
    permission: failure("The caller lacks the permission", "forbidden"),
    tenant: failure("tenant_id differs from the token's tenant", "tenant_mismatch"),
    customer: failure("A customer asked for another customer_id", "customer_mismatch"),
    no_tenant: failure("A token without tenant_id (and not a system administrator)", "no_tenant"),
  }),
  429: error(
    "Rate limited per tenant or per user (with `Retry-After`).",
    { rate_limited: failure("Too many requests", "rate_limited") },
    { "Retry-After": headerRef("Retry-After") },
  ),
  500: error("Unexpected error; never contains internals.", {
    internal: failure("Anything unexpected", "internal_error"),
    not_configured: failure("Neither JWT_SECRET nor JWKS_URL is configured", "auth_not_configured"),
  }),
  503: error(
    "Database or signing keys temporarily unavailable (with `Retry-After`).",
    {
      database: failure("D1 unavailable", "db_unavailable"),
      keys: failure("The JWKS endpoint failed and no key is cached", "auth_keys_unavailable"),
    },
    { "Retry-After": headerRef("Retry-After") },
  ),
} as const;

const notFoundError = error("Not found, or not visible to the caller (never confirms that it exists).", {
  not_found: failure("Unknown id, or another tenant's or customer's", "not_found"),
});
const bodyErrors = {
  413: error("Body larger than the limit (256 KiB).", { too_large: failure("Body too large", "body_too_large") }),
  415: error("Body is not application/json.", {
    media_type: failure("Content-Type is not application/json", "unsupported_media_type"),
  }),
} as const;
const invalidJson = failure("The body is not JSON", "invalid_json");

const security = [{ bearerAuth: [] }];
const tags = ["Customer Communications"];

export const listRoute = createRoute({
  method: "get",
  path: BASE_PATH,
  operationId: "listCustomerCommunications",
  summary: "List Customer Communications",
  description:
    "Communications of a tenant, newest first, with filters and pagination. Customers only see their own; staff with view:tenant or manage:operations:tenant, and system administrators, see all of the tenant's.",
  tags,
  security,
  parameters: readParameters,
  middleware: [requireAuth, allow(mayRead)] as const,
  request: { query: ListQuery },
  responses: {
    200: json(ListResponse, "A page of communications.", {
      page: success("list_ok", {
        communications: [EXAMPLE_COMMUNICATION],
        total: 25,
        page: 1,
        limit: 10,
        total_pages: 3,
        next_cursor: "ZDowMTk1ZjNjMi02ZDFlLTdiNGEtOWMzZS0xYTJiM2M0ZDVlNmY",
      }),
    }),
    ...commonErrors,
  },
});

export const createCommunicationRoute = createRoute({
  method: "post",
  path: BASE_PATH,
  operationId: "createCustomerCommunication",
  summary: "Create Customer Communication",
  description:
    "Logs an outbound or inbound communication. Requires manage:operations:tenant or system administrator. Safe to retry with an Idempotency-Key.",
  tags,
  security,
  parameters,
  middleware: [requireAuth, allow(mayManage)] as const,
  request: {
    query: CommonQuery,
    headers: IdempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: CreateBody } } },
  },
  responses: {
    201: json(
      ItemResponse,
      "Created; or, for a repeated Idempotency-Key with the same body, the original (`Idempotent-Replayed: true`).",
      { created: success("create_ok", { communication: EXAMPLE_COMMUNICATION }) },
      { "Idempotent-Replayed": headerRef("Idempotent-Replayed") },
    ),
    ...commonErrors,
    400: error("Invalid query, header or body (or body not JSON); `errors` names each field.", {
      ...commonErrors[400].content["application/json"].examples,
      body: failure("A body field is wrong", "validation_failed", [
        { field: "type", key: "field_invalid_value", params: { values: "sms, email, push_notification, call" } },
        { field: "id", key: "field_unknown" },
      ]),
      invalid_json: invalidJson,
    }),
    409: error("The Idempotency-Key was used with a different body.", {
      conflict: failure("Same key, different body", "idempotency_conflict"),
    }),
    ...bodyErrors,
  },
});

export const getRoute = createRoute({
  method: "get",
  path: `${BASE_PATH}/{id}`,
  operationId: "getCustomerCommunication",
  summary: "Get Customer Communication",
  description: "One communication by id, with the same access rules as the list. Unknown or not visible: 404.",
  tags,
  security,
  parameters: readParameters,
  middleware: [requireAuth, allow(mayRead)] as const,
  request: { params: IdParams, query: CommonQuery },
  responses: {
    200: json(ItemResponse, "The communication.", {
      found: success("get_ok", { communication: EXAMPLE_COMMUNICATION }),
    }),
    ...commonErrors,
    404: notFoundError,
  },
});

export const updateStatusRoute = createRoute({
  method: "patch",
  path: `${BASE_PATH}/{id}`,
  operationId: "updateCustomerCommunicationStatus",
  summary: "Update Customer Communication Status",
  description:
    "A provider status event. Status only moves forward (sent → delivered → read; sent or delivered → failed) and never back to an older event's state: a late or repeated event changes nothing and answers 200 with the current state. Requires manage:operations:tenant.",
  tags,
  security,
  parameters,
  middleware: [requireAuth, allow(mayManage)] as const,
  request: {
    params: IdParams,
    query: CommonQuery,
    body: { required: true, content: { "application/json": { schema: StatusUpdateBody } } },
  },
  responses: {
    200: json(ItemResponse, "The current state (changed or not).", {
      updated: success("status_updated", {
        communication: { ...EXAMPLE_COMMUNICATION, status: "delivered", updated_at: "2026-11-28T14:03:12.004Z" },
      }),
      unchanged: success("status_unchanged", {
        communication: { ...EXAMPLE_COMMUNICATION, status: "read", updated_at: "2026-11-28T14:05:40.310Z" },
      }),
    }),
    ...commonErrors,
    400: error("Invalid query or body (or body not JSON); `errors` names each field.", {
      ...commonErrors[400].content["application/json"].examples,
      future: failure("An event time in the future", "validation_failed", [
        { field: "occurred_at", key: "field_in_future" },
      ]),
      invalid_json: invalidJson,
    }),
    404: notFoundError,
    ...bodyErrors,
  },
});

export const eventsRoute = createRoute({
  method: "get",
  path: `${BASE_PATH}/{id}/events`,
  operationId: "listCustomerCommunicationEvents",
  summary: "List Customer Communication Events",
  description: "The applied status changes of one communication, oldest first.",
  tags,
  security,
  parameters: readParameters,
  middleware: [requireAuth, allow(mayRead)] as const,
  request: { params: IdParams, query: CommonQuery },
  responses: {
    200: json(EventsResponse, "The events.", {
      events: success("events_ok", {
        events: [
          {
            id: "0195f3c3-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
            communication_id: EXAMPLE_COMMUNICATION.id,
            from_status: "sent",
            status: "delivered",
            occurred_at: "2026-11-28T14:03:11.000Z",
            recorded_at: "2026-11-28T14:03:12.004Z",
            details: { provider: "twilio" },
          },
        ],
      }),
    }),
    ...commonErrors,
    404: notFoundError,
  },
});
