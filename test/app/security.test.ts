/**
 * OWASP API Security Top 10 (2023), the parts this service owns:
 *  API1 broken object level authorization: cross-tenant and cross-customer
 *       through every parameter (tenant_id, customer_id, delivery_id, the
 *       path id of GET/PATCH/events, a cursor built from another's id);
 *  API3 broken object property level authorization: mass assignment of
 *       server-owned fields; responses carry exactly the contract's fields;
 *  API4 unrestricted resource consumption: page size and page caps, body
 *       size, nesting, rate limit;
 *  API5 broken function level authorization: customers and drivers calling
 *       create and PATCH; wrong methods.
 * @see https://owasp.org/API-Security/editions/2023/en/0x11-t10/
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { encodeCursor } from "../../src/communications/cursor";
import worker from "../../src/index";
import { BASE, call, callers, communicationBody, countRows, newTenant, seed, signToken } from "../support/helpers";

beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
  vi.spyOn(console, "error").mockImplementation(() => undefined);
});
afterEach(() => vi.restoreAllMocks());

const COMMUNICATION_FIELDS = [
  "communication_details",
  "content",
  "created_at",
  "created_by",
  "customer_id",
  "delivery_id",
  "direction",
  "id",
  // Provider ids (issue 10, webhooks spec): returned on every communication, null when absent.
  "provider",
  "provider_message_id",
  "status",
  "tenant_id",
  "type",
  "updated_at",
  // Privacy (issue 21): when content and addresses were redacted, null until then.
  "redacted_at",
].sort();

const rows = (tenant: string) => countRows(tenant);

const now = () => new Date().toISOString();

/** Two tenants; tenant A has two customers with one delivery each, tenant B one customer. */
async function world() {
  const a = newTenant();
  const b = newTenant();
  const whoA = callers(a);
  const whoB = callers(b);
  const c1 = whoA.customerId;
  const c2 = crypto.randomUUID();
  const d1 = crypto.randomUUID();
  const d2 = crypto.randomUUID();
  const dB = crypto.randomUUID();
  const [a1, a1b] = await seed(await whoA.admin(), [
    communicationBody({ customer_id: c1, delivery_id: d1 }),
    communicationBody({ customer_id: c1, delivery_id: d1 }),
  ]);
  const [a2] = await seed(await whoA.admin(), [communicationBody({ customer_id: c2, delivery_id: d2 })]);
  // Tenant B's customer shares customer c1's id: ids are only unique per tenant.
  const [b1] = await seed(await whoB.admin(), [communicationBody({ customer_id: c1, delivery_id: dB })]);
  return { a, b, whoA, whoB, c1, c2, d1, d2, dB, a1, a1b, a2, b1 };
}
type World = Awaited<ReturnType<typeof world>>;

