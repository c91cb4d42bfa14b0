/**
 * Shapes of the subscription routes (../shared/spec/events.md,
 * Subscriptions): validation, types and the OpenAPI document from one place.
 */
import { z } from "@hono/zod-openapi";
import {
  CommonQuery,
  count,
  decimalInt,
  id,
  isoDateTime,
  optionalQuery,
  successEnvelope,
  timestamp,
  uuid,
} from "../communications/schemas";
import { DELIVERY_STATUSES, SUBSCRIPTION_STATUSES } from "../db/schema";
import { EVENT_TYPES } from "../events/event";
import { MAX_URL_LENGTH } from "./url";

/** Subscriptions one tenant may have (the contract's limit). */
export const MAX_SUBSCRIPTIONS = 20;
export const MAX_DESCRIPTION = 500;
/** Deliveries per page of the delivery log. */
export const MAX_DELIVERIES_PAGE = 100;
/** How far back a replay may start: events are kept this long. */
export const EVENT_RETENTION_DAYS = 7;
const MAX_CURSOR_LENGTH = 200;
const MAX_RESPONSE_TEXT = 1024;

const EXAMPLE_SUBSCRIPTION_ID = "0195f3d0-8a1b-7c2d-9e3f-4a5b6c7d8e9f";
const EXAMPLE_EVENT_ID = "evt_0195f3c36d1e7b4a9c3e1a2b3c4d5e6f";

export const EventType = z.enum(EVENT_TYPES).openapi("EventType");

const Events = z
  .array(EventType)
  .min(1)
  .max(10)
  .transform((types) => [...new Set(types)])
  .openapi({ description: "The event types to receive (duplicates are ignored).", uniqueItems: true });

const Url = z.string().max(MAX_URL_LENGTH).openapi({
  format: "uri",
  description:
    "`https` only, no user name or password, at most 2,048 characters; not an IP literal in a loopback, private, link-local, carrier-grade NAT or unique-local range, not `localhost`, not this service's own host.",
  example: "https://crm.example.com/hooks/communications",
});

const Description = z.string().max(MAX_DESCRIPTION);

export const SubscriptionParams = z.object({
  id: uuid().openapi({ param: { name: "id", in: "path" }, example: EXAMPLE_SUBSCRIPTION_ID }),
});

export const CreateSubscriptionBody = z
  .strictObject({ url: Url, events: Events, description: Description.optional() })
  .openapi("CreateSubscription", {
    example: {
      url: "https://crm.example.com/hooks/communications",
      events: ["communication.status_changed"],
      description: "CRM: delivery outcomes",
    },
  });

export const UpdateSubscriptionBody = z
  .strictObject({
    url: Url.optional(),
    events: Events.optional(),
    description: Description.nullable().optional().openapi({ description: "null clears it." }),
    status: z.enum(["active", "paused"]).optional().openapi({
      description:
        "`paused` stops deliveries (nothing is kept for later but what replay can send); `active` resumes, also a `disabled` subscription.",
    }),
  })
  .openapi("UpdateSubscription", { example: { status: "paused" } });
export type UpdateSubscriptionBody = z.infer<typeof UpdateSubscriptionBody>;

export const ReplayBody = z
  .strictObject({
    since: isoDateTime().openapi({ description: `At most ${EVENT_RETENTION_DAYS} days ago.` }),
    until: isoDateTime().optional().openapi({ description: "Default: now." }),
  })
  .openapi("ReplaySubscription", { example: { since: "2026-11-28T00:00:00Z", until: "2026-11-28T12:00:00Z" } });

const statusList = z
  .string()
  .max(64)
  .transform((v, ctx) => {
    const values = [...new Set(v.split(",").map((s) => s.trim()))];
    const bad = values.some((s) => !(DELIVERY_STATUSES as readonly string[]).includes(s));
    if (bad) {
      ctx.addIssue({ code: "invalid_value", values: [...DELIVERY_STATUSES], input: v });
      return z.NEVER;
    }
    return values as (typeof DELIVERY_STATUSES)[number][];
  });

export const DeliveriesQuery = CommonQuery.extend({
  status: optionalQuery(statusList).openapi({
    param: { name: "status", in: "query" },
    type: "string",
    maxLength: 64,
    pattern: "^(pending|succeeded|failed)(,(pending|succeeded|failed))*$",
    description: "Comma-separated delivery statuses: `pending`, `succeeded`, `failed` (default: all).",
    example: "failed,pending",
  }),
  limit: optionalQuery(decimalInt(1, MAX_DELIVERIES_PAGE)).openapi({
    param: { name: "limit", in: "query" },
    description: `Deliveries per page (1-${MAX_DELIVERIES_PAGE}, default 20).`,
    default: 20,
    example: 20,
  }),
  cursor: optionalQuery(z.string().max(MAX_CURSOR_LENGTH)).openapi({
    param: { name: "cursor", in: "query" },
    description: "Opaque `next_cursor` of a previous page.",
  }),
});

