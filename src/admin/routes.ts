/** Admin routes (scaling.md): system administrators only; everyone else 403. */
import type { Principal } from "../auth/principal";
import { BASE_PATH } from "../communications/routes";
import { LanguageQuery } from "../communications/schemas";
import { bodyErrors, error, failure, invalidJson, json, success } from "../openapi/responses";
import { ADMIN_TAG, protectedRoute } from "../openapi/route";
import {
  EXAMPLE_MOVE,
  EXAMPLE_TENANT,
  MoveBody,
  MoveResponse,
  ShardsQuery,
  ShardsResponse,
  TenantParams,
  TenantResponse,
} from "./schemas";

const ADMIN_PATH = `${BASE_PATH}/admin`;
const systemAdminOnly = (p: Principal) => p.isSystemAdmin;
const admin = { reads: false, tag: ADMIN_TAG };

const invalid = error("Invalid query, path or body; `errors` names each field.", {
  validation: failure("Not a UUID", "validation_failed", [
    { field: "tenant_id", key: "field_invalid_format", params: { format: "UUID" } },
  ]),
});
const tenantNotFound = error("The tenant is not in the directory (it never made a request).", {
  tenant_not_found: failure("Unknown tenant", "tenant_not_found"),
});

export const shardsRoute = protectedRoute(systemAdminOnly, admin, {
  method: "get",
  path: `${ADMIN_PATH}/shards`,
  operationId: "listShards",
  summary: "List shards",
  description:
    "Every configured shard with its number of tenants, and a page of tenants (in tenant id order, across all shards) under the shard that holds each, with their communication counts. Follow `next_cursor` for the next page. System administrators only.",
  request: { query: ShardsQuery },
  responses: {
    200: json(ShardsResponse, "The shards, and a page of their tenants.", {
      shards: success("shards_ok", {
        limit: 100,
        next_cursor: null,
        shards: [
          { name: "SHARD_0", tenant_count: 1, tenants: [{ tenant_id: EXAMPLE_TENANT, communications: 1250 }] },
          { name: "SHARD_1", tenant_count: 0, tenants: [] },
        ],
      }),
    }),
    400: invalid,
  },
});

export const tenantRoute = protectedRoute(systemAdminOnly, admin, {
  method: "get",
  path: `${ADMIN_PATH}/tenants/{tenant_id}`,
  operationId: "getTenantPlacement",
  summary: "Get a tenant's shard",
  description: "The tenant's shard and its latest move. System administrators only.",
  request: { params: TenantParams, query: LanguageQuery },
  responses: {
    200: json(TenantResponse, "The tenant's placement.", {
      tenant: success("tenant_ok", {
        tenant: {
          tenant_id: EXAMPLE_TENANT,
          shard: "SHARD_1",
          frozen: false,
          move: { ...EXAMPLE_MOVE, status: "done" },
        },
      }),
    }),
    400: invalid,
    404: tenantNotFound,
  },
});

export const moveRoute = protectedRoute(systemAdminOnly, admin, {
  method: "post",
  path: `${ADMIN_PATH}/tenants/{tenant_id}/move`,
  operationId: "moveTenant",
  summary: "Move a tenant to another shard",
  description:
    "Starts a durable move (a Cloudflare Workflow): copy in bounded batches, freeze writes (503 with Retry-After), copy the last changes, verify counts and checksums, switch the directory, delete the source rows. Reads keep working throughout. Follow it with GET …/admin/tenants/{tenant_id}. System administrators only.",
  request: {
    params: TenantParams,
    query: LanguageQuery,
    body: { required: true, content: { "application/json": { schema: MoveBody } } },
  },
  responses: {
    202: json(MoveResponse, "The move is queued.", { started: success("move_started", { move: EXAMPLE_MOVE }) }),
    400: error("Invalid path or body; `to` must name a configured shard.", {
      validation: failure("An unknown shard", "validation_failed", [
        { field: "to", key: "field_invalid_value", params: { values: "SHARD_0, SHARD_1" } },
      ]),
      invalid_json: invalidJson,
    }),
    404: tenantNotFound,
    409: error("The tenant is already on that shard, or a move of it is running.", {
      conflict: failure("Same shard or a move running", "move_conflict"),
    }),
    ...bodyErrors,
  },
});
