import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EXPECTED_BY_TEST } from "../support/expected-output";
import { call, callers, communicationBody, newTenant } from "../support/helpers";

interface Req {
  method?: string;
  path?: string;
  token?: string;
  headers?: Record<string, string>;
  body?: string;
}

const send = (req: Req, vars: Partial<Env> = {}) =>
  call(req.path ?? "", {
    method: req.method,
    token: req.token,
    headers: req.headers,
    rawBody: req.body,
    env: vars,
  });

beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
  vi.spyOn(console, "error").mockImplementation(() => undefined);
});
afterEach(() => vi.restoreAllMocks());

/** One request of each outcome the service can give, for header checks. */
async function outcomes(): Promise<[string, Req][]> {
  const tenant = newTenant();
  const who = callers(tenant);
  const admin = await who.admin();
  const json = { "content-type": "application/json" };
  return [
    ["200 list", { token: await who.viewer() }],
    ["201 create", { method: "POST", token: admin, headers: json, body: JSON.stringify(communicationBody()) }],
    ["400 query", { path: "?limit=0", token: admin }],
    ["400 bookmark", { token: admin, headers: { "x-d1-bookmark": "not a bookmark!" } }],
    ["401 no token", {}],
    ["401 bad token", { token: "a.b.c" }],
    ["403 driver", { token: await who.driver() }],
    ["404 item", { path: `/${crypto.randomUUID()}`, token: admin }],
    ["404 route", { path: "http://api.test/nope", token: admin }],
    ["405 method", { method: "DELETE", token: admin }],
    ["413 body", { method: "POST", token: admin, headers: json, body: `{"content":"${"x".repeat(300_000)}"}` }],
    ["415 media type", { method: "POST", token: admin, headers: { "content-type": "text/plain" }, body: "hi" }],
    ["openapi", { path: "http://api.test/openapi.json" }],
  ];
}

describe("security headers", () => {
  it("every outcome carries them", async () => {
    for (const [name, req] of await outcomes()) {
      const res = await send(req);
      const h = res.headers;
      expect(h.get("x-content-type-options"), name).toBe("nosniff");
      expect(h.get("x-frame-options"), name).toBe("SAMEORIGIN");
      expect(h.get("strict-transport-security"), name).toMatch(/max-age=\d+/);
      expect(h.get("referrer-policy"), name).toBe("no-referrer");
      expect(h.get("cross-origin-resource-policy"), name).toBe("same-origin");
      expect(h.get("x-permitted-cross-domain-policies"), name).toBe("none");
      expect(h.get("x-powered-by"), name).toBeNull();
      expect(h.get("server"), name).toBeNull();
    }
  });

  it("each outcome has the status it names", async () => {
    for (const [name, req] of await outcomes()) {
      const res = await send(req);
      const expected = Number(name.slice(0, 3));
      if (Number.isInteger(expected)) expect(res.status, `${name}: ${res.text.slice(0, 200)}`).toBe(expected);
      else expect(res.status, name).toBe(200);
    }
  });

  it("JSON answers are typed as JSON (no sniffing needed)", async () => {
    for (const [name, req] of await outcomes()) {
      const res = await send(req);
      expect(res.headers.get("content-type"), name).toMatch(/^application\/json/);
    }
  });
});

