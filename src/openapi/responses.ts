/**
 * Shared pieces of the OpenAPI document's responses: the headers every
 * answer carries, JSON bodies with named examples, and the error responses
 * that every protected route can give. Examples use the real English
 * messages of the catalogue, so the document cannot drift from the service.
 */
import { z } from "@hono/zod-openapi";
import { ErrorResponse } from "../communications/schemas";
import { type MessageKey, type MessageParams, translate } from "../i18n/messages";

/** Response headers, declared once as components in ./document.ts. */
export const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });
/** Headers on every response (set by src/middleware/context.ts). */
export const everyResponse = {
  "X-Request-Id": headerRef("X-Request-Id"),
  "Server-Timing": headerRef("Server-Timing"),
  "x-d1-bookmark": headerRef("x-d1-bookmark"),
  "Cache-Control": headerRef("Cache-Control"),
  "Access-Control-Allow-Origin": headerRef("Access-Control-Allow-Origin"),
  // Set by src/middleware/rate-limit.ts once the caller passed the permission check.
  "RateLimit-Policy": headerRef("RateLimit-Policy"),
  "X-RateLimit-Limit": headerRef("X-RateLimit-Limit"),
};

interface NamedExample {
  summary: string;
  value: unknown;
}

export const json = <T extends z.ZodType>(
  schema: T,
  description: string,
  examples: Record<string, NamedExample>,
  headers: Record<string, { $ref: string }> = {},
) => ({
  description,
  headers: { ...everyResponse, ...headers },
  content: { "application/json": { schema, examples } },
});

/** An error example with the real English message from the catalogue. */
export const failure = (
  summary: string,
  key: MessageKey,
  errors?: { field: string; key: MessageKey; params?: MessageParams }[],
): NamedExample => ({
  summary,
  value: {
    success: false,
    message: translate("en", key),
    ...(errors && {
      errors: errors.map((e) => ({ field: e.field, message: translate("en", e.key, { field: e.field, ...e.params }) })),
    }),
  },
});

export const error = (description: string, examples: Record<string, NamedExample>, headers = {}) =>
  json(ErrorResponse, description, examples, headers);

export const success = (key: MessageKey, fields: Record<string, unknown>): NamedExample => ({
  summary: translate("en", key),
  value: { success: true, message: translate("en", key), ...fields },
});

/** Errors any authenticated route can answer. */
export const commonErrors = {
  400: error("Invalid query, path, header or body; `errors` names each field.", {
    validation: failure("A parameter out of range", "validation_failed", [
      { field: "limit", key: "field_too_big", params: { max: "100" } },
    ]),
    tenant: failure("A system administrator without tenant_id", "validation_failed", [
      { field: "tenant_id", key: "field_tenant_required" },
    ]),
  }),
  401: error(
    "Missing, invalid or expired bearer token (with `WWW-Authenticate: Bearer`).",
    {
      missing: failure("No Authorization header", "unauthorized"),
      invalid: failure("Bad signature, expired, wrong issuer or audience", "token_invalid"),
    },
    { "WWW-Authenticate": headerRef("WWW-Authenticate") },
  ),
  403: error("Not allowed: permission, tenant or customer mismatch.", {
    permission: failure("The caller lacks the permission", "forbidden"),
    tenant: failure("tenant_id differs from the token's tenant", "tenant_mismatch"),
    customer: failure("A customer asked for another customer_id", "customer_mismatch"),
    no_tenant: failure("A token without tenant_id (and not a system administrator)", "no_tenant"),
  }),
  429: error(
    "Rate limited per tenant or per user (with `Retry-After`).",
    { rate_limited: failure("Too many requests", "rate_limited") },
    { "Retry-After": headerRef("Retry-After") },
  ),
  500: error("Unexpected error; never contains internals.", {
    internal: failure("Anything unexpected", "internal_error"),
    not_configured: failure("Neither JWT_SECRET nor JWKS_URL is configured", "auth_not_configured"),
  }),
  503: error(
    "Database or signing keys temporarily unavailable (with `Retry-After`).",
    {
      database: failure("D1 unavailable", "db_unavailable"),
      keys: failure("The JWKS endpoint failed and no key is cached", "auth_keys_unavailable"),
    },
    { "Retry-After": headerRef("Retry-After") },
  ),
} as const;

