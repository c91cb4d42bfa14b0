/** Shapes of the audit log route, declared once (validation, types, the OpenAPI document). */
import { z } from "@hono/zod-openapi";
import { id, ListQuery, optionalQuery, successEnvelope, timestamp } from "../communications/schemas";
import { AUDIT_ACTIONS } from "./store";

const MAX_PAGE_ITEMS = 100;

export const AuditQuery = ListQuery.pick({
  tenant_id: true,
  language: true,
  limit: true,
  cursor: true,
  created_after: true,
  created_before: true,
}).extend({
  action: optionalQuery(z.enum(AUDIT_ACTIONS)).openapi({
    param: { name: "action", in: "query" },
    description: "Only entries of this action.",
    example: "erasure.requested",
  }),
  actor: optionalQuery(z.string().max(255)).openapi({
    param: { name: "actor", in: "query" },
    description: "Only entries whose actor is this `sub`.",
    example: "5d0c1f7e-2b3a-4c4d-8e9f-0a1b2c3d4e5f",
  }),
});

export const AuditEntry = z
  .object({
    id: id("0196a1b2-3c4d-7e5f-8a6b-7c8d9e0f1a2c"),
    action: z.enum(AUDIT_ACTIONS),
    actor: z
      .object({
        sub: z.string().max(255),
        role: z.string().max(255).nullable(),
        is_system_admin: z.boolean(),
      })
      .openapi({
        description: "Who did it; for a job's entry (`erasure.finished`, `tenant.move_finished`), who started the job.",
      }),
    target: z.object({ kind: z.string().max(32), id: z.string().max(255) }).openapi({
      description: "What it was done to: `erasure`, `communication`, `provider`, `settings`, `move`, `tenant`...",
    }),
    details: z
      .record(z.string(), z.unknown())
      .openapi({ description: "Counts and settings; never content, addresses or secrets." }),
    request_id: z.string().max(128),
    created_at: timestamp,
  })
  .openapi("AuditEntry");

export const EXAMPLE_AUDIT_ENTRY: z.infer<typeof AuditEntry> = {
  id: "0196a1b2-3c4d-7e5f-8a6b-7c8d9e0f1a2c",
  action: "erasure.finished",
  actor: { sub: "5d0c1f7e-2b3a-4c4d-8e9f-0a1b2c3d4e5f", role: "tenant_admin", is_system_admin: false },
  target: { kind: "erasure", id: "0196a1b2-3c4d-7e5f-8a6b-7c8d9e0f1a2b" },
  details: {
    status: "done",
    customer_id: "3b2a1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d",
    communications: 128,
    events: 211,
    archived_days: 3,
  },
  request_id: "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
  created_at: "2026-12-01T09:00:41.512Z",
};

export const AuditList = successEnvelope("AuditLog", {
  entries: z.array(AuditEntry).max(MAX_PAGE_ITEMS),
  next_cursor: z
    .string()
    .max(200)
    .nullable()
    .openapi({ description: "Pass as `cursor` for the next page; null on the last page." }),
});
