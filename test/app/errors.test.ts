/**
 * Every error code of contract.md these routes can return, each in the
 * envelope {success:false, message[, errors]}, with its headers, and never
 * with internals (stack, SQL, driver text) in the body.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app, MAX_BODY_BYTES } from "../../src/app";
import { BASE, call, callers, communicationBody, newTenant, signToken } from "../support/helpers";

const INTERNALS = /SQLITE|D1_|select |insert |\bstack\b|\.ts:\d|at \w+ \(|TypeError|ZodError|node_modules/i;

interface Answer {
  status: number;
  headers: Headers;
  json: any;
  text: string;
}

function expectEnvelope(res: Answer, status: number, message: string) {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(res.json.success).toBe(false);
  expect(res.json.message).toBe(message);
  expect(Object.keys(res.json).sort()).toEqual(
    res.json.errors ? ["errors", "message", "success"] : ["message", "success"],
  );
  expect(res.text).not.toMatch(INTERNALS);
  expect(res.headers.get("x-request-id")).toBeTruthy();
}

const tenant = newTenant();
const who = callers(tenant);

describe("400", () => {
  it("invalid query: errors name each field", async () => {
    const res = await call("?limit=0&type=fax", { token: await who.viewer() });
    expectEnvelope(res, 400, "Invalid request parameters");
    expect(res.json.errors).toEqual([
      { field: "limit", message: "limit must be at least 1" },
      { field: "type", message: "type must be one of: sms, email, push_notification, call" },
    ]);
  });

  it("invalid body: errors name each field, nested ones by path", async () => {
    const body = communicationBody({
      customer_id: "nope",
      communication_details: { attachments: [{ url: "ftp://x", size: -1 }] },
    });
    const res = await call("", { method: "POST", token: await who.admin(), body });
    expectEnvelope(res, 400, "Invalid request parameters");
    expect(res.json.errors).toEqual([
      { field: "customer_id", message: "customer_id is not a valid UUID" },
      {
        field: "communication_details.attachments.0.url",
        message: "communication_details.attachments.0.url is not a valid URL",
      },
      {
        field: "communication_details.attachments.0.size",
        message: "communication_details.attachments.0.size must be at least 0",
      },
    ]);
  });

  it.each([
    ["truncated JSON", '{"customer_id": '],
    ["an empty body", ""],
    ["JSON with a trailing comma", '{"type": "sms",}'],
  ])("%s: 400 'not valid JSON'", async (_name, rawBody) => {
    const res = await call("", {
      method: "POST",
      token: await who.admin(),
      rawBody,
      headers: { "content-type": "application/json" },
    });
    expectEnvelope(res, 400, "The request body is not valid JSON");
  });

  it("a malformed x-d1-bookmark header", async () => {
    const res = await call("", { token: await who.viewer(), headers: { "x-d1-bookmark": "<script>" } });
    expectEnvelope(res, 400, "Invalid request parameters");
    expect(res.json.errors).toEqual([{ field: "x-d1-bookmark", message: "x-d1-bookmark is invalid" }]);
  });
});

describe("401", () => {
  it.each([
    ["GET", undefined, "Unauthorized"],
    ["POST", undefined, "Unauthorized"],
    ["GET", "Bearer x.y.z", "Invalid or expired access token"],
    ["POST", "Bearer x.y.z", "Invalid or expired access token"],
  ])("%s with Authorization %s", async (method, authorization, message) => {
    const res = await call("", {
      method,
      headers: authorization ? { authorization } : {},
      body: method === "POST" ? communicationBody() : undefined,
    });
    expectEnvelope(res, 401, message);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
  });
});

describe("403", () => {
  it.each([
    ["a driver listing", "GET", () => who.driver(), "", "Insufficient permissions"],
    ["a driver creating", "POST", () => who.driver(), "", "Insufficient permissions"],
    ["a viewer creating", "POST", () => who.viewer(), "", "Insufficient permissions"],
    ["a customer creating", "POST", () => who.customer(), "", "Insufficient permissions"],
    [
      "another tenant",
      "GET",
      () => who.viewer(),
      `?tenant_id=${newTenant()}`,
      "You cannot access another tenant's data",
    ],
    [
      "another customer",
      "GET",
      () => who.customer(),
      `?customer_id=${crypto.randomUUID()}`,
      "Customers can only access their own communications",
    ],
    [
      "no tenant",
      "GET",
      () => signToken({ permissions: ["view:tenant"] }),
      "",
      "Your account is not linked to a tenant",
    ],
  ])("%s", async (_name, method, token, query, message) => {
    const res = await call(query, {
      method,
      token: await token(),
      body: method === "POST" ? communicationBody() : undefined,
    });
    expectEnvelope(res, 403, message);
  });
});

describe("404 unknown route", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    ["GET", "http://api.test/delivery"],
    ["GET", "http://api.test/delivery/customer-communication"],
    ["POST", "http://api.test/delivery/customer-communications-x"],
    ["GET", "http://api.test/delivery/customer-communications/a/b/c"],
    ["DELETE", "http://api.test/nothing/here"],
  ])("%s %s", async (method, url) => {
    const res = await call(url, { method, token: await who.admin() });
    expectEnvelope(res, 404, "Route not found");
  });

  it("the root is not one: it redirects to the API reference", async () => {
    const res = await call("http://api.test/");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/docs");
  });

  it("nor is /docs/: it redirects, for good, to /docs", async () => {
    const res = await call("http://api.test/docs/");
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("/docs");
  });

  it("nor is /favicon.ico: an empty 204 a browser may cache, logged as info", async () => {
    const log = vi.spyOn(console, "log");
    const error = vi.spyOn(console, "error");
    const res = await call("http://api.test/favicon.ico");
    expect(res.status).toBe(204);
    expect(res.text).toBe("");
    expect(res.headers.get("cache-control")).toBe("public, max-age=86400");
    const lines = log.mock.calls.map(([line]) => JSON.parse(String(line)));
    expect(lines).toContainEqual(expect.objectContaining({ level: "info", path: "/favicon.ico", status: 204 }));
    expect(error).not.toHaveBeenCalled();
  });

  it("without a token too (no auth on unknown paths)", async () => {
    expectEnvelope(await call("http://api.test/nope"), 404, "Route not found");
  });
});

describe("405 wrong method", () => {
  const id = "0195f3c2-6d1e-7b4a-9c3e-1a2b3c4d5e6f";
  it.each([
    ["PUT", "", "GET, POST"],
    ["DELETE", "", "GET, POST"],
    ["PATCH", "", "GET, POST"],
    ["PUT", `/${id}`, "GET, PATCH"],
    ["DELETE", `/${id}`, "GET, PATCH"],
    ["POST", `/${id}`, "GET, PATCH"],
    ["POST", `/${id}/events`, "GET"],
    ["DELETE", `/${id}/events`, "GET"],
  ])("%s %s: Allow: %s", async (method, path, allow) => {
    for (const token of [undefined, await who.admin()]) {
      const res = await call(path, { method, token });
      expectEnvelope(res, 405, "Method not allowed");
      expect(res.headers.get("allow")).toBe(allow);
    }
  });
});

describe("413 body too large", () => {
  it("a body over the limit, with Content-Length", async () => {
    const body = JSON.stringify(communicationBody({ content: "x".repeat(MAX_BODY_BYTES) }));
    const res = await call("", {
      method: "POST",
      token: await who.admin(),
      rawBody: body,
      headers: { "content-type": "application/json", "content-length": String(body.length) },
    });
    expectEnvelope(res, 413, "The request body is too large");
  });

  it("a streamed body over the limit, without Content-Length", async () => {
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > MAX_BODY_BYTES + chunk.length) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const ctx = createExecutionContext();
    const res = await app.fetch(
      new Request(BASE, {
        method: "POST",
        headers: { authorization: `Bearer ${await who.admin()}`, "content-type": "application/json" },
        body: stream,
      }),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const text = await res.text();
    expectEnvelope(
      { status: res.status, headers: res.headers, text, json: JSON.parse(text) },
      413,
      "The request body is too large",
    );
  });

  it("a body just under the limit is accepted", async () => {
    const body = communicationBody({ content: "x".repeat(100_000) });
    const res = await call("", { method: "POST", token: await who.admin(), body });
    expect(res.status, res.text).toBe(201);
  });
});

describe("415 body not JSON", () => {
  it.each([
    ["text/plain", "text/plain"],
    ["form", "application/x-www-form-urlencoded"],
    ["multipart", "multipart/form-data; boundary=x"],
    ["xml", "application/xml"],
    ["two different types", "application/json, text/plain"],
    ["no Content-Type", undefined],
  ])("%s", async (_name, contentType) => {
    const headers: Record<string, string> = contentType ? { "content-type": contentType } : {};
    const t = newTenant();
    const res = await call("", {
      method: "POST",
      token: await callers(t).admin(),
      rawBody: JSON.stringify(communicationBody()),
      headers,
    });
    expectEnvelope(res, 415, "The request body must be sent as application/json");
    const listed = await call("", { token: await callers(t).viewer() });
    expect(listed.json.total).toBe(0);
  });

  it.each(["application/json; charset=utf-8", "application/json, application/json", "Application/JSON"])(
    "%s is JSON",
    async (contentType) => {
      const res = await call("", {
        method: "POST",
        token: await who.admin(),
        rawBody: JSON.stringify(communicationBody()),
        headers: { "content-type": contentType },
      });
      expect(res.status, res.text).toBe(201);
    },
  );
});

describe("429 rate limited", () => {
  /**
   * Spends the rest of the current window of `key` on the limiter binding
   * itself (the keys the auth middleware uses), then sends one request. The
   * binding's windows are aligned to the clock; if one rolls over between
   * the two steps, the request gets a fresh window, so try again (at most
   * once more in practice).
   */
  async function exhaustThenCall(limiter: RateLimit, key: string, token: string) {
    let res: Answer | undefined;
    for (let attempt = 0; attempt < 3 && res?.status !== 429; attempt++) {
      for (let i = 0; i < 1001 && (await limiter.limit({ key })).success; i++);
      res = await call("?language=ar", { token });
    }
    return res as Answer;
  }

  it("per user: 429 with Retry-After, localised", async () => {
    const sub = crypto.randomUUID();
    const token = await signToken({ sub, tenant_id: newTenant(), permissions: ["view:tenant"], role: "dispatcher" });
    expect((await call("", { token })).status).toBe(200);
    const res = await exhaustThenCall(env.USER_RATE_LIMITER, `user:${sub}`, token);
    expectEnvelope(res, 429, "طلبات كثيرة جدًا، يرجى المحاولة لاحقًا");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("per tenant: another user of a flooded tenant gets 429 too", async () => {
    const t = newTenant();
    const token = await callers(t).viewer();
    const res = await exhaustThenCall(env.TENANT_RATE_LIMITER, `tenant:${t}`, token);
    expectEnvelope(res, 429, "طلبات كثيرة جدًا، يرجى المحاولة لاحقًا");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

/** A D1 binding whose every query fails with `message` (driver text that must not leak). */
function failingD1(message: string): D1Database {
  const fail = () => Promise.reject(new Error(message));
  const stmt = { bind: () => stmt, all: fail, run: fail, raw: fail, first: fail };
  const db = { prepare: () => stmt, batch: fail, exec: fail, dump: fail, withSession: () => db };
  return db as unknown as D1Database;
}

async function callWithDb(db: D1Database, init: { path?: string; method?: string; body?: string } = {}) {
  return call(init.path ?? "", {
    method: init.method,
    rawBody: init.body,
    headers: init.body === undefined ? {} : { "content-type": "application/json" },
    token: await who.admin(),
    env: { SHARD_0: db, SHARD_1: db },
  });
}

describe("500 and 503", () => {
  const sqlError =
    "D1_ERROR: no such column: secret_column at offset 7: SQLITE_ERROR: SELECT secret_column FROM communications";

  it("an unexpected database error: 500 'Internal server error', no SQL or driver text", async () => {
    const list = await callWithDb(failingD1(sqlError));
    expectEnvelope(list, 500, "Internal server error");
    const create = await callWithDb(failingD1(sqlError), {
      method: "POST",
      body: JSON.stringify(communicationBody()),
    });
    expectEnvelope(create, 500, "Internal server error");
  });

  it("the 500 is localised", async () => {
    const res = await callWithDb(failingD1(sqlError), { path: "?language=fa" });
    expectEnvelope(res, 500, "خطای داخلی سرور");
  });

  it("D1 unavailable: 503 with Retry-After, no driver text", async () => {
    const res = await callWithDb(failingD1("D1_ERROR: D1 DB is overloaded. Too many requests queued."));
    expectEnvelope(res, 503, "The service is temporarily unavailable, please try again later");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});
