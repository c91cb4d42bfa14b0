/**
 * The OpenAPI document: served, committed (openapi.json, validated by
 * `npm run openapi:lint` with an external OpenAPI 3.1 validator), complete
 * (security, parameters, responses, examples, languages), and enforced: the
 * response check that `call()` runs on every response must catch drift.
 */
import { describe, expect, it } from "vitest";
import { DOCS_PATH, DOCS_SCRIPTS } from "../../src/docs";
import { LANGUAGES } from "../../src/i18n/messages";
import { call, callers, communicationBody, newTenant } from "../support/helpers";
import { openApiDocument, responseProblems, schemaProblems, streamItems } from "../support/openapi-contract";

const ORIGIN = "http://api.test";
const doc = openApiDocument();

type Json = Record<string, any>;
const deref = (node: Json): Json => {
  if (!node?.$ref) return node;
  const target = String(node.$ref)
    .replace(/^#\//, "")
    .split("/")
    .reduce<any>((at, seg) => at?.[seg], doc);
  return deref(target);
};
const operations = Object.entries<Json>(doc.paths).flatMap(([path, item]) =>
  Object.entries<Json>(item).map(([method, op]) => ({
    path,
    method,
    op,
    name: `${method.toUpperCase()} ${path}`,
    params: (op.parameters ?? []).map(deref) as Json[],
  })),
);
/** Called by providers, signed by them: no bearer token, no user errors (src/webhooks/routes.ts). */
const isWebhook = (path: string) => path.includes("/webhooks/");
const bearerOperations = operations.filter((o) => !isWebhook(o.path));
const webhookOperations = operations.filter((o) => isWebhook(o.path));

describe("GET /openapi.json", () => {
  it("serves the generated document, identical to the committed openapi.json", async () => {
    const res = await call(`${ORIGIN}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.json).toEqual(doc);
    // `vitest run -u` rewrites openapi.json after an intended change; CI fails on drift.
    await expect(`${JSON.stringify(res.json, null, 2)}\n`).toMatchFileSnapshot("../../openapi.json");
  });

  it("is OpenAPI 3.1 with the bearer scheme required by every operation", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(operations.map((o) => o.name).sort()).toEqual(
      [
        "DELETE /delivery/customer-communications/providers/{provider}",
        "GET /delivery/customer-communications",
        "GET /delivery/customer-communications/admin/shards",
        "GET /delivery/customer-communications/admin/tenants/{tenant_id}",
        "GET /delivery/customer-communications/archive/{date}",
        "GET /delivery/customer-communications/providers",
        "GET /delivery/customer-communications/providers/unmatched",
        "GET /delivery/customer-communications/{id}",
        "GET /delivery/customer-communications/{id}/events",
        "PATCH /delivery/customer-communications/{id}",
        "POST /delivery/customer-communications",
        "POST /delivery/customer-communications/admin/tenants/{tenant_id}/move",
        "POST /delivery/customer-communications/webhooks/sendgrid/{tenant_id}",
        "POST /delivery/customer-communications/webhooks/standard/{tenant_id}",
        "POST /delivery/customer-communications/webhooks/twilio/{tenant_id}",
        "PUT /delivery/customer-communications/providers/sendgrid",
        "PUT /delivery/customer-communications/providers/standard",
        "PUT /delivery/customer-communications/providers/twilio",
        // The live stream (issue 19).
        "GET /delivery/customer-communications/stream",
        "POST /delivery/customer-communications/stream/tickets",
        // Finding and exporting (issue 20).
        "GET /delivery/customer-communications/export",
        // Events out (issue 18).
        "DELETE /delivery/customer-communications/subscriptions/{id}",
        "GET /delivery/customer-communications/subscriptions",
        "GET /delivery/customer-communications/subscriptions/{id}",
        "GET /delivery/customer-communications/subscriptions/{id}/deliveries",
        "PATCH /delivery/customer-communications/subscriptions/{id}",
        "POST /delivery/customer-communications/subscriptions",
        "POST /delivery/customer-communications/subscriptions/{id}/replay",
        "POST /delivery/customer-communications/subscriptions/{id}/secret",
        // Privacy (issue 21)
        "GET /delivery/customer-communications/audit",
        "GET /delivery/customer-communications/erasures",
        "GET /delivery/customer-communications/erasures/{id}",
        "GET /delivery/customer-communications/settings",
        "POST /delivery/customer-communications/erasures",
        "POST /delivery/customer-communications/{id}/redact",
        "PUT /delivery/customer-communications/settings",
      ].sort(),
    );
    for (const { op, name, path } of operations) {
      // Webhooks authenticate by the provider's signature; admin routes declare their own
      // scheme (OWASP API5 admin-security-unique), verified the same way as bearerAuth.
      // Webhooks: the provider's own signature scheme (declared as the header that carries it).
      const webhookScheme = {
        twilio: "twilioSignature",
        sendgrid: "sendgridSignature",
        standard: "standardWebhooksSignature",
      };
      const provider = /\/webhooks\/(\w+)\//.exec(path)?.[1] as keyof typeof webhookScheme;
      const expected = isWebhook(path)
        ? [{ [webhookScheme[provider]]: [] }]
        : name === "GET /delivery/customer-communications/stream"
          ? // The live stream: a bearer token, or its single-use `ticket` parameter (browsers' EventSource).
            [{ bearerAuth: [] }, {}]
          : [name.includes("/admin/") ? { adminBearerAuth: [] } : { bearerAuth: [] }];
      expect(op.security, name).toEqual(expected);
      expect(op.operationId, name).toBeTruthy();
      expect(op.summary, name).toBeTruthy();
      expect(op.description, name).toBeTruthy();
    }
  });

  it("names the two published operations as the seed page does", () => {
    const summaries = operations.map((o) => o.op.summary);
    expect(summaries).toContain("List Customer Communications");
    expect(summaries).toContain("Create Customer Communication");
  });

  it("documents every query parameter of the list, typed, with empty meaning not given", () => {
    const params = Object.fromEntries(
      doc.paths["/delivery/customer-communications"].get.parameters
        .filter((p: Json) => p.in === "query")
        .map((p: Json) => [p.name, p]),
    );
    expect(Object.keys(params).sort()).toEqual(
      [
        "page",
        "limit",
        "cursor",
        "customer_id",
        "delivery_id",
        "type",
        "status",
        "direction",
        "created_after",
        "created_before",
        "provider",
        "provider_message_id",
        "address",
        "q",
        "sort_order",
        "tenant_id",
        "language",
      ].sort(),
    );
    for (const p of Object.values<Json>(params)) {
      expect(p.required, p.name).toBe(false);
      expect(p.allowEmptyValue, p.name).toBe(true);
      expect(p.description, p.name).toBeTruthy();
    }
    expect(params.page.schema).toMatchObject({ type: "integer", minimum: 1, maximum: 1000, default: 1 });
    expect(params.limit.schema).toMatchObject({ type: "integer", minimum: 1, maximum: 100, default: 10 });
    for (const name of ["customer_id", "delivery_id", "tenant_id"]) {
      expect(params[name].schema, name).toMatchObject({ type: "string", format: "uuid" });
    }
    expect(deref(params.type.schema).enum).toEqual(["sms", "email", "push_notification", "call"]);
    expect(deref(params.status.schema).enum).toEqual(["sent", "delivered", "failed", "read"]);
    expect(deref(params.direction.schema).enum).toEqual(["outbound", "inbound"]);
    expect(params.sort_order.schema).toMatchObject({ enum: ["desc", "asc"], default: "desc" });
    expect(params.created_after.schema).toMatchObject({ type: "string", format: "date-time" });
  });

  it("lists the languages on every operation, in the query and through Accept-Language", () => {
    for (const { params, name, path } of operations) {
      const language = params.find((p) => p.name === "language" && p.in === "query");
      // A provider's URL carries no language; its errors follow Accept-Language.
      // An open enum: the four as documented values, any other string accepted (it answers in English).
      if (!isWebhook(path)) {
        expect(language?.schema, name).toMatchObject({
          anyOf: [{ type: "string", enum: [...LANGUAGES] }, { type: "string" }],
          default: "en",
        });
        expect(language?.description, name).toMatch(/Any other value .* English/);
        for (const value of [...LANGUAGES, "de", "ar-SA", "EN"]) {
          expect(schemaProblems(language?.schema, value), `${name} language=${value}`).toEqual([]);
        }
      }
      expect(
        params.some((p) => p.name === "accept-language" && p.in === "header"),
        name,
      ).toBe(true);
    }
    for (const lang of LANGUAGES) expect(doc.info.description).toContain(`\`${lang}\``);
  });

  it("documents the errors of every operation, each with headers and examples", () => {
    for (const { op, name, method } of bearerOperations) {
      // Accepted jobs (a move, a replay, an erasure) are 202; a rotation and a redaction of an existing row 200.
      const ok =
        method === "post"
          ? name.endsWith("/move") || name.endsWith("/replay") || name.endsWith("/erasures")
            ? "202"
            : name.endsWith("/secret") || name.endsWith("/redact")
              ? "200"
              : "201"
          : "200";
      for (const status of [ok, "400", "401", "403", "429", "500", "503"]) {
        expect(op.responses[status], `${name} ${status}`).toBeDefined();
      }
      for (const [status, response] of Object.entries<Json>(op.responses)) {
        expect(response.description, `${name} ${status}`).toBeTruthy();
        expect(response.headers["X-Request-Id"], `${name} ${status}`).toBeDefined();
        const media = Object.values<Json>(response.content)[0]!;
        expect(Object.keys(media.examples ?? {}).length, `${name} ${status} has examples`).toBeGreaterThan(0);
        if (Number(status) >= 400) expect(media.schema).toEqual({ $ref: "#/components/schemas/Error" });
      }
      expect(op.responses["401"].headers["WWW-Authenticate"], name).toBeDefined();
      expect(op.responses["429"].headers["Retry-After"], name).toBeDefined();
      expect(op.responses["503"].headers["Retry-After"], name).toBeDefined();
    }
    for (const { op, name, params } of webhookOperations) {
      for (const status of ["200", "400", "403", "413", "415", "500", "503"]) {
        expect(op.responses[status], `${name} ${status}`).toBeDefined();
      }
      for (const status of ["401", "429"]) expect(op.responses[status], `${name} ${status}`).toBeUndefined();
      expect(op.responses["503"].headers["Retry-After"], name).toBeDefined();
      expect(params.filter((p) => p.in === "header" && /signature/.test(p.name)).length, name).toBeGreaterThan(0);
    }
    const twilio = doc.paths["/delivery/customer-communications/webhooks/twilio/{tenant_id}"].post;
    expect(Object.keys(twilio.requestBody.content)).toEqual(["application/x-www-form-urlencoded"]);
    expect(Object.keys(twilio.responses["200"].content)).toEqual(["text/xml"]);
    const create = doc.paths["/delivery/customer-communications"].post;
    for (const status of ["201", "409", "413", "415"]) expect(create.responses[status], status).toBeDefined();
    expect(create.parameters.some((p: Json) => p.name === "idempotency-key" && p.in === "header")).toBe(true);
    expect(create.requestBody.required).toBe(true);
    // Reads of a tenant's shard take a bookmark; the admin routes, the R2 archive and the live stream
    // (a Durable Object, no D1) do not.
    const shardReads = operations.filter(
      (o) => o.method === "get" && !/\/(admin|archive)\//.test(o.path) && !o.path.endsWith("/stream"),
    );
    // The list, get, events, the provider connections (issue 10), the unmatched provider events
    // (issue 16), the subscriptions' list, get and delivery log (issue 18), the export (issue 20), and
    // audit, erasures (list, one) and settings (issue 21).
    expect(shardReads).toHaveLength(13);
    for (const { params, name } of shardReads) {
      expect(
        params.some((p) => p.name === "x-d1-bookmark" && p.in === "header"),
        name,
      ).toBe(true);
    }
  });

  it("has examples that conform to their own schemas", () => {
    let checked = 0;
    for (const { op, name, params } of operations) {
      for (const [status, response] of Object.entries<Json>(op.responses)) {
        for (const [type, media] of Object.entries<Json>(response.content ?? {})) {
          for (const [exampleName, example] of Object.entries<Json>(media.examples ?? {})) {
            expect(schemaProblems(media.schema, example.value), `${name} ${status} ${exampleName}`).toEqual([]);
            checked++;
            // A streamed body's example: every item against the item schema too.
            if (!media["x-itemSchema"]) continue;
            const items = streamItems(type, example.value);
            expect(items.length, `${name} ${status} ${exampleName} items`).toBeGreaterThan(0);
            for (const item of items) {
              expect("value" in item ? schemaProblems(media["x-itemSchema"], item.value) : [item.error]).toEqual([]);
              checked++;
            }
          }
        }
      }
      for (const p of params) {
        for (const example of [p.example, p.schema.example].filter((e) => e !== undefined)) {
          expect(schemaProblems(p.schema, example), `${name} ${p.name}`).toEqual([]);
          checked++;
        }
      }
      const body = op.requestBody?.content["application/json"]?.schema;
      if (body) {
        expect(schemaProblems(body, deref(body).example), `${name} body`).toEqual([]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });
});

describe("the document as generated clients meet it (issue 23)", () => {
  const STREAMED = ["application/x-ndjson", "text/csv", "text/event-stream"];

  it("describes every streamed body as bounded text, its item as a named component the description names", () => {
    let streamed = 0;
    for (const { op, name } of operations) {
      for (const [status, response] of Object.entries<Json>(op.responses)) {
        for (const [type, media] of Object.entries<Json>(response.content ?? {})) {
          if (!STREAMED.includes(type)) continue;
          streamed++;
          const where = `${name} ${status} ${type}`;
          expect(media.schema, where).toMatchObject({ type: "string", maxLength: expect.any(Number) });
          const ref = media["x-itemSchema"]?.$ref as string;
          expect(ref, where).toMatch(/^#\/components\/schemas\/\w+$/);
          const item = ref.split("/").at(-1)!;
          expect(doc.components.schemas[item], where).toBeDefined();
          expect(media.schema.description, where).toContain(`\`${item}\``);
          expect(media.schema.description, where).toContain('parseAs: "text"');
          // Not OpenAPI 3.2's field itself: the 3.1 meta-schema forbids it.
          expect(media.itemSchema, where).toBeUndefined();
        }
      }
    }
    // The archive today; issue 20's exports and issue 19's live stream when they land.
    expect(streamed).toBeGreaterThanOrEqual(1);
  });

  it("gives each provider's connection its own operation and body, refusing the others' fields", () => {
    const fields = { twilio: "auth_token", sendgrid: "public_key", standard: "secret" } as const;
    for (const [provider, field] of Object.entries(fields)) {
      const put = doc.paths[`/delivery/customer-communications/providers/${provider}`].put;
      const body = put.requestBody.content["application/json"].schema;
      const schema = deref(body);
      expect(schema, provider).toMatchObject({ type: "object", required: [field], additionalProperties: false });
      expect(Object.keys(schema.properties), provider).toEqual([field]);
      expect(schemaProblems(body, schema.example), provider).toEqual([]);
      expect(schemaProblems(body, {}), provider).not.toEqual([]);
      for (const other of Object.values(fields).filter((f) => f !== field)) {
        expect(schemaProblems(body, { [other]: "x".repeat(40) }), `${provider} with ${other}`).not.toEqual([]);
      }
    }
    expect(doc.paths["/delivery/customer-communications/providers/{provider}"].put).toBeUndefined();
  });

  it("states the cross-field rules JSON Schema can state", () => {
    const create = { $ref: "#/components/schemas/CreateCommunication" };
    const base = { customer_id: "3b2a1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d", type: "sms" };
    expect(schemaProblems(create, { ...base, provider_message_id: "SM1" })).not.toEqual([]);
    expect(schemaProblems(create, { ...base, provider_message_id: "SM1", provider: null })).not.toEqual([]);
    expect(schemaProblems(create, { ...base, provider_message_id: "SM1", provider: "twilio" })).toEqual([]);
    expect(schemaProblems(create, { ...base, provider_message_id: null })).toEqual([]);
    expect(schemaProblems(create, base)).toEqual([]);
    const status = { $ref: "#/components/schemas/StandardStatusEvent" };
    const event = { type: "communication.status", data: { status: "delivered", occurred_at: "2026-11-28T14:03:11Z" } };
    expect(schemaProblems(status, event)).not.toEqual([]);
    expect(schemaProblems(status, { ...event, data: { ...event.data, provider_message_id: "SM1" } })).toEqual([]);
    // An inbound event may carry provider_message_id alone: "standard" is then the provider.
    const inbound = { $ref: "#/components/schemas/StandardInboundEvent" };
    expect(
      schemaProblems(inbound, { type: "communication.inbound", data: { type: "sms", provider_message_id: "m1" } }),
    ).toEqual([]);
  });
});

describe("the seed's example requests, verbatim", () => {
  it("list with every parameter present and most of them empty answers 200", async () => {
    const who = callers(newTenant());
    const res = await call(`?page=1&limit=10&customer_id=&delivery_id=&type=&status=&tenant_id=&language=en`, {
      token: await who.admin(),
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ success: true, page: 1, limit: 10, total: 0 });
  });

  it("every optional list parameter may be sent empty", async () => {
    const who = callers(newTenant());
    const params = doc.paths["/delivery/customer-communications"].get.parameters.filter((p: Json) => p.in === "query");
    const res = await call(`?${params.map((p: Json) => `${p.name}=`).join("&")}`, { token: await who.viewer() });
    expect(res.status, res.text).toBe(200);
  });

  it("create with tenant_id= and language=en, Content-Type given twice as curl does", async () => {
    const who = callers(newTenant());
    const res = await call("?tenant_id=&language=en", {
      method: "POST",
      token: await who.admin(),
      rawBody: JSON.stringify(communicationBody()),
      headers: { "content-type": "application/json, application/json" },
    });
    expect(res.status, res.text).toBe(201);
  });
});

describe("the response check that call() applies", () => {
  const json = (body: unknown) => ({ text: JSON.stringify(body), json: JSON.parse(JSON.stringify(body)) });
  const headers = (extra: Record<string, string> = {}) =>
    new Headers({
      "content-type": "application/json",
      "x-request-id": "r1",
      "server-timing": "d1;dur=0",
      "cache-control": "no-store",
      ...extra,
    });
  const list = `${ORIGIN}/delivery/customer-communications`;
  const okList = {
    success: true,
    message: "ok",
    communications: [],
    total: 0,
    total_relation: "eq",
    page: 1,
    limit: 10,
    total_pages: 0,
    next_cursor: null,
  };

  it("accepts a conforming response", () => {
    expect(responseProblems({ method: "GET", url: list, status: 200, headers: headers(), ...json(okList) })).toEqual(
      [],
    );
  });

  it.each([
    ["an undocumented status", 418, okList, {}, /status 418 is not documented/],
    ["a field the document does not describe", 200, { ...okList, secret: 1 }, {}, /additional|secret/i],
    ["a missing required field", 200, { ...okList, total: undefined }, {}, /total/],
    ["a wrong type", 200, { ...okList, page: "1" }, {}, /page/],
    ["a 401 without WWW-Authenticate", 401, { success: false, message: "Unauthorized" }, {}, /WWW-Authenticate/],
    ["an error body outside the envelope", 403, { error: "forbidden" }, {}, /success|message|error/],
    ["a bad enum value in an item", 200, { ...okList, communications: [{ status: "bounced" }] }, {}, /communications/],
  ])("rejects %s", (_what, status, body, extra, pattern) => {
    const problems = responseProblems({ method: "GET", url: list, status, headers: headers(extra), ...json(body) });
    expect(problems.join("\n")).toMatch(pattern);
  });

  it("rejects a body that is not JSON or has another media type", () => {
    const problems = responseProblems({
      method: "GET",
      url: list,
      status: 200,
      headers: headers({ "content-type": "text/plain" }),
      text: "ok",
      json: undefined,
    });
    expect(problems.join("\n")).toMatch(/content-type/);
  });

  it("holds paths that are not operations to the Error schema when they fail", () => {
    const bad = responseProblems({
      method: "GET",
      url: `${ORIGIN}/nope`,
      status: 404,
      headers: headers(),
      ...json({ error: "nope" }),
    });
    expect(bad.length).toBeGreaterThan(0);
    const good = responseProblems({
      method: "DELETE",
      url: list,
      status: 405,
      headers: headers(),
      ...json({ success: false, message: "Method not allowed" }),
    });
    expect(good).toEqual([]);
  });

  it("is applied by call(): the real 404 and 405 answers conform", async () => {
    const notFound = await call(`${ORIGIN}/nope`);
    expect(notFound.status).toBe(404);
    const wrongMethod = await call("", { method: "DELETE" });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET, POST");
  });
});

describe("GET /docs", () => {
  it("serves the API reference page, loading only same-origin scripts", async () => {
    const res = await call(`${ORIGIN}${DOCS_PATH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    for (const src of DOCS_SCRIPTS) expect(res.text).toContain(`<script src="${src}"></script>`);
    expect(res.text).not.toMatch(/https?:\/\//);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
  });

  it("answers 404 in the envelope for other methods", async () => {
    const res = await call(`${ORIGIN}${DOCS_PATH}`, { method: "POST" });
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ success: false });
  });
});
