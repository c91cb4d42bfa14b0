/**
 * Provider connections (staff API, ../shared/spec/webhooks.md): which
 * secret or key verifies a provider's webhook calls for a tenant. The
 * secret goes in, sealed (./secrets.ts); it never comes out.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import { actorOf, auditInsert } from "../audit/store";
import { manageScope, mayManage } from "../communications/access";
import { BASE_PATH } from "../communications/routes";
import { CommonQuery, timestamp } from "../communications/schemas";
import { config } from "../config";
import { PROVIDERS, type Provider } from "../db/schema";
import type { AuthedEnv } from "../env";
import { type MessageKey, translate } from "../i18n/messages";
import { ApiError, badRequest, type FieldError, MAX_MESSAGE_LENGTH } from "../lib/errors";
import { publicOrigin } from "../lib/public-url";
import { toFieldErrors } from "../lib/validation";
import { allow, requireAuth } from "../middleware/auth";
import { rateLimit } from "../middleware/rate-limit";
import { bodyErrors, commonErrors, error, failure, invalidJson, json, success } from "../openapi/responses";
import { protectedRoute, WEBHOOK_TAG } from "../openapi/route";
import { onTenantShard, tenantDb } from "../shards/tenant-db";
import { forgetConnection } from "../webhooks/connections";
import { importSendgridKey, standardSecretKey } from "../webhooks/signatures";
import { SECRET_FIELD } from "./secret-fields";
import { encryptSecret } from "./secrets";
import { ProviderConnectionStore } from "./store";

export const PROVIDERS_PATH = `${BASE_PATH}/providers`;
export const WEBHOOKS_PATH = `${BASE_PATH}/webhooks`;

/** Where a tenant's provider posts: the tenant is in the path, so the call is routed to its database first. */
export const webhookUrl = (origin: string, provider: Provider, tenantId: string) =>
  `${origin}${WEBHOOKS_PATH}/${provider}/${tenantId}`;

export const ProviderParam = z.enum(PROVIDERS).openapi("ProviderKind", {
  param: { name: "provider", in: "path" },
  description: "twilio, sendgrid or standard (Standard Webhooks).",
  example: "twilio",
});

/**
 * The PUT body of each provider: its own schema with its one required field,
 * so that a generated client refuses what the service refuses (issue 23).
 * Value checks JSON Schema cannot state (the SendGrid key imports as P-256,
 * the whsec_ secret decodes to 16+ bytes) stay in checkSecret().
 */