/** The fields of a subscription as returned; each response shape lists them (an `allOf` would not close). */
const subscriptionShape = {
  id: id(EXAMPLE_SUBSCRIPTION_ID),
  url: z
    .string()
    .max(MAX_URL_LENGTH)
    .openapi({ format: "uri", example: "https://crm.example.com/hooks/communications" }),
  events: z.array(EventType).max(EVENT_TYPES.length),
  description: Description.nullable(),
  status: z.enum(SUBSCRIPTION_STATUSES).openapi({
    description: "`disabled`: every delivery failed for 5 days; a PATCH to `active` resumes it.",
  }),
  created_at: timestamp,
  updated_at: timestamp,
};

export const Subscription = z.object(subscriptionShape).openapi("Subscription");
export type Subscription = z.infer<typeof Subscription>;

const secret = z.string().max(100).openapi({
  description:
    "The signing secret (`whsec_` + base64), shown only in this answer: verify deliveries with it (Standard Webhooks).",
  example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw6r2xX7sDMUc=",
});

export const SubscriptionWithSecret = z.object({ ...subscriptionShape, secret }).openapi("SubscriptionWithSecret");

export const SubscriptionDetail = z
  .object({
    ...subscriptionShape,
    delivery_counts: z
      .object({ succeeded: count(), failed: count(), pending: count() })
      .openapi({ description: "Deliveries in the delivery log (the last 7 days), by status." }),
    last_success_at: timestamp.nullable().openapi({ description: "Last successful attempt in the delivery log." }),
    last_failure_at: timestamp.nullable().openapi({ description: "Last failed attempt in the delivery log." }),
  })
  .openapi("SubscriptionDetail");

export const Delivery = z
  .object({
    event_id: z.string().max(36).openapi({ example: EXAMPLE_EVENT_ID }),
    type: EventType,
    status: z.enum(DELIVERY_STATUSES).openapi({
      description: "`pending`: waiting for its next attempt. `failed`: every attempt failed (replay sends it again).",
    }),
    attempts: count(),
    last_status_code: count().nullable().openapi({ description: "HTTP status of the last attempt; null without one." }),
    last_error: z.enum(["timeout", "network", "url_not_allowed", "paused"]).nullable().openapi({
      description: "Why the last attempt got no status code (or was not made); null otherwise.",
    }),
    last_response: z
      .string()
      .max(MAX_RESPONSE_TEXT)
      .nullable()
      .openapi({ description: "The first 256 bytes of the receiver's last answer." }),
    last_attempt_at: timestamp.nullable(),
    next_attempt_at: timestamp.nullable(),
  })
  .openapi("SubscriptionDelivery");
export type Delivery = z.infer<typeof Delivery>;

export const SubscriptionCreated = successEnvelope("SubscriptionCreated", { subscription: SubscriptionWithSecret });
export const SubscriptionList = successEnvelope("SubscriptionList", {
  subscriptions: z.array(Subscription).max(MAX_SUBSCRIPTIONS),
});
export const SubscriptionItem = successEnvelope("SubscriptionItem", { subscription: Subscription });
export const SubscriptionDetailItem = successEnvelope("SubscriptionDetailItem", { subscription: SubscriptionDetail });
export const SubscriptionDeleted = successEnvelope("SubscriptionDeleted", {});
export const DeliveryList = successEnvelope("SubscriptionDeliveries", {
  deliveries: z.array(Delivery).max(MAX_DELIVERIES_PAGE),
  next_cursor: z
    .string()
    .max(MAX_CURSOR_LENGTH)
    .nullable()
    .openapi({ description: "Pass as `cursor` for the next page; null on the last page." }),
});
export const ReplayAccepted = successEnvelope("SubscriptionReplay", {
  replay: z.object({ since: timestamp, until: timestamp }),
});

export const EXAMPLE_SUBSCRIPTION: Subscription = {
  id: EXAMPLE_SUBSCRIPTION_ID,
  url: "https://crm.example.com/hooks/communications",
  events: ["communication.status_changed"],
  description: "CRM: delivery outcomes",
  status: "active",
  created_at: "2026-11-28T14:02:55.120Z",
  updated_at: "2026-11-28T14:02:55.120Z",
};

export const EXAMPLE_DELIVERY: Delivery = {
  event_id: EXAMPLE_EVENT_ID,
  type: "communication.status_changed",
  status: "pending",
  attempts: 2,
  last_status_code: 503,
  last_error: null,
  last_response: '{"error":"maintenance"}',
  last_attempt_at: "2026-11-28T14:03:17.210Z",
  next_attempt_at: "2026-11-28T14:08:17.210Z",
};
