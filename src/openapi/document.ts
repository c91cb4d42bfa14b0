/**
 * The OpenAPI document's head and the components that routes refer to by
 * `$ref` (the bearer scheme, parameters read by middleware, response
 * headers). Paths and schemas come from the routes themselves.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { LANGUAGES } from "../i18n/messages";
import { BOOKMARK_PATTERN } from "../middleware/context";
import { streamItemSchemas } from "./responses";
import { ADMIN_TAG, PRIVACY_TAG, SUBSCRIPTIONS_TAG, TAG, WEBHOOK_TAG } from "./route";

/** The generator's config, plus the 3.1 field its type does not list (it is copied into the document). */
type DocumentHead = Parameters<OpenAPIHono["getOpenAPI31Document"]>[0] & { jsonSchemaDialect: string };

/** The document's head; paths and schemas come from the routes. */
export const OPENAPI_CONFIG: DocumentHead = {
  openapi: "3.1.0",
  // Schemas are JSON Schema 2020-12, as OpenAPI 3.1 says; named, so that
  // validators which default to draft-07 (Stoplight Prism) apply 2020-12's
  // rules too (dependentSchemas, $ref beside other keywords).
  jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
  info: {
    title: "Customer Communications API",
    version: "1.0.0",
    description: [
      "The log of every message the delivery platform exchanges with its customers (SMS, email, push notifications, calls; outbound and inbound), per tenant.",
      "",
      "**Authentication**: `Authorization: Bearer <JWT>`; the tenant comes from the token (`tenant_id` claim), system administrators name it with `tenant_id`.",
      "",
      "**Languages**: every message (`message`, and each `errors[].message`) is localised: `en` English (default), `ar` Arabic, `ku` Kurdish (Sorani), `fa` Farsi; the last three are right-to-left. Choose with the `language` query parameter, else `Accept-Language`; anything else is English.",
      "",
      "**Envelope**: success `{success: true, message, ...}`, errors `{success: false, message, errors?}`; empty query parameters (`customer_id=`) mean not given.",
    ].join("\n"),
  },
  // Public: the API is called by the platform's apps and by customers' devices.
  servers: [
    { url: "/", description: "This deployment (production, or local under wrangler dev)", "x-internal": false },
  ],
  tags: [
    { name: TAG, description: "Log, list and track customer communications." },
    { name: ADMIN_TAG, description: "Shards and tenant moves; system administrators only." },
    {
      name: WEBHOOK_TAG,
      description:
        "Provider connections (staff) and the webhook URLs Twilio, SendGrid and Standard Webhooks senders call: signed by the provider, no bearer token.",
    },
    {
      name: SUBSCRIPTIONS_TAG,
      description:
        "Events out: signed (Standard Webhooks) POSTs of `communication.created` and `communication.status_changed` to the tenant's endpoints, retried for a day, with a delivery log and replay.",
    },
    {
      name: PRIVACY_TAG,
      description:
        "Erasing a customer, redacting content, the tenant's privacy settings and the audit log of privileged actions; manage:operations:tenant or a system administrator naming tenant_id.",
    },
  ],
};

