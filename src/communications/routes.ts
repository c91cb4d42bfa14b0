/**
 * OpenAPI route definitions: the single description of each operation. What
 * every protected route shares (security, auth middleware, common errors) is
 * added by `protectedRoute` (src/openapi/route.ts).
 */

import {
  bodyErrors,
  commonErrors,
  error,
  failure,
  headerRef,
  invalidJson,
  json,
  notFoundError,
  searchErrors,
  success,
} from "../openapi/responses";
import { protectedRoute } from "../openapi/route";
import { mayManage, mayRead } from "./access";
import {
  CommonQuery,
  CreateBody,
  EventsResponse,
  EXAMPLE_COMMUNICATION,
  EXAMPLE_CREATE,
  EXAMPLE_EVENT,
  EXAMPLE_SENDGRID_CREATE,
  IdempotencyHeaders,
  IdParams,
  ItemResponse,
  ListQuery,
  ListResponse,
  StatusUpdateBody,
} from "./schemas";

export const BASE_PATH = "/delivery/customer-communications";

export const listRoute = protectedRoute(
  mayRead,
  { reads: true },
  {
    method: "get",
    path: BASE_PATH,
    operationId: "listCustomerCommunications",
    summary: "List Customer Communications",
    description:
      "Communications of a tenant, newest first, with filters and pagination. Customers only see their own; staff with view:tenant or manage:operations:tenant, and system administrators, see all of the tenant's.",
    request: { query: ListQuery },
    responses: {
      ...searchErrors,
      200: json(ListResponse, "A page of communications.", {
        page: success("list_ok", {
          communications: [EXAMPLE_COMMUNICATION],
          total: 25,
          total_relation: "eq",
          page: 1,
          limit: 10,
          total_pages: 3,
          next_cursor: "ZDowMTk1ZjNjMi02ZDFlLTdiNGEtOWMzZS0xYTJiM2M0ZDVlNmY",
        }),
      }),
    },
  },
);

export const createCommunicationRoute = protectedRoute(
  mayManage,
  { reads: false },
  {
    method: "post",
    path: BASE_PATH,
    operationId: "createCustomerCommunication",
    summary: "Create Customer Communication",
    description:
      "Logs an outbound or inbound communication. Requires manage:operations:tenant or system administrator. Safe to retry with an Idempotency-Key.",
    request: {
      query: CommonQuery,
      headers: IdempotencyHeaders,
      body: {
        required: true,
        content: {
          "application/json": {
            schema: CreateBody,
            examples: {
              sms: { summary: "An SMS sent through Twilio", value: EXAMPLE_CREATE },
              email: {
                summary: "An email sent through SendGrid, with its X-Message-Id",
                value: EXAMPLE_SENDGRID_CREATE,
              },
            },
          },
        },
      },
    },
    responses: {
      201: json(
        ItemResponse,
        "Created; or, for a repeated Idempotency-Key with the same body, the original (`Idempotent-Replayed: true`).",
        { created: success("create_ok", { communication: EXAMPLE_COMMUNICATION }) },
        { "Idempotent-Replayed": headerRef("Idempotent-Replayed") },
      ),
      400: error("Invalid query, header or body (or body not JSON); `errors` names each field.", {
        ...commonErrors[400].content["application/json"].examples,
        body: failure("A body field is wrong", "validation_failed", [
          { field: "type", key: "field_invalid_value", params: { values: "sms, email, push_notification, call" } },
          { field: "id", key: "field_unknown" },
        ]),
        invalid_json: invalidJson,
      }),
      409: error("The Idempotency-Key was used with a different body, or the provider id is taken.", {
        conflict: failure("Same key, different body", "idempotency_conflict"),
        provider_message: failure(
          "A communication with this provider and provider_message_id exists",
          "provider_message_conflict",
        ),
      }),
      ...bodyErrors,
    },
  },
);

export const getRoute = protectedRoute(
  mayRead,
  { reads: true },
  {
    method: "get",
    path: `${BASE_PATH}/{id}`,
    operationId: "getCustomerCommunication",
    summary: "Get Customer Communication",
    description: "One communication by id, with the same access rules as the list. Unknown or not visible: 404.",
    request: { params: IdParams, query: CommonQuery },
    responses: {
      200: json(ItemResponse, "The communication.", {
        found: success("get_ok", { communication: EXAMPLE_COMMUNICATION }),
      }),
      404: notFoundError,
    },
  },
);

export const updateStatusRoute = protectedRoute(
  mayManage,
  { reads: false },
  {
    method: "patch",
    path: `${BASE_PATH}/{id}`,
    operationId: "updateCustomerCommunicationStatus",
    summary: "Update Customer Communication Status",
    description:
      "A provider status event. Status only moves forward (sent → delivered → read; sent or delivered → failed) and never back to an older event's state: a late or repeated event changes nothing and answers 200 with the current state. Requires manage:operations:tenant.",
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
  },
);

export const eventsRoute = protectedRoute(
  mayRead,
  { reads: true },
  {
    method: "get",
    path: `${BASE_PATH}/{id}/events`,
    operationId: "listCustomerCommunicationEvents",
    summary: "List Customer Communication Events",
    description: "The applied status changes of one communication, oldest first.",
    request: { params: IdParams, query: CommonQuery },
    responses: {
      200: json(EventsResponse, "The events.", {
        events: success("events_ok", {
          events: [EXAMPLE_EVENT],
        }),
      }),
      404: notFoundError,
    },
  },
);
