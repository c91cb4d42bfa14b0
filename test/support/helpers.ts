/**
 * Test helpers: tokens for each kind of caller, and a `call()` that sends a
 * request through the Worker's own fetch handler (the deployed entry point)
 * and checks every response against the OpenAPI document.
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { SignJWT } from "jose";
import { vi } from "vitest";
import worker from "../../src/index";
import { shardBinding, shardNames } from "../../src/shards/config";
import { assertConforms } from "./openapi-contract";

export const BASE = "http://api.test/delivery/customer-communications";

export interface TokenClaims {
  sub?: string;
  tenant_id?: string | null;
  permissions?: string[];
  is_system_admin?: boolean;
  role?: string | null;
  customer_id?: string;
  [claim: string]: unknown;
}

export async function signToken(
  claims: TokenClaims,
  opts: { secret?: string; expiresIn?: string | number; alg?: string } = {},
): Promise<string> {
  const { sub = crypto.randomUUID(), ...rest } = claims;
  return new SignJWT(rest as Record<string, unknown>)
    .setProtectedHeader({ alg: opts.alg ?? "HS256", typ: "JWT" })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? "10m")
    .sign(new TextEncoder().encode(opts.secret ?? env.JWT_SECRET));
}

/** The kinds of caller contract.md distinguishes, for one tenant. */
export function callers(tenantId: string) {
  const customerId = crypto.randomUUID();
  return {
    customerId,
    admin: () => signToken({ tenant_id: tenantId, role: "tenant_admin", permissions: ["manage:operations:tenant"] }),
    viewer: () => signToken({ tenant_id: tenantId, role: "dispatcher", permissions: ["view:tenant"] }),
    driver: () => signToken({ tenant_id: tenantId, role: "driver", permissions: ["manage:module:delivery"] }),
    customer: (id = customerId) => signToken({ tenant_id: tenantId, customer_id: id }),
    customerBySub: (id = customerId) => signToken({ sub: id, tenant_id: tenantId }),
    systemAdmin: () => signToken({ is_system_admin: true, permissions: [] }),
  };
}

export interface CallOptions {
  method?: string;
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  /**
   * Bindings to replace for this request only (a failing D1, a JWKS_URL, a
   * limiter double...). The request then goes to the Worker's fetch with
   * those bindings; its response is checked against the document all the same.
   */
  env?: Partial<Env>;
}

/**
 * Sends one request through the Worker. Throws when the response does not
 * conform to the OpenAPI document (test/support/openapi-contract.ts): an undocumented
 * status, media type, body shape or missing required header fails the test.
 */
export async function call(path: string, opts: CallOptions = {}) {
  const headers = new Headers(opts.headers);
  if (opts.token) headers.set("authorization", `Bearer ${opts.token}`);
  let body: string | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const url = path.startsWith("http") ? path : `${BASE}${path}`;
  const method = opts.method ?? "GET";
  // redirect: manual, so a 3xx is seen as the Worker answered it.
  const request = new Request(url, { method, headers, body, redirect: "manual" });
  const res = opts.env ? await fetchWithEnv(request, opts.env) : await exports.default.fetch(request);
  // Bytes decoded as UTF-8, as every body here is: workerd warns on `.text()`
  // of a body whose type is not text (the archive's NDJSON).
  const text = new TextDecoder().decode(await res.arrayBuffer());
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  assertConforms({ method, url, status: res.status, headers: res.headers, text, json });
  return { status: res.status, headers: res.headers, json, text };
}

/** A request's D1 figures, as its log line states them. */
export interface D1Cost {
  queries: number;
  read: number;
  written: number;
}

/**
 * call(), plus the request's D1 figures from its log line (the `d1` field).
 * Server-Timing shows row counts to staff only, so a customer's cost is read here.
 */
export async function callMeasured(path: string, opts: CallOptions = {}) {
  const spy = vi.isMockFunction(console.log) ? console.log : vi.spyOn(console, "log");
  const mock = spy as unknown as { mock: { calls: unknown[][] } };
  const before = mock.mock.calls.length;
  const res = await call(path, opts);
  const lines = mock.mock.calls.slice(before).map(([line]) => {
    try {
      return JSON.parse(String(line));
    } catch {
      return undefined;
    }
  });
  const logged = lines.findLast((l) => l?.msg === "request")?.d1;
  if (!logged) throw new Error(`no request log line for ${path}`);
  const d1: D1Cost = { queries: logged.queries, read: logged.rows_read, written: logged.rows_written };
  return { ...res, d1 };
}

