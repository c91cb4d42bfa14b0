/**
 * The routes providers call (../shared/spec/webhooks.md). No bearer token:
 * the provider's signature is the authentication. Order of work, cheapest
 * first, so that junk costs little: the path's tenant id and the signature
 * headers are checked without I/O; then the connection's secret (isolate
 * cache, else the tenant's directory entry and its connection row: a tenant
 * the directory does not know is refused there, never placed); then the
 * signature over the raw body; only a verified call is parsed, validated,
 * queued (src/webhooks/queue.ts) and acknowledged. Every refusal
 * is the same 403, whatever the reason. No rate limiter runs here: a
 * provider's burst must not be answered 429 (Twilio does not retry those).
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Provider } from "../db/schema";
import type { AppEnv } from "../env";
import { translate } from "../i18n/messages";
import { ApiError, MAX_MESSAGE_LENGTH } from "../lib/errors";
import { publicUrl } from "../lib/public-url";
import { UUID } from "../lib/uuid";
import { validationHook } from "../lib/validation";
import { bodyErrors, error, everyResponse, failure, invalidJson, json } from "../openapi/responses";
import { WEBHOOK_TAG } from "../openapi/route";
import { WEBHOOKS_PATH } from "../providers/routes";
import { connectionSecret } from "./connections";
import {
  fromSendgrid,
  fromStandard,
  fromTwilio,
  SendgridBody,
  StandardBody,
  TwilioForm,
  type WebhookMessage,
} from "./events";
import { enqueue } from "./queue";
import { verifySendgrid, verifyStandard, verifyTwilio } from "./signatures";

/** SendGrid posts batches of up to 768 KiB; the rest of the API keeps its 256 KiB limit (src/app.ts). */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

const refused = () => new ApiError(403, "webhook_unauthorized");

/** The signature headers each provider sends; a call without them is refused before any I/O. */
const SIGNATURE_HEADERS: Record<Provider, string[]> = {
  twilio: ["x-twilio-signature"],
  sendgrid: ["x-twilio-email-event-webhook-signature", "x-twilio-email-event-webhook-timestamp"],
  standard: ["webhook-id", "webhook-timestamp", "webhook-signature"],
};

async function verify(provider: Provider, c: Context<AppEnv>, secret: string, raw: string): Promise<boolean> {
  const h = (name: string) => c.req.header(name);
  switch (provider) {
    case "twilio": {
      // Parsed once: the signature is checked over these fields, and the form
      // validator after this middleware reads the very same ones (Hono's body
      // cache), never its own parse of the bytes (which would differ, e.g. on
      // a leading "?", which URLSearchParams drops).
      const form = new URLSearchParams(raw);
      const fields = new FormData();
      for (const [name, value] of form) fields.append(name, value);
      c.req.bodyCache.formData = fields;
      // Twilio signs the URL it called: behind a gateway that rewrites Host,
      // the public one (PUBLIC_BASE_URL), not the one this request arrived at.
      return verifyTwilio(secret, publicUrl(c.env, c.req.url), form, h("x-twilio-signature"));
    }
    case "sendgrid":
      return verifySendgrid(
        secret,
        raw,
        h("x-twilio-email-event-webhook-signature"),
        h("x-twilio-email-event-webhook-timestamp"),
      );
    case "standard":
      return verifyStandard(secret, raw, {
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
      });
  }
}

/** Route middleware: runs before the body is parsed or validated (zod-openapi puts validators after it). */
const verified = (provider: Provider) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const tenantId = c.req.param("tenant_id") ?? "";
    if (!UUID.test(tenantId)) throw refused();
    if (SIGNATURE_HEADERS[provider].some((name) => !c.req.header(name))) throw refused();
    const secret = await connectionSecret(c.env, tenantId.toLowerCase(), provider, c.var.dbStats);
    if (!secret) throw refused();
    // Hono keeps the bytes: the validators after this parse the same body.
    // (Decoded here rather than with text(), which workerd warns about for form bodies.)
    const raw = new TextDecoder().decode(await c.req.arrayBuffer());
    if (!(await verify(provider, c, secret, raw))) throw refused();
    await next();
  });

/** Queues a verified call's events; the provider is answered only after the queue holds them. */
async function accept(c: Context<AppEnv>, messages: WebhookMessage[]) {
  try {
    await enqueue(c.env, messages);
  } catch (err) {
    // Not acknowledged: the provider retries.
    throw new ApiError(503, "db_unavailable", { cause: err, headers: { "Retry-After": "5" } });
  }
}

