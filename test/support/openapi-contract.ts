/**
 * Checks a response against the OpenAPI document, so the document cannot
 * drift from the code: `call()` (test/support/helpers.ts) runs this on every response
 * the test suite receives.
 *
 * - A request that matches an operation (path template and method; HEAD is
 *   GET) must answer a status the operation documents, with a documented
 *   media type, a body valid against that response's JSON Schema (2020-12),
 *   and every header the response declares as required.
 * - Anything else (unknown route, wrong method, /openapi.json, /docs) that
 *   answers 4xx/5xx must answer the Error schema.
 *
 * Object schemas are checked closed (`additionalProperties: false` unless the
 * schema says otherwise), so a field the code returns but the document does
 * not describe is a failure too. @cfworker/json-schema runs without eval,
 * which workerd forbids.
 * @see https://spec.openapis.org/oas/v3.1.0#response-object
 */
import { type Schema, Validator } from "@cfworker/json-schema";
import { app } from "../../src/app";
import { OPENAPI_CONFIG } from "../../src/openapi/document";

type Json = Record<string, any>;

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  operation: Json;
}

export interface CheckedResponse {
  method: string;
  url: string;
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

let cached: { doc: Json; strictSchemas: Json; operations: Operation[] } | undefined;
const validators = new Map<string, Validator>();

/** The document `/openapi.json` serves (same generator, same config). */
export function openApiDocument(): Json {
  return load().doc;
}

function load() {
  if (cached) return cached;
  const doc = JSON.parse(JSON.stringify(app.getOpenAPI31Document(OPENAPI_CONFIG))) as Json;
  const strictSchemas = Object.fromEntries(
    Object.entries<Json>(structuredClone(doc.components?.schemas ?? {})).map(([name, schema]) => [
      name,
      closeObjects(schema),
    ]),
  );
  const operations: Operation[] = [];
  for (const [template, item] of Object.entries<Json>(doc.paths ?? {})) {
    const source = template
      .split("/")
      .map((seg) => (/^\{[^}]+\}$/.test(seg) ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("/");
    for (const method of ["get", "put", "post", "delete", "options", "head", "patch", "trace"]) {
      if (item[method]) {
        operations.push({ method, template, pattern: new RegExp(`^${source}$`), operation: item[method] });
      }
    }
  }
  cached = { doc, strictSchemas, operations };
  return cached;
}

/** Schema keywords whose values are schemas (or maps/arrays of them); examples and defaults are left alone. */
function closeObjects(node: unknown): any {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (!node || typeof node !== "object") return node;
  const schema = node as Json;
  for (const key of ["items", "additionalProperties", "not", "if", "then", "else", "contains"]) {
    if (schema[key] && typeof schema[key] === "object") schema[key] = closeObjects(schema[key]);
  }
  for (const key of ["allOf", "anyOf", "oneOf", "prefixItems"]) {
    if (Array.isArray(schema[key])) schema[key] = schema[key].map(closeObjects);
  }
  for (const key of ["properties", "patternProperties", "$defs"]) {
    if (schema[key] && typeof schema[key] === "object") {
      for (const name of Object.keys(schema[key])) schema[key][name] = closeObjects(schema[key][name]);
    }
  }
  const isObject = schema.type === "object" || (Array.isArray(schema.type) && schema.type.includes("object"));
  if (isObject && schema.properties && schema.additionalProperties === undefined && !schema.unevaluatedProperties) {
    schema.additionalProperties = false;
  }
  return schema;
}

function validator(key: string, schema: Json): Validator {
  let v = validators.get(key);
  if (!v) {
    const { strictSchemas } = load();
    const root = { ...closeObjects(structuredClone(schema)), components: { schemas: strictSchemas } };
    v = new Validator(root as Schema, "2020-12", false);
    validators.set(key, v);
  }
  return v;
}

function resolve(node: Json): Json {
  const { doc } = load();
  let current = node;
  for (let depth = 0; current?.$ref && depth < 10; depth++) {
    const path = String(current.$ref).replace(/^#\//, "").split("/");
    current = path.reduce<any>((at, seg) => at?.[seg.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
  }
  if (!current) throw new Error(`unresolved $ref ${node.$ref}`);
  return current;
}

function findOperation(method: string, path: string) {
  const { operations } = load();
  const m = method.toLowerCase() === "head" ? "get" : method.toLowerCase();
  const pathMatches = operations.filter((o) => o.pattern.test(path));
  return { operation: pathMatches.find((o) => o.method === m), pathKnown: pathMatches.length > 0 };
}

function mediaType(headers: Headers): string {
  return (headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

function validateBody(key: string, schema: Json, res: CheckedResponse, problems: string[]) {
  if (res.json === undefined) {
    problems.push(`body is not JSON: ${res.text.slice(0, 200)}`);
    return;
  }
  const result = validator(key, schema).validate(res.json);
  if (!result.valid) {
    // The innermost errors name the offending location; the outer ones only say "a subschema had errors".
    const detail = result.errors
      .filter((e) => !/subschema|items did not match|Property .* does not match schema/i.test(e.error))
      .map((e) => `${e.instanceLocation}: ${e.error}`);
    problems.push(...(detail.length ? detail : result.errors.map((e) => `${e.instanceLocation}: ${e.error}`)));
  }
}

/** Errors of `value` against `schema` (which may $ref the document's components), checked closed. */
export function schemaProblems(schema: Json, value: unknown): string[] {
  const result = validator(JSON.stringify(schema), schema).validate(value);
  return result.valid ? [] : result.errors.map((e) => `${e.instanceLocation}: ${e.error}`);
}

/**
 * Returns what is wrong with a response, per the document; [] when it conforms.
 */
export function responseProblems(res: CheckedResponse): string[] {
  const problems: string[] = [];
  const path = new URL(res.url).pathname;
  const { operation } = findOperation(res.method, path);

  if (!operation) {
    if (res.status >= 400) {
      if (mediaType(res.headers) !== "application/json") {
        problems.push(`content-type ${res.headers.get("content-type")} is not application/json`);
      }
      validateBody("error", { $ref: "#/components/schemas/Error" }, res, problems);
    }
    return problems;
  }

  const responses: Json = operation.operation.responses ?? {};
  const code = String(res.status);
  const documented = responses[code] ?? responses[`${code[0]}XX`] ?? responses.default;
  if (!documented) {
    return [`status ${code} is not documented for ${operation.method.toUpperCase()} ${operation.template}`];
  }
  const response = resolve(documented);

  for (const [name, declared] of Object.entries<Json>(response.headers ?? {})) {
    const header = resolve(declared);
    if (header.required && !res.headers.has(name)) problems.push(`required header ${name} is missing`);
  }

  const content: Json = response.content ?? {};
  const types = Object.keys(content);
  if (types.length === 0) {
    if (res.text !== "") problems.push("the document declares no body, but one was sent");
    return problems;
  }
  const type = mediaType(res.headers);
  const media = content[type];
  if (!media) {
    problems.push(`content-type ${res.headers.get("content-type")} is not one of ${types.join(", ")}`);
    return problems;
  }
  if (res.method.toUpperCase() !== "HEAD" && media.schema) {
    const key = `${operation.method} ${operation.template} ${code} ${type}`;
    if (media["x-itemSchema"]) {
      // A streamed body (src/openapi/responses.ts, streamed()): the text
      // against the string schema (its bound), every item against the item schema.
      validateBody(`${key} text`, media.schema, { ...res, json: res.text }, problems);
      for (const item of streamItems(type, res.text)) {
        if ("error" in item) problems.push(item.error);
        else validateBody(`${key} item`, media["x-itemSchema"], { ...res, json: item.value }, problems);
      }
    } else if (/json/.test(type)) {
      validateBody(key, media.schema, res, problems);
    } else {
      // Other text bodies (Twilio's TwiML answer, text/xml) are documented as strings.
      validateBody(key, media.schema, { ...res, json: res.text }, problems);
    }
  }
  return problems;
}

/**
 * The items of a streamed body, as its media type frames them: NDJSON lines,
 * the JSON `data:` of server-sent events, CSV rows as objects keyed by the
 * header (values as strings: CSV has no types).
 */
export function streamItems(type: string, text: string): ({ value: unknown } | { error: string })[] {
  const json = (raw: string) => {
    try {
      return { value: JSON.parse(raw) as unknown };
    } catch {
      return { error: `an item is not JSON: ${raw.slice(0, 200)}` };
    }
  };
  if (type === "application/x-ndjson") return text.split("\n").filter(Boolean).map(json);
  if (type === "text/event-stream") {
    return text
      .split(/\r?\n\r?\n/)
      .map((frame) =>
        frame
          .split(/\r?\n/)
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).replace(/^ /, ""))
          .join("\n"),
      )
      .filter(Boolean)
      .map(json);
  }
  if (type === "text/csv") {
    // The export's CSV starts with a byte order mark, for spreadsheets.
    const [names = [], ...rows] = parseCsv(text.replace(/^\uFEFF/, ""));
    return rows.map((row) => ({ value: Object.fromEntries(row.map((v, i) => [names[i] ?? `${i}`, v])) }));
  }
  return [{ error: `no framing known for ${type}` }];
}

/** A whole CSV body, RFC 4180: quoted fields may hold commas, quotes ("") and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

/** Throws when the response does not conform, naming the operation and each problem. */
export function assertConforms(res: CheckedResponse): void {
  const problems = responseProblems(res);
  if (problems.length > 0) {
    throw new Error(
      `response does not conform to the OpenAPI document: ${res.method.toUpperCase()} ${new URL(res.url).pathname} -> ${res.status}\n  ${problems.join("\n  ")}\n  body: ${res.text.slice(0, 500)}`,
    );
  }
}