async function fetchWithEnv(request: Request, overrides: Partial<Env>) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

export const newTenant = () => crypto.randomUUID();

/**
 * `SELECT count(*)` straight from D1 (not through the API): what is really
 * stored, summed over every shard (a tenant's rows are all in one of them).
 */
export async function countSql(sql: string, ...params: unknown[]): Promise<number> {
  let n = 0;
  for (const shard of shardNames(env)) {
    const row = await shardBinding(env, shard)
      .prepare(sql)
      .bind(...params)
      .first<{ n: number }>();
    n += row?.n ?? 0;
  }
  return n;
}

/** Rows of one tenant in a table, straight from D1. */
export const countRows = (
  tenant: string,
  table: "communications" | "idempotency_keys" | "communication_events" = "communications",
) => countSql(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = ?`, tenant);

/** Every id a list walk returns, following next_cursor from the first page to the last. */
export async function walkIds(token: string, params: Record<string, string | number | undefined> = {}) {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const res = await call(qs({ limit: 100, ...params, cursor }), { token });
    if (res.status !== 200) throw new Error(`walk failed: ${res.status} ${res.text}`);
    ids.push(...res.json.communications.map((c: { id: string }) => c.id));
    if (!res.json.next_cursor) return ids;
    cursor = res.json.next_cursor;
  }
}

export function communicationBody(overrides: Record<string, unknown> = {}) {
  return {
    customer_id: crypto.randomUUID(),
    delivery_id: crypto.randomUUID(),
    type: "sms",
    direction: "outbound",
    status: "sent",
    content: "Your delivery #1234 is on its way and will arrive between 2-4pm today.",
    communication_details: {
      sender: { user_id: crypto.randomUUID(), system_component: "delivery_notifications", phone: "+15551234567" },
      recipient: { phone: "+19876543210", name: "John Doe" },
      template_id: "delivery-on-way",
      template_variables: { delivery_id: "1234", delivery_window: "2-4pm" },
    },
    ...overrides,
  };
}

/** Creates communications through the API, one request each, and returns them oldest first. */
export async function seed(token: string, bodies: Record<string, unknown>[], query = "") {
  const out = [];
  for (const body of bodies) {
    const res = await call(query, { method: "POST", token, body });
    if (res.status !== 201) throw new Error(`seed failed: ${res.status} ${res.text}`);
    out.push(res.json.communication);
  }
  return out;
}

/** A query string from params, leaving out undefined ones: qs({ type: "sms", page: 2 }) is "?type=sms&page=2". */
export const qs = (params: Record<string, string | number | undefined>) =>
  `?${new URLSearchParams(
    Object.entries(params)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  )}`;

/** Runs the Worker's cron handler (the hourly idempotency-key purge) and waits for it. */
export async function runScheduled(bindings: Env = env) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "17 * * * *" }), bindings, ctx);
  await waitOnExecutionContext(ctx);
}

/** The shard holding `tenantId` per the directory (undefined before the tenant's first request). */
export async function shardOf(tenantId: string): Promise<string | undefined> {
  const row = await env.DIRECTORY.prepare("SELECT shard FROM tenants WHERE tenant_id = ?")
    .bind(tenantId)
    .first<{ shard: string }>();
  return row?.shard;
}

/**
 * The D1 binding of the shard holding `tenantId`. A tenant that never made a
 * request has no rows anywhere: SHARD_0 answers for it as well as any.
 */
export async function tenantShard(tenantId: string): Promise<D1Database> {
  return shardBinding(env, (await shardOf(tenantId)) ?? "SHARD_0");
}

/** Makes the tenant's first request (which places it on a shard) and returns that shard's binding. */
export async function placeTenant(tenantId: string): Promise<D1Database> {
  const res = await call("?limit=1", { token: await callers(tenantId).viewer() });
  if (res.status !== 200) throw new Error(`placing ${tenantId}: ${res.status} ${res.text}`);
  return tenantShard(tenantId);
}
