/**
 * The subscription routes (../shared/spec/events.md, Subscriptions), each
 * declared once with `protectedRoute()`: manage:operations:tenant, or a
 * system administrator naming `tenant_id` (403 for everyone else, before any
 * input is read).
 */
import { mayManage } from "../communications/access";
import { BASE_PATH } from "../communications/routes";
import { CommonQuery } from "../communications/schemas";
import { bodyErrors, commonErrors, error, failure, invalidJson, json, success } from "../openapi/responses";
import { protectedRoute, SUBSCRIPTIONS_TAG } from "../openapi/route";
import {
  CreateSubscriptionBody,
  DeliveriesQuery,
  DeliveryList,
  EXAMPLE_DELIVERY,
  EXAMPLE_SUBSCRIPTION,
  ReplayAccepted,
  ReplayBody,
  SubscriptionCreated,
  SubscriptionDeleted,
  SubscriptionDetailItem,
  SubscriptionItem,
  SubscriptionList,
  SubscriptionParams,
  UpdateSubscriptionBody,
} from "./schemas";

export const SUBSCRIPTIONS_PATH = `${BASE_PATH}/subscriptions`;

const EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw6r2xX7sDMUc=";

const notFound = error("No such subscription for this tenant.", {
  not_found: failure("Unknown id, or another tenant's", "subscription_not_found"),
});
const notConfigured = error("Unexpected error, or subscription secrets not configured.", {
  ...commonErrors[500].content["application/json"].examples,
  secrets: failure("PROVIDER_SECRETS_KEY is not set", "subscriptions_not_configured"),
});
const urlErrors = {
  scheme: failure("Not https", "validation_failed", [{ field: "url", key: "field_url_scheme" }]),
  private: failure("A loopback, private or link-local address", "validation_failed", [
    { field: "url", key: "field_url_private" },
  ]),
  credentials: failure("A user name or password in the URL", "validation_failed", [
    { field: "url", key: "field_url_credentials" },
  ]),
};

const route = <const R extends Parameters<typeof protectedRoute>[2]>(reads: boolean, config: R) =>
  protectedRoute(mayManage, { reads, tag: SUBSCRIPTIONS_TAG }, config);

export const createSubscriptionRoute = route(false, {
  method: "post",
  path: SUBSCRIPTIONS_PATH,
  operationId: "createSubscription",
  summary: "Create an event subscription",
  description:
    "Events of the tenant's communications are POSTed to `url`, signed as Standard Webhooks, from now on (changes committed more than 60 seconds after the create, all of them). The answer carries the signing `secret`, shown this once. At most 20 per tenant. Requires manage:operations:tenant.",
  request: {
    query: CommonQuery,
    body: { required: true, content: { "application/json": { schema: CreateSubscriptionBody } } },
  },
  responses: {
    201: json(SubscriptionCreated, "Created, with its secret (shown once).", {
      created: success("subscription_created", { subscription: { ...EXAMPLE_SUBSCRIPTION, secret: EXAMPLE_SECRET } }),
    }),
    400: error("Invalid body; `errors` names each field (the URL rules, event types).", {
      ...commonErrors[400].content["application/json"].examples,
      ...urlErrors,
      invalid_json: invalidJson,
    }),
    409: error("The tenant already has 20 subscriptions.", {
      limit: failure("20 subscriptions already", "subscription_limit"),
    }),
    500: notConfigured,
    ...bodyErrors,
  },
});

export const listSubscriptionsRoute = route(true, {
  method: "get",
  path: SUBSCRIPTIONS_PATH,
  operationId: "listSubscriptions",
  summary: "List event subscriptions",
  description: "The tenant's subscriptions, oldest first; never their secrets. Requires manage:operations:tenant.",
  request: { query: CommonQuery },
  responses: {
    200: json(SubscriptionList, "The subscriptions.", {
      list: success("subscriptions_ok", { subscriptions: [EXAMPLE_SUBSCRIPTION] }),
    }),
  },
});

export const getSubscriptionRoute = route(true, {
  method: "get",
  path: `${SUBSCRIPTIONS_PATH}/{id}`,
  operationId: "getSubscription",
  summary: "Get an event subscription",
  description:
    "One subscription, with its delivery counts and last success and failure times (over the delivery log: the last 7 days). Requires manage:operations:tenant.",
  request: { params: SubscriptionParams, query: CommonQuery },
  responses: {
    200: json(SubscriptionDetailItem, "The subscription.", {
      found: success("subscription_ok", {
        subscription: {
          ...EXAMPLE_SUBSCRIPTION,
          delivery_counts: { succeeded: 1520, failed: 2, pending: 1 },
          last_success_at: "2026-11-28T14:05:40.310Z",
          last_failure_at: "2026-11-28T14:03:17.210Z",
        },
      }),
    }),
    404: notFound,
  },
});

