/** Shapes of the admin routes (scaling.md, "Moving a tenant"): validation, types and OpenAPI from one place. */
import { z } from "@hono/zod-openapi";
import { count, id, LanguageQuery, successEnvelope, timestamp, uuid } from "../communications/schemas";
import { SHARD_BINDING } from "../shards/config";
import { MOVE_STATUSES } from "../shards/schema";

/** Bounds of the shards listing, declared in the document (OWASP API4: every array has maxItems). */
const MAX_SHARDS = 100;

export const EXAMPLE_TENANT = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b";

const shardName = z
  .string()
  .max(64)
  // The handler refuses any name but a configured shard's; the pattern is the part a document can state.
  .openapi({ description: "A shard: the name of its D1 binding.", example: "SHARD_1", pattern: SHARD_BINDING.source });

export const TenantParams = z.object({
  tenant_id: uuid().openapi({ param: { name: "tenant_id", in: "path" }, example: EXAMPLE_TENANT }),
});

export const MoveBody = z.strictObject({ to: shardName }).openapi("TenantMoveRequest", { example: { to: "SHARD_1" } });

export const Move = z
  .object({
    id: z.string().max(100).openapi({ description: "The move's id (its Workflow instance id)." }),
    status: z.enum(MOVE_STATUSES).openapi({
      description:
        "queued → copying → frozen (writes answer 503) → verifying → switched (served by `to`) → cleaning (source rows deleted) → done; failed leaves the tenant on `from`.",
    }),
    from: shardName,
    to: shardName,
    copied: count().openapi({ description: "Rows copied so far (all tables, both passes)." }),
    rows_read: count().openapi({ description: "D1 rows read by the move so far (both shards)." }),
    rows_written: count().openapi({ description: "D1 rows written by the move so far (both shards)." }),
    error: z.string().max(1000).nullable(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .openapi("TenantMove");
export type Move = z.infer<typeof Move>;

export const TenantResponse = successEnvelope("TenantPlacement", {
  tenant: z.object({
    tenant_id: id(),
    shard: shardName,
    frozen: z.boolean().openapi({ description: "In a move's final phase: writes answer 503 with Retry-After." }),
    move: Move.nullable().openapi({ description: "The tenant's latest move, if any." }),
  }),
});

export const MoveResponse = successEnvelope("TenantMoveStarted", { move: Move });

/** Tenants per page of the shards listing. */
export const MAX_SHARDS_PAGE = 1000;
const MAX_SHARDS_CURSOR = 64;

export const ShardsQuery = LanguageQuery.extend({
  limit: z
    .preprocess(
      (v) => (v === "" ? undefined : typeof v === "string" && /^\d{1,10}$/.test(v) ? Number(v) : v),
      z.number().int().min(1).max(MAX_SHARDS_PAGE).optional(),
    )
    .openapi({
      param: { name: "limit", in: "query", allowEmptyValue: true },
      type: "integer",
      format: "int32",
      minimum: 1,
      maximum: MAX_SHARDS_PAGE,
      default: 100,
      description: `Tenants per page (1-${MAX_SHARDS_PAGE}, default 100), in tenant id order across all shards.`,
    }),
  cursor: z
    .preprocess((v) => (v === "" ? undefined : v), z.string().max(MAX_SHARDS_CURSOR).optional())
    .openapi({
      param: { name: "cursor", in: "query", allowEmptyValue: true },
      type: "string",
      maxLength: MAX_SHARDS_CURSOR,
      description: "Opaque `next_cursor` of a previous page.",
    }),
});

export const ShardsResponse = successEnvelope("Shards", {
  limit: count(),
  next_cursor: z
    .string()
    .max(MAX_SHARDS_CURSOR)
    .nullable()
    .openapi({ description: "Pass as `cursor` for the next page of tenants; null on the last page." }),
  shards: z
    .array(
      z.object({
        name: shardName,
        tenant_count: count().openapi({ description: "Tenants placed on this shard (all pages)." }),
        tenants: z
          .array(
            z.object({
              tenant_id: id(),
              communications: count().openapi({ description: "The tenant's communications on this shard." }),
            }),
          )
          .max(MAX_SHARDS_PAGE)
          .openapi({ description: "This page's tenants that live on this shard." }),
      }),
    )
    .max(MAX_SHARDS),
});

export const EXAMPLE_MOVE: Move = {
  id: "0195f3c2-6d1e-7b4a-9c3e-000000000042",
  status: "queued",
  from: "SHARD_0",
  to: "SHARD_1",
  copied: 0,
  rows_read: 0,
  rows_written: 0,
  error: null,
  created_at: "2026-11-28T14:02:55.120Z",
  updated_at: "2026-11-28T14:02:55.120Z",
};
