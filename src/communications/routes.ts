/** OpenAPI route definitions: the single description of each operation. */
import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth } from "../middleware/auth";
import { allow, mayManage, mayRead } from "./access";
import {
  CommonQuery,
  CreateBody,
  ErrorResponse,
  EventsResponse,
  IdempotencyHeaders,
  IdParams,
  ItemResponse,
  ListQuery,
  ListResponse,
  StatusUpdateBody,
} from "./schemas";

export const BASE_PATH = "/delivery/customer-communications";

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

const error = (description: string) => json(ErrorResponse, description);

const bookmarkHeader = z.object({
  "x-d1-bookmark": z
    .string()
    .optional()
    .openapi({
      param: { name: "x-d1-bookmark", in: "header" },
      description: "Bookmark from a previous response: this read sees at least that write, from any replica.",
    }),
});

/** Errors any authenticated route can answer. */
const commonErrors = {
  400: error("Invalid query, path, header or body; `errors` names each field."),
  401: error("Missing, invalid or expired bearer token (with `WWW-Authenticate: Bearer`)."),
  403: error("Not allowed: permission, tenant or customer mismatch."),
  429: error("Rate limited per tenant or per user (with `Retry-After`)."),
  500: error("Unexpected error; never contains internals."),
  503: error("Database or signing keys temporarily unavailable (with `Retry-After`)."),
} as const;

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
  middleware: [requireAuth, allow(mayRead)] as const,
  request: { query: ListQuery, headers: bookmarkHeader },
  responses: { 200: json(ListResponse, "A page of communications."), ...commonErrors },
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
    ),
    ...commonErrors,
    409: error("The Idempotency-Key was used with a different body."),
    413: error("Body larger than the limit."),
    415: error("Body is not application/json."),
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
  middleware: [requireAuth, allow(mayRead)] as const,
  request: { params: IdParams, query: CommonQuery, headers: bookmarkHeader },
  responses: { 200: json(ItemResponse, "The communication."), ...commonErrors, 404: error("Not found.") },
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
  middleware: [requireAuth, allow(mayManage)] as const,
  request: {
    params: IdParams,
    query: CommonQuery,
    body: { required: true, content: { "application/json": { schema: StatusUpdateBody } } },
  },
  responses: {
    200: json(ItemResponse, "The current state (changed or not)."),
    ...commonErrors,
    404: error("Not found."),
    413: error("Body larger than the limit."),
    415: error("Body is not application/json."),
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
  middleware: [requireAuth, allow(mayRead)] as const,
  request: { params: IdParams, query: CommonQuery, headers: bookmarkHeader },
  responses: { 200: json(EventsResponse, "The events."), ...commonErrors, 404: error("Not found.") },
});