export const updateSubscriptionRoute = route(false, {
  method: "patch",
  path: `${SUBSCRIPTIONS_PATH}/{id}`,
  operationId: "updateSubscription",
  summary: "Update an event subscription",
  description:
    "Any of `url`, `events`, `description`, `status` (`active` or `paused`; `active` also resumes a `disabled` one). Requires manage:operations:tenant.",
  request: {
    params: SubscriptionParams,
    query: CommonQuery,
    body: { required: true, content: { "application/json": { schema: UpdateSubscriptionBody } } },
  },
  responses: {
    200: json(SubscriptionItem, "Updated.", {
      updated: success("subscription_updated", { subscription: { ...EXAMPLE_SUBSCRIPTION, status: "paused" } }),
    }),
    400: error("Invalid body; `errors` names each field.", {
      ...commonErrors[400].content["application/json"].examples,
      ...urlErrors,
      empty: failure("Nothing to change", "validation_failed", [
        { field: "body", key: "field_nothing_to_update", params: { values: "url, events, description, status" } },
      ]),
      invalid_json: invalidJson,
    }),
    404: notFound,
    ...bodyErrors,
  },
});

export const deleteSubscriptionRoute = route(false, {
  method: "delete",
  path: `${SUBSCRIPTIONS_PATH}/{id}`,
  operationId: "deleteSubscription",
  summary: "Delete an event subscription",
  description: "Stops every delivery to it, including those waiting for a retry. Requires manage:operations:tenant.",
  request: { params: SubscriptionParams, query: CommonQuery },
  responses: {
    200: json(SubscriptionDeleted, "Deleted.", { deleted: success("subscription_deleted", {}) }),
    404: notFound,
  },
});

export const rotateSecretRoute = route(false, {
  method: "post",
  path: `${SUBSCRIPTIONS_PATH}/{id}/secret`,
  operationId: "rotateSubscriptionSecret",
  summary: "Rotate a subscription's secret",
  description:
    "A new signing secret, returned this once. For 24 hours deliveries carry two signatures (the new secret's, then the old one's), so receivers can switch without losing any; then only the new one. Requires manage:operations:tenant.",
  request: { params: SubscriptionParams, query: CommonQuery },
  responses: {
    200: json(SubscriptionCreated, "Rotated, with the new secret (shown once).", {
      rotated: success("subscription_secret_rotated", {
        subscription: { ...EXAMPLE_SUBSCRIPTION, secret: EXAMPLE_SECRET },
      }),
    }),
    404: notFound,
    500: notConfigured,
  },
});

export const deliveriesRoute = route(true, {
  method: "get",
  path: `${SUBSCRIPTIONS_PATH}/{id}/deliveries`,
  operationId: "listSubscriptionDeliveries",
  summary: "List a subscription's deliveries",
  description:
    "The delivery log (the last 7 days), newest event first, in cursor pages, optionally by status. Requires manage:operations:tenant.",
  request: { params: SubscriptionParams, query: DeliveriesQuery },
  responses: {
    200: json(DeliveryList, "A page of deliveries.", {
      page: success("deliveries_ok", { deliveries: [EXAMPLE_DELIVERY], next_cursor: null }),
    }),
    404: notFound,
  },
});

export const replayRoute = route(false, {
  method: "post",
  path: `${SUBSCRIPTIONS_PATH}/{id}/replay`,
  operationId: "replaySubscription",
  summary: "Replay a subscription's events",
  description:
    "Every event of the subscription's types committed in [since, until] (at most 7 days back) is sent to it again, with its original id. Accepted now, sent in the background. Requires manage:operations:tenant.",
  request: {
    params: SubscriptionParams,
    query: CommonQuery,
    body: { required: true, content: { "application/json": { schema: ReplayBody } } },
  },
  responses: {
    202: json(ReplayAccepted, "Accepted: queued durably, sent in the background.", {
      accepted: success("replay_accepted", {
        replay: { since: "2026-11-28T00:00:00.000Z", until: "2026-11-28T12:00:00.000Z" },
      }),
    }),
    400: error("Invalid body; `errors` names each field.", {
      ...commonErrors[400].content["application/json"].examples,
      too_old: failure("since more than 7 days ago", "validation_failed", [
        { field: "since", key: "field_replay_too_old", params: { days: "7" } },
      ]),
      invalid_json: invalidJson,
    }),
    404: notFound,
    409: error("The subscription is paused or disabled.", {
      not_active: failure("Paused or disabled", "subscription_not_active"),
    }),
    ...bodyErrors,
  },
});
