/**
 * GET /delivery/customer-communications/{id}: the list's access rules, for
 * one row. A row the caller may not see answers exactly like an unknown id
 * (404, same body), so the route never confirms that an id exists elsewhere.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { call, callers, communicationBody, newTenant, seed } from "../support/helpers";

const NOT_FOUND = { success: false, message: "Customer communication not found" };

describe("GET /:id", () => {
  const tenant = newTenant();
  const other = newTenant();
  const who = callers(tenant);
  const them = callers(other);
  const otherCustomer = crypto.randomUUID();
  let own: Record<string, unknown>;
  let someoneElses: Record<string, unknown>;
  let foreign: Record<string, unknown>;

  beforeAll(async () => {
    const admin = await who.admin();
    [own, someoneElses] = (await seed(admin, [
      communicationBody({ customer_id: who.customerId, type: "email", direction: "inbound" }),
      communicationBody({ customer_id: otherCustomer }),
    ])) as [Record<string, unknown>, Record<string, unknown>];
    [foreign] = (await seed(await them.admin(), [communicationBody({ customer_id: who.customerId })])) as [
      Record<string, unknown>,
    ];
  });

  it.each([
    ["tenant admin", () => who.admin(), ""],
    ["viewer (view:tenant)", () => who.viewer(), ""],
    ["system admin naming the tenant", () => who.systemAdmin(), `?tenant_id=${tenant}`],
    ["the customer (customer_id claim)", () => who.customer(), ""],
    ["the customer (sub)", () => who.customerBySub(), ""],
  ])("%s reads the row, exactly as created", async (_name, token, query) => {
    const res = await call(`/${own.id}${query}`, { token: await token() });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.json).toEqual({
      success: true,
      message: "Customer communication retrieved successfully",
      communication: own,
    });
  });

  it("staff read any customer's row of their tenant", async () => {
    const res = await call(`/${someoneElses.id}`, { token: await who.viewer() });
    expect(res.status, res.text).toBe(200);
    expect(res.json.communication).toEqual(someoneElses);
  });

  it("localises the message", async () => {
    const res = await call(`/${own.id}?language=ar`, { token: await who.admin() });
    expect(res.status).toBe(200);
    expect(res.json.message).toBe("تم جلب مراسلة العميل بنجاح");
  });

  describe("a row the caller may not see is 404, indistinguishable from an unknown id", () => {
    it.each([
      ["unknown id", () => who.admin(), () => crypto.randomUUID(), ""],
      ["another tenant's row, tenant admin", () => who.admin(), () => foreign.id, ""],
      ["another tenant's row, viewer", () => who.viewer(), () => foreign.id, ""],
      // The customer of `foreign` has the same customer_id, but in another tenant.
      ["another tenant's row, same customer id", () => who.customer(), () => foreign.id, ""],
      ["another customer's row", () => who.customer(), () => someoneElses.id, ""],
      ["system admin naming the other tenant", () => who.systemAdmin(), () => own.id, `?tenant_id=${other}`],
    ])("%s", async (_name, token, id, query) => {
      const res = await call(`/${id()}${query}`, { token: await token() });
      expect(res.status, res.text).toBe(404);
      expect(res.json).toEqual(NOT_FOUND);
    });
  });

  it("the other tenant still reads its own row (the 404s above are scoping, not absence)", async () => {
    const res = await call(`/${foreign.id}`, { token: await them.viewer() });
    expect(res.status, res.text).toBe(200);
    expect(res.json.communication).toEqual(foreign);
  });

  it("an id in upper case finds the same row (RFC 9562: UUIDs are case-insensitive on input)", async () => {
    const res = await call(`/${String(own.id).toUpperCase()}`, { token: await who.admin() });
    expect(res.status, res.text).toBe(200);
    expect(res.json.communication).toEqual(own);
  });

  it.each([
    ["not a uuid", "not-a-uuid"],
    ["too short", "0195f3c2-6d1e-7b4a-9c3e-1a2b3c4d5e6"],
    ["sql-ish", "1' OR '1'='1"],
  ])("malformed id (%s) is 400 naming id", async (_name, id) => {
    const res = await call(`/${encodeURIComponent(id)}`, { token: await who.admin() });
    expect(res.status, res.text).toBe(400);
    expect(res.json.success).toBe(false);
    expect(res.json.errors).toEqual([{ field: "id", message: "id is not a valid UUID" }]);
  });

  it("a driver (role without read permission) is 403", async () => {
    const res = await call(`/${own.id}`, { token: await who.driver() });
    expect(res.status, res.text).toBe(403);
    expect(res.json).toEqual({ success: false, message: "Insufficient permissions" });
  });

  it("a tenant_id other than the token's is 403", async () => {
    const res = await call(`/${own.id}?tenant_id=${other}`, { token: await who.admin() });
    expect(res.status, res.text).toBe(403);
  });

  it("a system admin without tenant_id is 400", async () => {
    const res = await call(`/${own.id}`, { token: await who.systemAdmin() });
    expect(res.status, res.text).toBe(400);
    expect(res.json.errors[0].field).toBe("tenant_id");
  });

  it("without a token it is 401 with WWW-Authenticate", async () => {
    const res = await call(`/${own.id}`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("costs one primary-key read: one query, one row read, nothing written", async () => {
    const res = await call(`/${own.id}`, { token: await who.admin() });
    expect(res.status).toBe(200);
    expect(res.headers.get("server-timing")).toContain('desc="1 queries, 1 rows read, 0 rows written"');
  });
});