const CONNECTION_BODIES = {
  twilio: z
    .strictObject({
      auth_token: z
        .string()
        .max(128)
        .regex(/^[\x21-\x7e]{16,128}$/)
        .openapi({ description: "The account's Auth Token (Twilio Console, Account Info)." }),
    })
    .openapi("TwilioConnectionBody", { example: { auth_token: "0123456789abcdef0123456789abcdef" } }),
  sendgrid: z
    .strictObject({
      public_key: z
        .string()
        .max(1024)
        .regex(/^[A-Za-z0-9+/=\s]{40,1024}$/)
        .openapi({ description: "The Signed Event Webhook's verification key (base64, ECDSA P-256)." }),
    })
    .openapi("SendgridConnectionBody", {
      example: {
        public_key:
          "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFpZFsXoAL3mvTzXSpxx/PVcDIlYRfcnuBYga+bCRY+2EjtQYtOAaHJAOHnrJaTnGS5zEJTiFHi3mYxRrjZeqkA==",
      },
    }),
  standard: z
    .strictObject({
      secret: z
        .string()
        .max(512)
        .regex(/^whsec_[A-Za-z0-9+/=]{20,500}$/)
        .openapi({ description: "The endpoint's signing secret, `whsec_<base64>` (at least 16 key bytes)." }),
    })
    .openapi("StandardConnectionBody", { example: { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" } }),
} as const;

const PROVIDER_LABELS: Record<Provider, string> = {
  twilio: "Twilio",
  sendgrid: "SendGrid",
  standard: "a Standard Webhooks sender",
};

export const Connection = z
  .object({
    provider: ProviderParam,
    webhook_url: z.string().max(2048).openapi({
      format: "uri",
      example:
        "https://api.example.com/delivery/customer-communications/webhooks/twilio/6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    }),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .openapi("ProviderConnection");

const envelope = <T extends z.ZodRawShape>(name: string, shape: T) =>
  z.object({ success: z.literal(true), message: z.string().max(MAX_MESSAGE_LENGTH), ...shape }).openapi(name);

const ConnectionResponse = envelope("ProviderConnectionItem", { provider: Connection });
const ConnectionList = envelope("ProviderConnectionList", { providers: z.array(Connection).max(PROVIDERS.length) });
const Deleted = envelope("ProviderConnectionDeleted", {});

const exampleUrl = (provider: Provider) =>
  webhookUrl("https://api.example.com", provider, "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b");
const EXAMPLE_CONNECTION = {
  provider: "twilio",
  webhook_url: exampleUrl("twilio"),
  created_at: "2026-11-28T14:02:55.120Z",
  updated_at: "2026-11-28T14:02:55.120Z",
};

const notFound = error("No connection for this provider.", {
  not_found: failure("Not connected", "provider_not_found"),
});
const publicUrlInvalid = failure("PUBLIC_BASE_URL is set but not an origin", "public_base_url_invalid");
const notConfigured = {
  ...commonErrors[500].content["application/json"].examples,
  secrets: failure("PROVIDER_SECRETS_KEY is not set", "provider_secrets_not_configured"),
  public_url: publicUrlInvalid,
};
/** Routes that hand out webhook URLs also fail when PUBLIC_BASE_URL is unusable. */
const urlsNotConfigured = error("Unexpected error, or PUBLIC_BASE_URL unusable.", {
  ...commonErrors[500].content["application/json"].examples,
  public_url: publicUrlInvalid,
});

/**
 * One PUT operation per provider (`PUT /providers/twilio`, ...), each with its
 * own body: a path parameter cannot select a body schema, and a body
 * discriminated by a new field would change what existing callers send. The
 * URLs are the ones `PUT /providers/{provider}` always had.
 */
const putConnectionRoute = <P extends Provider>(provider: P) =>
  protectedRoute(
    mayManage,
    { reads: false, tag: WEBHOOK_TAG },
    {
      method: "put",
      path: `${PROVIDERS_PATH}/${provider}`,
      operationId: `put${provider[0]!.toUpperCase()}${provider.slice(1)}Connection`,
      summary: `Connect ${PROVIDER_LABELS[provider]}`,
      description: `Creates or replaces the tenant's connection to ${PROVIDER_LABELS[provider]}; the answer carries the \`webhook_url\` to paste into the provider's console (on PUBLIC_BASE_URL when the service sets one). The secret is stored encrypted and never returned. Requires manage:operations:tenant.`,
      request: {
        query: CommonQuery,
        body: { required: true, content: { "application/json": { schema: CONNECTION_BODIES[provider] } } },
      },
      responses: {
        200: json(ConnectionResponse, "Saved.", {
          saved: success("provider_saved", {
            provider: { ...EXAMPLE_CONNECTION, provider, webhook_url: exampleUrl(provider) },
          }),
        }),
        400: error("Invalid body: the provider's field is missing or malformed, or another field is given.", {
          ...commonErrors[400].content["application/json"].examples,
          missing: failure(`No ${SECRET_FIELD[provider]}`, "validation_failed", [
            { field: SECRET_FIELD[provider], key: "field_required" },
          ]),
          invalid_json: invalidJson,
        }),
        500: error("Unexpected error, provider secrets or the public URL not configured.", notConfigured),
        ...bodyErrors,
      },
    },
  );

/** The field each provider's PUT body carries. */

/** What a valid secret of each field looks like, said when one is malformed (issue 17). */
const SECRET_FORMAT = {
  auth_token: "field_provider_auth_token",
  public_key: "field_provider_public_key",
  secret: "field_provider_secret",
} as const satisfies Record<(typeof SECRET_FIELD)[Provider], MessageKey>;

/** A malformed secret (wrong pattern, too long, not a key) is answered with its expected format. */
const withSecretFormat = (errors: FieldError[]): FieldError[] =>
  errors.map((e) =>
    e.field in SECRET_FORMAT && e.message !== "field_required" && e.message !== "field_unknown"
      ? { field: e.field, message: SECRET_FORMAT[e.field as keyof typeof SECRET_FORMAT] }
      : e,
  );

/** validationHook's errors, a malformed secret's with its expected format (only the PUTs' bodies have secrets). */
function secretFormatHook(result: { success: boolean; error?: z.ZodError; data?: unknown }) {
  if (!result.success && result.error) throw badRequest(withSecretFormat(toFieldErrors(result.error, result.data)));
}

export const putTwilioRoute = putConnectionRoute("twilio");
export const putSendgridRoute = putConnectionRoute("sendgrid");
export const putStandardRoute = putConnectionRoute("standard");

export const listProvidersRoute = protectedRoute(
  mayManage,
  { reads: true, tag: WEBHOOK_TAG },
  {
    method: "get",
    path: PROVIDERS_PATH,
    operationId: "listProviderConnections",
    summary: "List provider connections",
    description: "The tenant's provider connections and their webhook URLs. Requires manage:operations:tenant.",
    request: { query: CommonQuery },
    responses: {
      200: json(ConnectionList, "The connections.", {
        list: success("providers_ok", { providers: [EXAMPLE_CONNECTION] }),
      }),
      500: urlsNotConfigured,
    },
  },
);

export const deleteProviderRoute = protectedRoute(
  mayManage,
  { reads: false, tag: WEBHOOK_TAG },
  {
    method: "delete",
    path: `${PROVIDERS_PATH}/{provider}`,
    operationId: "deleteProviderConnection",
    summary: "Disconnect a provider",
    description:
      "Removes the connection: its webhook URL answers 403 from then on (other isolates within a minute). Requires manage:operations:tenant.",
    request: { params: z.object({ provider: ProviderParam }), query: CommonQuery },
    responses: {
      200: json(Deleted, "Deleted.", { deleted: success("provider_deleted", {}) }),
      404: notFound,
    },
  },
);

const message = (c: Context<AuthedEnv>, key: Parameters<typeof translate>[1]) => translate(c.var.lang, key);

/** What the body's schema cannot check: the key material itself. */
async function checkSecret(provider: Provider, given: string): Promise<string> {
  const field = SECRET_FIELD[provider];
  const value = given.trim();
  const usable =
    value &&
    (provider === "sendgrid"
      ? Boolean(await importSendgridKey(value))
      : provider === "standard"
        ? Boolean(standardSecretKey(value))
        : true);
  if (!value) throw badRequest([{ field, message: "field_required" }]);
  if (!usable) throw badRequest(withSecretFormat([{ field, message: "field_invalid" }]));
  return value;
}

const toConnection = (
  origin: string,
  row: { provider: Provider; tenant_id: string; created_at: string; updated_at: string },
) => ({
  provider: row.provider,
  webhook_url: webhookUrl(origin, row.provider, row.tenant_id),
  created_at: row.created_at,
  updated_at: row.updated_at,
});

/** The PUT of every provider: seal the secret, store it, answer with the webhook URL. */
async function connect(c: Context<AuthedEnv>, provider: Provider, query: z.infer<typeof CommonQuery>, given: string) {
  const { tenantId } = manageScope(c.var.principal, query);
  const secret = await checkSecret(provider, given);
  // Before any write: a misconfigured PUBLIC_BASE_URL fails the call rather than storing half of it.
  const origin = publicOrigin(c.env, c.req.url);
  const sealed = await encryptSecret(config(c.env).providerSecretsKey, tenantId, provider, secret);
  const row = await onTenantShard(c, tenantId, "write", (db) =>
    new ProviderConnectionStore(db, tenantId).put(
      provider,
      sealed,
      // The connection and its audit entry in one batch (src/audit/store.ts).
      auditInsert(db, tenantId, {
        action: "provider.connected",
        actor: actorOf(c.var.principal),
        target: { kind: "provider", id: provider },
        requestId: c.var.requestId,
      }).statement,
    ),
  );
  forgetConnection(tenantId, provider);
  return c.json(
    { success: true as const, message: message(c, "provider_saved"), provider: toConnection(origin, row) },
    200,
  );
}

export const providersRouter = new OpenAPIHono<AuthedEnv>({ defaultHook: secretFormatHook })
  .openapi(putTwilioRoute, (c) => connect(c, "twilio", c.req.valid("query"), c.req.valid("json").auth_token))
  .openapi(putSendgridRoute, (c) => connect(c, "sendgrid", c.req.valid("query"), c.req.valid("json").public_key))
  .openapi(putStandardRoute, (c) => connect(c, "standard", c.req.valid("query"), c.req.valid("json").secret))
  .openapi(listProvidersRoute, async (c) => {
    const { tenantId } = manageScope(c.var.principal, c.req.valid("query"));
    const origin = publicOrigin(c.env, c.req.url);
    const rows = await new ProviderConnectionStore(await tenantDb(c, tenantId, "read"), tenantId).list();
    return c.json(
      {
        success: true as const,
        message: message(c, "providers_ok"),
        providers: rows.map((r) => toConnection(origin, r)),
      },
      200,
    );
  })
  .openapi(deleteProviderRoute, async (c) => {
    const { provider } = c.req.valid("param");
    const { tenantId } = manageScope(c.var.principal, c.req.valid("query"));
    const deleted = await onTenantShard(c, tenantId, "write", (db) =>
      new ProviderConnectionStore(db, tenantId).delete(
        provider,
        // Written only if the connection existed: a 404 is no action.
        auditInsert(
          db,
          tenantId,
          {
            action: "provider.disconnected",
            actor: actorOf(c.var.principal),
            target: { kind: "provider", id: provider },
            requestId: c.var.requestId,
          },
          { when: sql`changes() = 1` },
        ).statement,
      ),
    );
    forgetConnection(tenantId, provider);
    if (!deleted) throw new ApiError(404, "provider_not_found");
    return c.json({ success: true as const, message: message(c, "provider_deleted") }, 200);
  })
  // A PUT naming no known provider: the 400 naming `provider` that the single
  // `PUT /providers/{provider}` route gave before issue 23, after the same
  // authentication, permission check and rate limit. Not an operation of the
  // document: generated clients cannot call it.
  .put(`${PROVIDERS_PATH}/:provider`, requireAuth, allow(mayManage), rateLimit, () => {
    throw badRequest([{ field: "provider", message: "field_invalid_value", params: { values: PROVIDERS.join(", ") } }]);
  });