/** Components the routes refer to: the bearer scheme and the response headers. */
export function registerDocumentComponents(registry: OpenAPIHono["openAPIRegistry"]) {
  for (const [name, schema] of streamItemSchemas) registry.register(name, schema);
  registry.registerComponent("parameters", "AcceptLanguage", {
    name: "accept-language",
    in: "header",
    required: false,
    description: `Used when \`language\` is absent: the first of ${LANGUAGES.join(", ")} (or ckb, for ku) in the list wins; otherwise en.`,
    schema: { type: "string", maxLength: 1024 },
    example: "ar, en;q=0.8",
  });
  registry.registerComponent("parameters", "D1Bookmark", {
    name: "x-d1-bookmark",
    in: "header",
    required: false,
    description:
      "Bookmark from a previous response (`<shard>:<D1 bookmark>`): this read sees at least that write, from any replica of the tenant's shard. Malformed: 400.",
    schema: { type: "string", maxLength: 256, pattern: BOOKMARK_PATTERN },
  });
  registry.registerComponent("securitySchemes", "adminBearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "The bearer token of a system administrator (`is_system_admin: true`), verified exactly as bearerAuth (RFC8725 hardening, same keys); admin routes refuse every other caller with 403.",
  });
  // Provider webhooks carry no bearer token: the provider signs each call
  // (src/webhooks/signatures.ts verifies it as the provider documents). The
  // signature header is declared as the credential; it is not a static key.
  const signature = (scheme: string, header: string, description: string) =>
    registry.registerComponent("securitySchemes", scheme, { type: "apiKey", in: "header", name: header, description });
  signature(
    "twilioSignature",
    "X-Twilio-Signature",
    "HMAC-SHA1 of the URL and sorted form fields, keyed by the Auth Token.",
  );
  signature(
    "sendgridSignature",
    "X-Twilio-Email-Event-Webhook-Signature",
    "ECDSA P-256 over timestamp + raw body, verified with the connection's public key.",
  );
  signature(
    "standardWebhooksSignature",
    "webhook-signature",
    "Standard Webhooks HMAC-SHA256 over id.timestamp.body; 5-minute timestamp tolerance.",
  );
  registry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "HS256 (JWT_SECRET, at least 32 bytes) or RS256/ES256/EdDSA from JWKS_URL (then JWT_ISSUER and JWT_AUDIENCE are required); claims sub, exp, tenant_id, permissions, role. Verified per RFC8725 (JSON Web Token Best Current Practices): algorithms pinned per mode, exp required, iss/aud checked.",
  });
  const header = (description: string, required: boolean, example: string, maxLength = 256) => ({
    description,
    required,
    schema: { type: "string" as const, maxLength },
    example,
  });
  registry.registerComponent(
    "headers",
    "X-Request-Id",
    header(
      "The caller's X-Request-Id when well formed, else a new UUID.",
      true,
      "2b0f2d4e-4c1a-4d5e-9f6a-7b8c9d0e1f2a",
    ),
  );
  registry.registerComponent(
    "headers",
    "Server-Timing",
    header(
      "Time of this request (`total`); for staff (view:tenant, manage:operations:tenant, system administrators) also its D1 time, queries and rows. Other callers get no row counts: they would tell whether a row they may not see exists.",
      true,
      'd1;dur=1.2;desc="2 queries, 11 rows read, 0 rows written", total;dur=3.4',
    ),
  );
  registry.registerComponent(
    "headers",
    "x-d1-bookmark",
    header(
      "D1 session bookmark, prefixed with the tenant's shard: send it back to read your own writes from any replica.",
      false,
      "SHARD_0:0000000a-00000001",
    ),
  );
  registry.registerComponent(
    "headers",
    "WWW-Authenticate",
    header("Bearer challenge.", true, 'Bearer error="invalid_token"'),
  );
  registry.registerComponent("headers", "Retry-After", header("Seconds to wait before retrying.", true, "10", 10));
  registry.registerComponent(
    "headers",
    "Cache-Control",
    header("`no-store`: answers carry personal data and are never cached.", true, "no-store", 64),
  );
  registry.registerComponent(
    "headers",
    "Access-Control-Allow-Origin",
    header(
      "The request's Origin, when it is one of CORS_ORIGINS (or CORS_ORIGINS is `*`); absent otherwise.",
      false,
      "https://dashboard.example.com",
      2048,
    ),
  );
  registry.registerComponent(
    "headers",
    "RateLimit-Policy",
    header(
      'The buckets this request counts in (draft-ietf-httpapi-ratelimit-headers): the caller\'s own ("user"), then their tenant\'s staff ("tenant") or customers ("customers") bucket; `q` requests per `w` seconds. Present once the caller passed authentication and the permission check.',
      false,
      '"user";q=300;w=10, "tenant";q=1000;w=10',
    ),
  );
  registry.registerComponent("headers", "X-RateLimit-Limit", {
    description: "Requests the caller may make per 10 seconds (their own bucket). Present with RateLimit-Policy.",
    required: false,
    schema: { type: "integer" as const, format: "int32", minimum: 1, maximum: 1_000_000_000 },
    example: 300,
  });
  registry.registerComponent(
    "headers",
    "Idempotent-Replayed",
    header(
      "`true` when this is the stored response of an earlier request with the same Idempotency-Key.",
      false,
      "true",
    ),
  );
}