describe("API1: object level authorization", () => {
  let w: World;
  beforeAll(async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    w = await world();
  });

  describe("across tenants", () => {
    it("tenant_id of another tenant: 403 on every route, nothing read or written", async () => {
      const admin = await w.whoA.admin();
      const q = `?tenant_id=${w.b}`;
      const cases = [
        call(q, { token: admin }),
        call(q, { method: "POST", token: admin, body: communicationBody() }),
        call(`/${w.b1.id}${q}`, { token: admin }),
        call(`/${w.b1.id}/events${q}`, { token: admin }),
        call(`/${w.b1.id}${q}`, { method: "PATCH", token: admin, body: { status: "read", occurred_at: now() } }),
      ];
      for (const res of await Promise.all(cases)) {
        expect(res.status, res.text).toBe(403);
        expect(res.json).toEqual({ success: false, message: "You cannot access another tenant's data" });
      }
      expect(await rows(w.b)).toBe(1);
    });

    it("another tenant's id in the path: 404 for GET, events and PATCH, and the row is untouched", async () => {
      const admin = await w.whoA.admin();
      expect((await call(`/${w.b1.id}`, { token: admin })).status).toBe(404);
      expect((await call(`/${w.b1.id}/events`, { token: admin })).status).toBe(404);
      const patch = await call(`/${w.b1.id}`, {
        method: "PATCH",
        token: admin,
        body: { status: "read", occurred_at: now() },
      });
      expect(patch.status).toBe(404);
      const fromB = await call(`/${w.b1.id}`, { token: await w.whoB.viewer() });
      expect(fromB.json.communication.status).toBe("sent");
      expect((await call(`/${w.b1.id}/events`, { token: await w.whoB.viewer() })).json.events).toEqual([]);
    });

    it("another tenant's customer_id or delivery_id filters to nothing", async () => {
      const viewer = await w.whoA.viewer();
      const byDelivery = await call(`?delivery_id=${w.dB}`, { token: viewer });
      expect(byDelivery.json).toMatchObject({ total: 0, communications: [] });
      // c1 exists in both tenants: A's viewer sees only A's.
      const byCustomer = await call(`?customer_id=${w.c1}&limit=100`, { token: viewer });
      expect(byCustomer.json.total).toBe(2);
      for (const c of byCustomer.json.communications) expect(c.tenant_id).toBe(w.a);
    });

    it("a cursor built from another tenant's id only walks the caller's tenant", async () => {
      const viewer = await w.whoA.viewer();
      for (const order of ["desc", "asc"] as const) {
        // The cursor is not signed: the keyset position is only ever applied inside the caller's tenant.
        const res = await call(`?cursor=${encodeCursor(order, w.b1.id)}&sort_order=${order}&limit=100`, {
          token: viewer,
        });
        expect(res.status).toBe(200);
        for (const c of res.json.communications) expect(c.tenant_id).toBe(w.a);
        expect(res.json.communications.map((c: { id: string }) => c.id)).not.toContain(w.b1.id);
      }
    });

    it("a system administrator reads exactly the tenant named, never a mix", async () => {
      const sys = await w.whoA.systemAdmin();
      const inB = await call(`?tenant_id=${w.b}&limit=100`, { token: sys });
      expect(inB.json.communications.map((c: { id: string }) => c.id)).toEqual([w.b1.id]);
      expect((await call(`/${w.a1.id}?tenant_id=${w.b}`, { token: sys })).status).toBe(404);
      expect((await call("", { token: sys })).status).toBe(400); // must name a tenant
    });

    it("a staff token without a tenant is refused", async () => {
      const token = await signToken({ role: "dispatcher", permissions: ["view:tenant", "manage:operations:tenant"] });
      for (const q of ["", `?tenant_id=${w.a}`]) {
        const res = await call(q, { token });
        expect(res.status).toBe(403);
      }
    });

    it("a tenant_id claim that is not a UUID is refused as a token", async () => {
      const token = await signToken({ tenant_id: "' OR 1=1 --", role: "dispatcher", permissions: ["view:tenant"] });
      expect((await call("", { token })).status).toBe(401);
    });
  });

  describe("across customers of one tenant", () => {
    it("a customer's list is theirs, with or without their own customer_id", async () => {
      const token = await w.whoA.customer();
      for (const q of ["?limit=100", `?customer_id=${w.c1}&limit=100`, "?customer_id=&limit=100"]) {
        const res = await call(q, { token });
        expect(res.status).toBe(200);
        expect(res.json.total).toBe(2);
        for (const c of res.json.communications) expect([c.customer_id, c.tenant_id]).toEqual([w.c1, w.a]);
      }
    });

    it("another customer's customer_id: 403", async () => {
      const res = await call(`?customer_id=${w.c2}`, { token: await w.whoA.customer() });
      expect(res.status).toBe(403);
      expect(res.json.message).toBe("Customers can only access their own communications");
    });

    it("another customer's delivery_id filters to nothing", async () => {
      const res = await call(`?delivery_id=${w.d2}`, { token: await w.whoA.customer() });
      expect(res.json).toMatchObject({ total: 0, communications: [] });
    });

    it("another customer's id in the path: 404 for GET and events, 403 for PATCH", async () => {
      const token = await w.whoA.customer();
      expect((await call(`/${w.a2.id}`, { token })).status).toBe(404);
      expect((await call(`/${w.a2.id}/events`, { token })).status).toBe(404);
      expect(
        (await call(`/${w.a2.id}`, { method: "PATCH", token, body: { status: "read", occurred_at: now() } })).status,
      ).toBe(403);
      // ...while their own are readable.
      expect((await call(`/${w.a1.id}`, { token })).status).toBe(200);
    });

    it("a cursor built from another customer's id only walks the caller's rows", async () => {
      const token = await w.whoA.customer();
      const res = await call(`?cursor=${encodeCursor("desc", w.a2.id)}&limit=100`, { token });
      expect(res.status).toBe(200);
      for (const c of res.json.communications) expect(c.customer_id).toBe(w.c1);
    });

    it("a customer identified by sub (no customer_id claim) gets the same scoping", async () => {
      const token = await w.whoA.customerBySub(w.c1);
      const res = await call("?limit=100", { token });
      expect(res.json.total).toBe(2);
      expect((await call(`/${w.a2.id}`, { token })).status).toBe(404);
    });

    it("a customer of tenant A never sees tenant B's rows of the same customer id", async () => {
      const token = await w.whoA.customer();
      expect((await call(`/${w.b1.id}`, { token })).status).toBe(404);
      expect((await call(`?delivery_id=${w.dB}`, { token })).json.total).toBe(0);
    });
  });
});