describe("X-Request-Id", () => {
  it.each([
    ["a UUID", crypto.randomUUID()],
    ["a trace id with dots, colons and dashes", "edge-7f3a.9b:01"],
    ["128 characters", "r".repeat(128)],
  ])("echoes %s on every outcome", async (_name, id) => {
    for (const [name, req] of await outcomes()) {
      const res = await send({ ...req, headers: { ...req.headers, "x-request-id": id } });
      expect(res.headers.get("x-request-id"), name).toBe(id);
    }
  });

  it.each([
    ["129 characters", "r".repeat(129)],
    ["spaces", "id with spaces"],
    ["markup", "<script>alert(1)</script>"],
    ["a header injection attempt", "abc%0d%0aSet-Cookie:x=1"],
    ["quotes", '"quoted"'],
    // workerd warns about the non-ASCII header value on stderr; the tag marks the warning as expected.
    ["non-ASCII", `idé-${EXPECTED_BY_TEST}`],
  ])("replaces one with %s by a fresh UUID", async (_name, id) => {
    for (const [name, req] of await outcomes()) {
      const res = await send({ ...req, headers: { ...req.headers, "x-request-id": id } });
      const got = res.headers.get("x-request-id");
      expect(got, name).not.toBe(id);
      expect(got, name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
  });

  it("mints a distinct id per request when none is given", async () => {
    const token = await callers(newTenant()).viewer();
    const ids = new Set<string | null>();
    for (let i = 0; i < 5; i++) ids.add((await send({ token })).headers.get("x-request-id"));
    expect(ids.size).toBe(5);
  });

  it("the id is the one in the log line", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const res = await send({ token: await callers(newTenant()).viewer(), headers: { "x-request-id": "trace-123" } });
    expect(res.headers.get("x-request-id")).toBe("trace-123");
    expect(log).toHaveBeenCalledWith(expect.stringContaining('"request_id":"trace-123"'));
  });
});

describe("CORS", () => {
  const ALLOWED = "https://dispatch.example.com";
  const preflight = (origin: string, vars: Partial<Env>, requestHeaders = "authorization,content-type") =>
    send(
      {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": requestHeaders,
        },
      },
      vars,
    );

  it("preflight from an allowed origin: 204 with the policy", async () => {
    const res = await preflight(ALLOWED, { CORS_ORIGINS: `https://other.example.com, ${ALLOWED}` });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(res.headers.get("access-control-allow-methods")).toBe("GET,POST,PATCH,PUT,DELETE,OPTIONS");
    const allowHeaders = res.headers.get("access-control-allow-headers")?.toLowerCase().split(",") ?? [];
    for (const h of ["authorization", "content-type", "idempotency-key", "x-request-id", "x-d1-bookmark"]) {
      expect(allowHeaders).toContain(h);
    }
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("vary")).toMatch(/origin/i);
    // Bearer tokens, not cookies: credentials are never allowed.
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it.each([
    ["an origin not in the list", "https://evil.example.com", { CORS_ORIGINS: ALLOWED }],
    ["a look-alike origin", `${ALLOWED}.evil.com`, { CORS_ORIGINS: ALLOWED }],
    ["the allowed origin over http", ALLOWED.replace("https", "http"), { CORS_ORIGINS: ALLOWED }],
    ["the literal null origin", "null", { CORS_ORIGINS: ALLOWED }],
    ["any origin when CORS_ORIGINS is empty", ALLOWED, { CORS_ORIGINS: "" }],
  ])("no allow-origin for %s", async (_name, origin, vars) => {
    const res = await preflight(origin, vars);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const actual = await send({ token: await callers(newTenant()).viewer(), headers: { origin } }, vars);
    expect(actual.status).toBe(200); // CORS is the browser's check; the API answers as usual
    expect(actual.headers.get("access-control-allow-origin")).toBeNull();
  });

  it('"*" allows any origin, echoed (never a literal * beside Authorization)', async () => {
    const res = await preflight("https://anywhere.example.org", { CORS_ORIGINS: "*" });
    expect(res.headers.get("access-control-allow-origin")).toBe("https://anywhere.example.org");
  });

  it("actual requests from an allowed origin expose the service's headers, on success and on errors", async () => {
    const vars = { CORS_ORIGINS: ALLOWED };
    const token = await callers(newTenant()).viewer();
    const requests: Req[] = [
      { token },
      { token: "bad.token.here" },
      { path: "?limit=1000", token },
      { method: "PUT", token },
      { token, headers: { "x-d1-bookmark": "not a bookmark!" } },
    ];
    for (const req of requests) {
      const res = await send({ ...req, headers: { ...req.headers, origin: ALLOWED } }, vars);
      expect(res.headers.get("access-control-allow-origin"), String(res.status)).toBe(ALLOWED);
      const exposed = res.headers.get("access-control-expose-headers")?.toLowerCase() ?? "";
      for (const h of [
        "x-request-id",
        "retry-after",
        "idempotent-replayed",
        "x-d1-bookmark",
        "ratelimit-policy",
        "x-ratelimit-limit",
      ]) {
        expect(exposed, String(res.status)).toContain(h);
      }
      expect(res.headers.get("vary")).toMatch(/origin/i);
    }
  });
});