const TenantParams = z.object({
  tenant_id: z
    .uuid()
    .overwrite((v) => v.toLowerCase())
    .openapi({
      param: { name: "tenant_id", in: "path" },
      maxLength: 36,
      example: "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    }),
});

const Accepted = z
  .object({
    success: z.literal(true),
    message: z.string().max(MAX_MESSAGE_LENGTH),
    events: z
      .number()
      .int()
      .min(0)
      .max(100_000)
      .openapi({ format: "int32", description: "Events queued from this call." }),
  })
  .openapi("WebhookAccepted");

const tags = [WEBHOOK_TAG];
/** No bearer token; the language header still applies (src/openapi/document.ts). */
const parameters = [{ $ref: "#/components/parameters/AcceptLanguage" }];
const responses = {
  403: error("Bad, missing or stale signature, or no such connection (never says which).", {
    refused: failure("Signature not verified", "webhook_unauthorized"),
  }),
  413: bodyErrors[413],
  415: bodyErrors[415],
  500: error("Unexpected error; never contains internals.", {
    internal: failure("Anything unexpected", "internal_error"),
  }),
  503: error(
    "The events could not be queued, or the connection could not be read: not acknowledged, the provider retries.",
    { unavailable: failure("Queue or D1 unavailable", "db_unavailable") },
    { "Retry-After": { $ref: "#/components/headers/Retry-After" } },
  ),
};
const invalidBody = (description: string) =>
  error(description, {
    validation: failure("A signed body of the wrong shape", "validation_failed", [
      { field: "0.timestamp", key: "field_required" },
    ]),
    invalid_json: invalidJson,
  });
const accepted = json(Accepted, "Verified and queued; applied shortly after.", {
  accepted: { summary: "Queued", value: { success: true, message: translate("en", "webhook_accepted"), events: 1 } },
});

export const twilioWebhookRoute = createRoute({
  method: "post",
  path: `${WEBHOOKS_PATH}/twilio/{tenant_id}`,
  operationId: "twilioWebhook",
  summary: "Twilio webhook",
  description:
    "Twilio's message status callbacks, inbound messages and call status callbacks. Signed with `X-Twilio-Signature` (HMAC-SHA1 of this URL plus the sorted form fields, keyed by the Auth Token). Answered with an empty TwiML document: no reply is ever sent to the customer.",
  tags,
  security: [{ twilioSignature: [] }],
  parameters,
  middleware: [verified("twilio")] as const,
  request: {
    params: TenantParams,
    headers: z.object({
      "x-twilio-signature": z.string().max(256).openapi({ description: "Base64 HMAC-SHA1." }),
    }),
    body: { required: true, content: { "application/x-www-form-urlencoded": { schema: TwilioForm } } },
  },
  responses: {
    200: {
      description: "Verified and queued. Empty TwiML: Twilio sends nothing to the customer.",
      headers: everyResponse,
      content: { "text/xml": { schema: z.string().max(64).openapi({ example: "<Response></Response>" }) } },
    },
    400: invalidBody("A verified call whose form fields are malformed."),
    ...responses,
    500: error("Unexpected error, or PUBLIC_BASE_URL unusable (the URL Twilio signed cannot be known).", {
      internal: failure("Anything unexpected", "internal_error"),
      public_url: failure("PUBLIC_BASE_URL is set but not an origin", "public_base_url_invalid"),
    }),
  },
});

export const sendgridWebhookRoute = createRoute({
  method: "post",
  path: `${WEBHOOKS_PATH}/sendgrid/{tenant_id}`,
  operationId: "sendgridWebhook",
  summary: "SendGrid Event Webhook",
  description:
    "A JSON array of SendGrid events (Signed Event Webhook): ECDSA P-256 / SHA-256 over the timestamp header plus the raw body, verified with the connection's public key.",
  tags,
  security: [{ sendgridSignature: [] }],
  parameters,
  middleware: [verified("sendgrid")] as const,
  request: {
    params: TenantParams,
    headers: z.object({
      "x-twilio-email-event-webhook-signature": z
        .string()
        .max(512)
        .openapi({ description: "Base64 DER ECDSA signature." }),
      "x-twilio-email-event-webhook-timestamp": z.string().max(32).openapi({ description: "Unix seconds, signed." }),
    }),
    body: { required: true, content: { "application/json": { schema: SendgridBody } } },
  },
  responses: { 200: accepted, 400: invalidBody("A verified call whose events are malformed."), ...responses },
});

export const standardWebhookRoute = createRoute({
  method: "post",
  path: `${WEBHOOKS_PATH}/standard/{tenant_id}`,
  operationId: "standardWebhook",
  summary: "Standard Webhooks",
  description:
    "Status events and inbound messages from any sender that signs per standardwebhooks.com (HMAC-SHA256 over `webhook-id.webhook-timestamp.body`, 5-minute timestamp tolerance). The way to log inbound messages from a tenant's own handler.",
  tags,
  security: [{ standardWebhooksSignature: [] }],
  parameters,
  middleware: [verified("standard")] as const,
  request: {
    params: TenantParams,
    headers: z.object({
      "webhook-id": z.string().max(255).openapi({ description: "Unique per event; redeliveries repeat it." }),
      "webhook-timestamp": z.string().max(16).openapi({ description: "Unix seconds." }),
      "webhook-signature": z.string().max(1024).openapi({ description: "Space-separated `v1,<base64>`." }),
    }),
    body: { required: true, content: { "application/json": { schema: StandardBody } } },
  },
  responses: { 200: accepted, 400: invalidBody("A verified call whose body is malformed."), ...responses },
});

const ok = (c: Context<AppEnv>, events: number) =>
  c.json({ success: true as const, message: translate(c.var.lang, "webhook_accepted"), events }, 200);

export const webhooksRouter = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(twilioWebhookRoute, async (c) => {
    const { tenant_id } = c.req.valid("param");
    await accept(c, fromTwilio(tenant_id, c.req.valid("form"), Date.now()));
    return c.body("<Response></Response>", 200, { "Content-Type": "text/xml; charset=utf-8" });
  })
  .openapi(sendgridWebhookRoute, async (c) => {
    const { tenant_id } = c.req.valid("param");
    const messages = fromSendgrid(tenant_id, c.req.valid("json"));
    await accept(c, messages);
    return ok(c, messages.length);
  })
  .openapi(standardWebhookRoute, async (c) => {
    const { tenant_id } = c.req.valid("param");
    const messages = fromStandard(tenant_id, c.req.valid("header")["webhook-id"], c.req.valid("json"));
    await accept(c, messages);
    return ok(c, messages.length);
  });
