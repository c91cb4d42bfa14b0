/**
 * Provider connections (staff API, ../shared/spec/webhooks.md): which
 * secret or key verifies a provider's webhook calls for a tenant. The
 * secret goes in, sealed (./secrets.ts); it never comes out.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { manageScope, mayManage } from "../communications/access";
import { BASE_PATH } from "../communications/routes";
import { CommonQuery, timestamp } from "../communications/schemas";
import { config } from "../config";
import { PROVIDERS, type Provider } from "../db/schema";
import type { AuthedEnv } from "../env";
import { type MessageKey, translate } from "../i18n/messages";
import { ApiError, badRequest, type FieldError, MAX_MESSAGE_LENGTH } from "../lib/errors";
import { toFieldErrors } from "../lib/validation";
import { bodyErrors, commonErrors, error, failure, invalidJson, json, success } from "../openapi/responses";
import { protectedRoute, WEBHOOK_TAG } from "../openapi/route";
import { tenantDb } from "../shards/tenant-db";
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

export const ConnectionBody = z
  .strictObject({
    auth_token: z
      .string()
      .max(128)
      .regex(/^[\x21-\x7e]{16,128}$/)
      .optional()
      .openapi({ description: "twilio: the account's Auth Token (Console, Account Info)." }),
    public_key: z
      .string()
      .max(1024)
      .regex(/^[A-Za-z0-9+/=\s]{40,1024}$/)
      .optional()
      .openapi({ description: "sendgrid: the Signed Event Webhook's verification key (base64, ECDSA P-256)." }),
    secret: z
      .string()
      .max(512)
      .regex(/^whsec_[A-Za-z0-9+/=]{20,500}$/)
      .optional()
      .openapi({ description: "standard: the endpoint's signing secret, `whsec_<base64>`." }),
  })
  .openapi("ProviderConnectionBody", {
    description: "Exactly the one field of the provider in the path.",
    example: { auth_token: "0123456789abcdef0123456789abcdef" },
  });

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

const EXAMPLE_CONNECTION = {
  provider: "twilio",
  webhook_url:
    "https://api.example.com/delivery/customer-communications/webhooks/twilio/6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
  created_at: "2026-11-28T14:02:55.120Z",
  updated_at: "2026-11-28T14:02:55.120Z",
};

const notFound = error("No connection for this provider.", {
  not_found: failure("Not connected", "provider_not_found"),
});
const notConfigured = {
  ...commonErrors[500].content["application/json"].examples,
  secrets: failure("PROVIDER_SECRETS_KEY is not set", "provider_secrets_not_configured"),
};

export const putProviderRoute = protectedRoute(
  mayManage,
  { reads: false, tag: WEBHOOK_TAG },
  {
    method: "put",
    path: `${PROVIDERS_PATH}/{provider}`,
    operationId: "putProviderConnection",
    summary: "Connect a provider",
    description:
      "Creates or replaces the tenant's connection to a provider; the answer carries the `webhook_url` to paste into the provider's console. The secret is stored encrypted and never returned. Requires manage:operations:tenant.",
    request: {
      params: z.object({ provider: ProviderParam }),
      query: CommonQuery,
      body: { required: true, content: { "application/json": { schema: ConnectionBody } } },
    },
    responses: {
      200: json(ConnectionResponse, "Saved.", { saved: success("provider_saved", { provider: EXAMPLE_CONNECTION }) }),
      400: error("Invalid body: the provider's field is missing, malformed, or another provider's field is given.", {
        ...commonErrors[400].content["application/json"].examples,
        missing: failure("No auth_token for twilio", "validation_failed", [
          { field: "auth_token", key: "field_required" },
        ]),
        invalid_json: invalidJson,
      }),
      500: error("Unexpected error, or provider secrets not configured.", notConfigured),
      ...bodyErrors,
    },
  },
);

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

async function checkSecret(provider: Provider, body: z.infer<typeof ConnectionBody>): Promise<string> {
  const field = SECRET_FIELD[provider];
  const errors: FieldError[] = Object.keys(body)
    .filter((k) => k !== field)
    .map((k) => ({ field: k, message: "field_unknown" }));
  const value = body[field]?.trim();
  if (!value) errors.push({ field, message: "field_required" });
  else if (provider === "sendgrid" && !(await importSendgridKey(value)))
    errors.push({ field, message: "field_invalid" });
  else if (provider === "standard" && !standardSecretKey(value)) errors.push({ field, message: "field_invalid" });
  if (errors.length || !value) throw badRequest(withSecretFormat(errors));
  return value;
}

/** validationHook's errors, a malformed secret's with its expected format (only the PUT's body has secrets). */
function secretFormatHook(result: { success: boolean; error?: z.ZodError; data?: unknown }) {
  if (!result.success && result.error) throw badRequest(withSecretFormat(toFieldErrors(result.error, result.data)));
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

export const providersRouter = new OpenAPIHono<AuthedEnv>({ defaultHook: secretFormatHook })
  .openapi(putProviderRoute, async (c) => {
    const { provider } = c.req.valid("param");
    const { tenantId } = manageScope(c.var.principal, c.req.valid("query"));
    const secret = await checkSecret(provider, c.req.valid("json"));
    const sealed = await encryptSecret(config(c.env).providerSecretsKey, tenantId, provider, secret);
    const row = await new ProviderConnectionStore(await tenantDb(c, tenantId, "write"), tenantId).put(provider, sealed);
    forgetConnection(tenantId, provider);
    const origin = new URL(c.req.url).origin;
    return c.json(
      { success: true as const, message: message(c, "provider_saved"), provider: toConnection(origin, row) },
      200,
    );
  })
  .openapi(listProvidersRoute, async (c) => {
    const { tenantId } = manageScope(c.var.principal, c.req.valid("query"));
    const rows = await new ProviderConnectionStore(await tenantDb(c, tenantId, "read"), tenantId).list();
    const origin = new URL(c.req.url).origin;
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
    const deleted = await new ProviderConnectionStore(await tenantDb(c, tenantId, "write"), tenantId).delete(provider);
    forgetConnection(tenantId, provider);
    if (!deleted) throw new ApiError(404, "provider_not_found");
    return c.json({ success: true as const, message: message(c, "provider_deleted") }, 200);
  });