export const notFoundError = error("Not found, or not visible to the caller (never confirms that it exists).", {
  not_found: failure("Unknown id, or another tenant's or customer's", "not_found"),
});
export const bodyErrors = {
  413: error("Body larger than the limit (256 KiB).", { too_large: failure("Body too large", "body_too_large") }),
  415: error("Body is not application/json.", {
    media_type: failure("Content-Type is not application/json", "unsupported_media_type"),
  }),
} as const;
export const invalidJson = failure("The body is not JSON", "invalid_json");

// --- Streamed bodies (issue 23) ---------------------------------------------

/** Media types whose body is a sequence of items, read as text or as a stream. */
export type StreamMediaType = "application/x-ndjson" | "text/csv" | "text/event-stream";

const FRAMING: Record<StreamMediaType, (item: string) => string> = {
  "application/x-ndjson": (item) =>
    `Newline-delimited JSON (NDJSON): one \`${item}\` object (components/schemas/${item}) per line, each line ending in \\n.`,
  "text/csv": (item) =>
    `CSV (RFC 4180, UTF-8) with a header row: one \`${item}\` (components/schemas/${item}) per row, the columns named as its properties.`,
  "text/event-stream": (item) =>
    `Server-sent events: the \`data:\` of each event is one \`${item}\` (components/schemas/${item}) as JSON.`,
};
const READING =
  'Read it as text, not as one JSON document: with openapi-fetch, `parseAs: "text"` (the whole body) or `parseAs: "stream"` (item by item, as it arrives).';

/**
 * Line (row, frame) schemas of streamed bodies. Only `x-itemSchema` refers to
 * them, which the generator does not follow: ./document.ts registers them.
 */
export const streamItemSchemas = new Map<string, z.ZodType>();

/**
 * The response of a streamed body (NDJSON, CSV, server-sent events),
 * described as what it is on the wire: a string, whose description names the
 * item's component schema. The item schema is a named component, also
 * referenced from `x-itemSchema`: OpenAPI 3.2's `itemSchema`, under an
 * extension name because the 3.1 meta-schema forbids the field in a Media
 * Type Object (swagger-parser and Spectral's oas3-schema reject it; no
 * generator we use reads it yet); test/support/openapi-contract.ts reads it
 * to check every line of every streamed answer the tests receive.
 *
 * `item` is the shape of one NDJSON line, one `data:` of an event (JSON), or
 * one CSV row as its header names the columns (values as strings: CSV has
 * no types). `maxLength` bounds the whole body in characters (OWASP API4
 * asks every string for a bound): state at the call why the body cannot be
 * longer. `example` is the body as sent (a few items, in the media type's
 * framing); test/openapi/openapi.test.ts checks each of its items against
 * the item schema. A response offered in two media types (NDJSON or CSV):
 * merge the `content` of two calls.
 */
export function streamed({
  mediaType,
  description,
  item,
  maxLength,
  example,
  headers = everyResponse,
}: {
  mediaType: StreamMediaType;
  description: string;
  item: { name: string; schema: z.ZodType };
  maxLength: number;
  example: NamedExample & { value: string };
  headers?: Record<string, { $ref: string }>;
}) {
  streamItemSchemas.set(item.name, item.schema);
  return {
    description,
    headers,
    content: {
      [mediaType]: {
        schema: z
          .string()
          .max(maxLength)
          .openapi({ description: `${FRAMING[mediaType](item.name)} ${READING}` }),
        "x-itemSchema": { $ref: `#/components/schemas/${item.name}` },
        examples: { stream: example },
      },
    },
  };
}

/** The errors `address` and `q` add to the routes that take them (search.md): the list and the export. */
export const searchErrors = {
  400: error("Invalid query; `errors` names each field (a malformed `address` or `q` included).", {
    ...commonErrors[400].content["application/json"].examples,
    address: failure("A phone number without +", "validation_failed", [
      { field: "address", key: "field_address_invalid" },
    ]),
    query: failure("A quote left open in q", "validation_failed", [{ field: "q", key: "field_query_quote" }]),
  }),
  503: error(
    "D1 unavailable, or (with `address` or `q`) the tenant's earlier communications are still being indexed (with `Retry-After`).",
    {
      ...commonErrors[503].content["application/json"].examples,
      search: failure("The search index is still being built", "search_not_ready"),
    },
    commonErrors[503].headers,
  ),
} as const;
