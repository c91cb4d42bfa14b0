/**
 * The privacy routes (privacy.md): erasures, redaction of one
 * communication, the tenant's settings. All for manage:operations:tenant or
 * a system administrator naming `tenant_id`; everyone else 403.
 */
import { mayManage } from "../communications/access";
import { BASE_PATH } from "../communications/routes";
import { CommonQuery, EXAMPLE_COMMUNICATION, IdParams, ItemResponse } from "../communications/schemas";
import {
  bodyErrors,
  commonErrors,
  error,
  failure,
  invalidJson,
  json,
  notFoundError,
  success,
} from "../openapi/responses";
import { PRIVACY_TAG, protectedRoute } from "../openapi/route";
import { redactCommunication } from "./redaction";
import {
  ErasureBody,
  ErasureItem,
  ErasureList,
  ErasureListQuery,
  ErasureParams,
  EXAMPLE_ERASURE,
  SettingsBody,
  SettingsResponse,
} from "./schemas";

const write = { reads: false, tag: PRIVACY_TAG };
const read = { reads: true, tag: PRIVACY_TAG };

const erasureNotFound = error("No erasure of the tenant has this id.", {
  not_found: failure("Unknown id, or another tenant's", "erasure_not_found"),
});

export const createErasureRoute = protectedRoute(mayManage, write, {
  method: "post",
  path: `${BASE_PATH}/erasures`,
  operationId: "createErasure",
  summary: "Erase a customer",
  description:
    "Starts a durable job (a Workflow) that erases every communication of the customer created before this request, and every one sent from or to one of `addresses`, attributed or not: the rows, their events, early provider events, idempotency records, and every archived day in R2 holding any of them (rewritten without them). Totals stay right. 202 with the erasure; while one of that customer is pending or running, 200 with that one. Follow it with GET /erasures/{id}. Requires manage:operations:tenant.",
  request: {
    query: CommonQuery,
    body: { required: true, content: { "application/json": { schema: ErasureBody } } },
  },
  responses: {
    200: json(ErasureItem, "An erasure of this customer is already pending or running: that one.", {
      running: success("erasure_running", { erasure: { ...EXAMPLE_ERASURE, status: "running", finished_at: null } }),
    }),
    202: json(ErasureItem, "Accepted: the erasure is recorded and its job queued.", {
      accepted: success("erasure_requested", {
        erasure: {
          ...EXAMPLE_ERASURE,
          status: "pending",
          erased: { communications: 0, events: 0, archived_days: 0 },
          finished_at: null,
        },
      }),
    }),
    400: error(
      "Invalid query or body; `errors` names each field (an address that is neither an E.164 phone nor an email).",
      {
        ...commonErrors[400].content["application/json"].examples,
        address: failure("A phone number without +", "validation_failed", [
          { field: "addresses.0", key: "field_phone_needs_plus" },
        ]),
        invalid_json: invalidJson,
      },
    ),
    ...bodyErrors,
  },
});

export const listErasuresRoute = protectedRoute(mayManage, read, {
  method: "get",
  path: `${BASE_PATH}/erasures`,
  operationId: "listErasures",
  summary: "List erasures",
  description: "The tenant's erasures, newest first, with cursor pages. Requires manage:operations:tenant.",
  request: { query: ErasureListQuery },
  responses: {
    200: json(ErasureList, "A page of erasures.", {
      page: success("erasures_ok", { erasures: [EXAMPLE_ERASURE], next_cursor: null }),
    }),
  },
});

export const getErasureRoute = protectedRoute(mayManage, read, {
  method: "get",
  path: `${BASE_PATH}/erasures/{id}`,
  operationId: "getErasure",
  summary: "Get an erasure",
  description: "One erasure of the tenant: its status and counts. Requires manage:operations:tenant.",
  request: { params: ErasureParams, query: CommonQuery },
  responses: {
    200: json(ErasureItem, "The erasure.", { found: success("erasure_ok", { erasure: EXAMPLE_ERASURE }) }),
    404: erasureNotFound,
  },
});

/** The document's example is what the masking rules make of the communication example. */
const REDACTED_EXAMPLE = redactCommunication(EXAMPLE_COMMUNICATION, "2026-12-01T09:00:00.000Z");

export const redactRoute = protectedRoute(mayManage, write, {
  method: "post",
  path: `${BASE_PATH}/{id}/redact`,
  operationId: "redactCustomerCommunication",
  summary: "Redact a communication",
  description:
    "Removes the content of one communication now: `content` becomes null; in `communication_details` (and in its events' provider details) phone numbers keep their first 4 and last 2 digits, emails their first letter and domain, `template_variables` and attachment `url`s are removed, other keys are kept. Ids, customer, delivery, type, direction, status, provider ids, times and events' statuses stay; totals do not change. A second call changes nothing. Requires manage:operations:tenant.",
  request: { params: IdParams, query: CommonQuery },
  responses: {
    200: json(ItemResponse, "The redacted communication (redacted now, or already).", {
      redacted: success("communication_redacted", { communication: REDACTED_EXAMPLE }),
      already: success("communication_already_redacted", { communication: REDACTED_EXAMPLE }),
    }),
    404: notFoundError,
  },
});

export const getSettingsRoute = protectedRoute(mayManage, read, {
  method: "get",
  path: `${BASE_PATH}/settings`,
  operationId: "getPrivacySettings",
  summary: "Get the tenant's privacy settings",
  description: "`redact_after_days`: null (the default) keeps content. Requires manage:operations:tenant.",
  request: { query: CommonQuery },
  responses: {
    200: json(SettingsResponse, "The settings.", {
      settings: success("settings_ok", { settings: { redact_after_days: 90, updated_at: "2026-12-01T09:00:00.000Z" } }),
    }),
  },
});

export const putSettingsRoute = protectedRoute(mayManage, write, {
  method: "put",
  path: `${BASE_PATH}/settings`,
  operationId: "putPrivacySettings",
  summary: "Set the tenant's privacy settings",
  description:
    "`redact_after_days` (1-3650, or null to keep content): the hourly job redacts communications older than that, and archived days once they are. Requires manage:operations:tenant.",
  request: {
    query: CommonQuery,
    body: { required: true, content: { "application/json": { schema: SettingsBody } } },
  },
  responses: {
    200: json(SettingsResponse, "Saved.", {
      saved: success("settings_updated", {
        settings: { redact_after_days: 90, updated_at: "2026-12-01T09:00:00.000Z" },
      }),
    }),
    400: error("Invalid query or body; `errors` names each field.", {
      ...commonErrors[400].content["application/json"].examples,
      days: failure("Out of range", "validation_failed", [
        { field: "redact_after_days", key: "field_too_big", params: { max: "3650" } },
      ]),
      invalid_json: invalidJson,
    }),
    ...bodyErrors,
  },
});