describe("API3: object property level authorization", () => {
  it.each([
    ["id", crypto.randomUUID()],
    ["tenant_id", crypto.randomUUID()],
    ["created_by", "someone-else"],
    ["created_at", "2020-01-01T00:00:00Z"],
    ["updated_at", "2020-01-01T00:00:00Z"],
    ["status_event_at", "2020-01-01T00:00:00Z"],
    ["is_system_admin", true],
  ])("a server-owned field in the body (%s) is refused and nothing is created", async (field, value) => {
    const tenant = newTenant();
    const res = await call("", {
      method: "POST",
      token: await callers(tenant).admin(),
      body: communicationBody({ [field]: value }),
    });
    expect(res.status).toBe(400);
    expect(res.json.errors).toContainEqual({ field, message: `${field} is not an accepted field` });
    expect(await rows(tenant)).toBe(0);
  });

  it("PATCH takes only status, occurred_at and details", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const [created] = await seed(await who.admin(), [communicationBody()]);
    for (const extra of [
      { tenant_id: newTenant() },
      { customer_id: crypto.randomUUID() },
      { content: "rewritten" },
      { created_by: "x" },
    ]) {
      const res = await call(`/${created.id}`, {
        method: "PATCH",
        token: await who.admin(),
        body: { status: "delivered", occurred_at: now(), ...extra },
      });
      expect(res.status).toBe(400);
    }
    const after = await call(`/${created.id}`, { token: await who.viewer() });
    expect(after.json.communication).toEqual(created);
  });

  it("created_by is the token's subject, tenant_id the token's tenant", async () => {
    const tenant = newTenant();
    const sub = crypto.randomUUID();
    const token = await signToken({ sub, tenant_id: tenant, role: "ops", permissions: ["manage:operations:tenant"] });
    const [created] = await seed(token, [communicationBody()]);
    expect(created.created_by).toBe(sub);
    expect(created.tenant_id).toBe(tenant);
  });

  it("every response carries exactly the contract's fields (no status_event_at or other internals)", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const create = await call("", { method: "POST", token: admin, body: communicationBody() });
    const id = create.json.communication.id;
    const patch = await call(`/${id}`, {
      method: "PATCH",
      token: admin,
      body: { status: "delivered", occurred_at: now(), details: { provider: "twilio" } },
    });
    const get = await call(`/${id}`, { token: admin });
    const list = await call("", { token: admin });
    for (const communication of [
      create.json.communication,
      patch.json.communication,
      get.json.communication,
      ...list.json.communications,
    ]) {
      expect(Object.keys(communication).sort()).toEqual(COMMUNICATION_FIELDS);
    }
    expect(Object.keys(create.json).sort()).toEqual(["communication", "message", "success"]);
    const events = await call(`/${id}/events`, { token: admin });
    expect(events.json.events).toHaveLength(1);
    expect(Object.keys(events.json.events[0]).sort()).toEqual(
      ["communication_id", "details", "from_status", "id", "occurred_at", "recorded_at", "status"].sort(),
    );
  });

  it("provider keys inside communication_details are data: __proto__ and constructor pollute nothing", async () => {
    const tenant = newTenant();
    const raw = `{"customer_id":"${crypto.randomUUID()}","type":"sms","communication_details":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"template_variables":{"__proto__":{"isAdmin":true}}}}`;
    const res = await call("", {
      method: "POST",
      token: await callers(tenant).admin(),
      rawBody: raw,
      headers: { "content-type": "application/json" },
    });
    expect([201, 400]).toContain(res.status);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it("a top-level __proto__ is an unknown field", async () => {
    const tenant = newTenant();
    const res = await call("", {
      method: "POST",
      token: await callers(tenant).admin(),
      rawBody: `{"customer_id":"${crypto.randomUUID()}","type":"sms","__proto__":{"tenant_id":"${newTenant()}"}}`,
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(await rows(tenant)).toBe(0);
  });
});

describe("API4: resource consumption", () => {
  it.each([
    ["limit=101", 400],
    ["limit=1000000", 400],
    ["limit=-1", 400],
    ["limit=1e2", 400],
    ["limit=100", 200],
    ["page=1001", 400],
    ["page=1000", 200],
    ["page=99999999999999999999", 400],
    [`cursor=${"A".repeat(201)}`, 400],
  ])("%s -> %i", async (query, status) => {
    const res = await call(`?${query}`, { token: await callers(newTenant()).viewer() });
    expect(res.status, res.text).toBe(status);
    if (status === 200) expect(res.json.communications.length).toBeLessThanOrEqual(100);
  });

  it("a page never holds more than 100 communications", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        seed(
          admin,
          Array.from({ length: 26 }, () => communicationBody({ content: `c${i}` })),
        ),
      ),
    );
    const res = await call("?limit=100", { token: await callers(tenant).viewer() });
    expect(res.json.total).toBe(104);
    expect(res.json.communications).toHaveLength(100);
  });

  it("a body over 256 KiB: 413, nothing created", async () => {
    const tenant = newTenant();
    const res = await call("", {
      method: "POST",
      token: await callers(tenant).admin(),
      body: communicationBody({ content: "x".repeat(256 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect(res.json).toEqual({ success: false, message: "The request body is too large" });
    expect(await rows(tenant)).toBe(0);
  });

  it("a streamed body without Content-Length is cut at the limit too", async () => {
    const tenant = newTenant();
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 64) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(BASE, {
        method: "POST",
        headers: { authorization: `Bearer ${await callers(tenant).admin()}`, "content-type": "application/json" },
        body: stream,
      }),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(413);
    expect(sent).toBeLessThan(64); // the reader stopped early: 4 MiB were never read
    expect(await rows(tenant)).toBe(0);
  });

  it.each([
    ["content over 100,000 characters", { content: "x".repeat(100_001) }],
    [
      "more than 50 attachments",
      {
        communication_details: {
          attachments: Array.from({ length: 51 }, (_, i) => ({ url: `https://e.com/${i}` })),
        },
      },
    ],
  ])("%s: 400", async (_name, overrides) => {
    const tenant = newTenant();
    const res = await call("", {
      method: "POST",
      token: await callers(tenant).admin(),
      body: communicationBody(overrides),
    });
    expect(res.status).toBe(400);
    expect(await rows(tenant)).toBe(0);
  });

  it.each([
    ["arrays", (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`, 100_000],
    ["objects", (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`, 40_000],
  ])("deeply nested %s in details: 400 beyond 32 levels, never a 5xx", async (_name, nest, deepest) => {
    const tenant = newTenant();
    const who = callers(tenant);
    const post = (depth: number) =>
      call("", {
        method: "POST",
        token: admin,
        rawBody: `{"customer_id":"${crypto.randomUUID()}","type":"sms","communication_details":{"template_variables":{"v":${nest(depth)}}}}`,
        headers: { "content-type": "application/json" },
      });
    const admin = await who.admin();
    // communication_details is level 1, template_variables 2, so v adds levels from 3.
    const ok = await post(30);
    expect(ok.status, ok.text).toBe(201);
    for (const depth of [31, 997, 999, 1_000, deepest]) {
      const res = await post(depth);
      expect(res.status, `${depth}: ${res.text.slice(0, 200)}`).toBe(400);
      expect(res.json.errors).toEqual([
        { field: "communication_details", message: "communication_details is invalid" },
      ]);
    }
    expect(await rows(tenant)).toBe(1);

    const id = ok.json.communication.id;
    const patch = (depth: number) =>
      call(`/${id}`, {
        method: "PATCH",
        token: admin,
        rawBody: `{"status":"delivered","occurred_at":"${now()}","details":{"raw":${nest(depth)}}}`,
        headers: { "content-type": "application/json" },
      });
    for (const depth of [1_000, deepest]) expect((await patch(depth)).status, String(depth)).toBe(400);
    expect((await patch(30)).status).toBe(200);
  });

  it("too many requests: 429 (see test/middleware/ratelimit.test.ts for the real binding)", async () => {
    const refuse = { limit: async () => ({ success: false }) } as unknown as RateLimit;
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(BASE, { headers: { authorization: `Bearer ${await callers(newTenant()).viewer()}` } }),
      { ...env, USER_RATE_LIMITER: refuse },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("10");
  });
});

describe("API5: function level authorization", () => {
  it("customers, drivers and viewers cannot create or PATCH; nothing changes", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const [created] = await seed(await who.admin(), [communicationBody({ customer_id: who.customerId })]);
    const driverByPermission = await signToken({
      tenant_id: tenant,
      role: "driver",
      permissions: ["manage:module:delivery", "manage:tenant", "view:own"],
    });
    for (const [name, token] of [
      ["customer", await who.customer()],
      ["customer by sub", await who.customerBySub()],
      ["driver", await who.driver()],
      ["driver with other permissions", driverByPermission],
      ["viewer", await who.viewer()],
    ] as const) {
      const post = await call("", { method: "POST", token, body: communicationBody({ customer_id: who.customerId }) });
      expect(post.status, `${name} POST`).toBe(403);
      expect(post.json).toEqual({ success: false, message: "Insufficient permissions" });
      const patch = await call(`/${created.id}`, {
        method: "PATCH",
        token,
        body: { status: "read", occurred_at: now() },
      });
      expect(patch.status, `${name} PATCH`).toBe(403);
    }
    expect(await rows(tenant)).toBe(1);
    expect((await call(`/${created.id}`, { token: await who.viewer() })).json.communication.status).toBe("sent");
  });

  it("refusal comes before validation: a driver learns nothing about the body's shape", async () => {
    const res = await call("", { method: "POST", token: await callers(newTenant()).driver(), body: { junk: true } });
    expect(res.status).toBe(403);
    expect(res.json.errors).toBeUndefined();
  });

  it("drivers cannot read", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const [created] = await seed(await who.admin(), [communicationBody()]);
    const driver = await who.driver();
    for (const path of ["", `/${created.id}`, `/${created.id}/events`]) {
      expect((await call(path, { token: driver })).status, path).toBe(403);
    }
  });

  it.each([
    ["PUT", "", "GET, POST"],
    ["DELETE", "", "GET, POST"],
    ["PATCH", "", "GET, POST"],
    ["PUT", "/{id}", "GET, PATCH"],
    ["DELETE", "/{id}", "GET, PATCH"],
    ["POST", "/{id}", "GET, PATCH"],
    ["POST", "/{id}/events", "GET"],
    ["DELETE", "/{id}/events", "GET"],
  ])("%s %s -> 405 with Allow: %s, for every caller", async (method, path, allow) => {
    const tenant = newTenant();
    const who = callers(tenant);
    const [created] = await seed(await who.admin(), [communicationBody()]);
    for (const token of [await who.systemAdmin(), await who.admin(), await who.customer(), undefined]) {
      const res = await call(path.replace("{id}", created.id), { method, token, body: {} });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
      expect(res.json).toEqual({ success: false, message: "Method not allowed" });
    }
    expect(await rows(tenant)).toBe(1);
  });

  it("method override headers are ignored", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const [created] = await seed(await who.admin(), [communicationBody()]);
    for (const header of ["x-http-method-override", "x-http-method", "x-method-override"]) {
      const res = await call(`/${created.id}`, {
        method: "POST",
        token: await who.admin(),
        headers: { [header]: "PATCH" },
      });
      expect(res.status).toBe(405);
      const viaGet = await call(`/${created.id}`, { token: await who.customer(), headers: { [header]: "DELETE" } });
      expect(viaGet.status).toBe(404); // a plain GET by a customer who does not own it
    }
  });
});
