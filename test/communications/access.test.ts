/**
 * contract.md "Who may do what", rule by rule, on both routes, plus the
 * promise that no combination of parameters reads or writes another
 * tenant's or another customer's rows.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { translate } from "../../src/i18n/messages";
import { call, callers, communicationBody, newTenant, seed, signToken } from "../support/helpers";

const en = (key: Parameters<typeof translate>[1]) => translate("en", key);

/** Two tenants; in A two customers (2 rows and 1 row); in B a row for A's first customer id. */
async function twoTenants() {
  const tenantA = newTenant();
  const tenantB = newTenant();
  const a = callers(tenantA);
  const b = callers(tenantB);
  const otherCustomer = crypto.randomUUID();
  const adminA = await a.admin();
  const ownRows = await seed(adminA, [
    communicationBody({ customer_id: a.customerId, type: "sms" }),
    communicationBody({ customer_id: a.customerId, type: "email" }),
  ]);
  const otherRows = await seed(adminA, [communicationBody({ customer_id: otherCustomer, type: "call" })]);
  const tenantBRows = await seed(await b.admin(), [communicationBody({ customer_id: a.customerId, type: "sms" })]);
  return { tenantA, tenantB, a, b, otherCustomer, ownRows, otherRows, tenantBRows };
}

type World = Awaited<ReturnType<typeof twoTenants>>;

const ids = (res: { json: { communications: { id: string }[] } }) =>
  res.json.communications.map((c: { id: string }) => c.id).sort();
const idsOf = (rows: { id: string }[]) => rows.map((r) => r.id).sort();

function expectForbidden(res: { status: number; json: any }, key: Parameters<typeof translate>[1] = "forbidden") {
  expect(res.status, JSON.stringify(res.json)).toBe(403);
  expect(res.json).toEqual({ success: false, message: en(key) });
}

describe("system administrator", () => {
  let w: World;
  beforeAll(async () => {
    w = await twoTenants();
  });

  it("must name tenant_id to list: 400 naming tenant_id", async () => {
    for (const query of ["", "?tenant_id=", "?page=1&tenant_id=&language=en"]) {
      const res = await call(query, { token: await w.a.systemAdmin() });
      expect(res.status).toBe(400);
      expect(res.json.success).toBe(false);
      expect(res.json.errors).toEqual([
        { field: "tenant_id", message: "tenant_id is required for system administrators" },
      ]);
    }
  });

  it("must name tenant_id to create: 400 naming tenant_id, nothing written", async () => {
    const res = await call("", { method: "POST", token: await w.a.systemAdmin(), body: communicationBody() });
    expect(res.status).toBe(400);
    expect(res.json.errors).toEqual([
      { field: "tenant_id", message: "tenant_id is required for system administrators" },
    ]);
    const listed = await call(`?tenant_id=${w.tenantA}`, { token: await w.a.systemAdmin() });
    expect(listed.json.total).toBe(3);
  });

  it("reads any tenant, only that tenant's rows", async () => {
    const inA = await call(`?tenant_id=${w.tenantA}`, { token: await w.a.systemAdmin() });
    expect(inA.status).toBe(200);
    expect(inA.json.total).toBe(3);
    expect(ids(inA)).toEqual(idsOf([...w.ownRows, ...w.otherRows]));

    const inB = await call(`?tenant_id=${w.tenantB}`, { token: await w.a.systemAdmin() });
    expect(inB.json.total).toBe(1);
    expect(ids(inB)).toEqual(idsOf(w.tenantBRows));
  });

  it("creates in any tenant it names; the row belongs to that tenant and to the admin", async () => {
    const tenant = newTenant();
    const sub = crypto.randomUUID();
    const token = await signToken({ sub, is_system_admin: true });
    const res = await call(`?tenant_id=${tenant}`, { method: "POST", token, body: communicationBody() });
    expect(res.status, res.text).toBe(201);
    expect(res.json.communication.tenant_id).toBe(tenant);
    expect(res.json.communication.created_by).toBe(sub);
    const listed = await call(`?tenant_id=${tenant}`, { token });
    expect(ids(listed)).toEqual([res.json.communication.id]);
  });

  it("rejects a tenant_id that is not a UUID", async () => {
    const res = await call("?tenant_id=acme", { token: await w.a.systemAdmin() });
    expect(res.status).toBe(400);
    expect(res.json.errors).toEqual([{ field: "tenant_id", message: "tenant_id is not a valid UUID" }]);
  });
});

describe("view:tenant", () => {
  let w: World;
  beforeAll(async () => {
    w = await twoTenants();
  });

  it("reads every communication of its tenant", async () => {
    const res = await call("", { token: await w.a.viewer() });
    expect(res.status).toBe(200);
    expect(res.json.total).toBe(3);
    expect(ids(res)).toEqual(idsOf([...w.ownRows, ...w.otherRows]));
  });

  it("may filter by any customer of its tenant", async () => {
    const res = await call(`?customer_id=${w.otherCustomer}`, { token: await w.a.viewer() });
    expect(ids(res)).toEqual(idsOf(w.otherRows));
  });

  it("cannot create: 403, nothing written", async () => {
    expectForbidden(await call("", { method: "POST", token: await w.a.viewer(), body: communicationBody() }));
    expect((await call("", { token: await w.a.viewer() })).json.total).toBe(3);
  });

  it("without a role (permission alone) still reads the tenant", async () => {
    const token = await signToken({ tenant_id: w.tenantA, permissions: ["view:tenant"] });
    const res = await call("", { token });
    expect(res.json.total).toBe(3);
  });
});

describe("manage:operations:tenant", () => {
  let w: World;
  beforeAll(async () => {
    w = await twoTenants();
  });

  it("reads every communication of its tenant", async () => {
    const res = await call("", { token: await w.a.admin() });
    expect(res.status).toBe(200);
    expect(ids(res)).toEqual(idsOf([...w.ownRows, ...w.otherRows]));
  });

  it("creates in its own tenant (named or not), as itself", async () => {
    const sub = crypto.randomUUID();
    const token = await signToken({
      sub,
      tenant_id: w.tenantA,
      role: "tenant_admin",
      permissions: ["manage:operations:tenant"],
    });
    for (const query of ["", `?tenant_id=${w.tenantA}`, "?tenant_id="]) {
      const res = await call(query, { method: "POST", token, body: communicationBody() });
      expect(res.status, res.text).toBe(201);
      expect(res.json.communication.tenant_id).toBe(w.tenantA);
      expect(res.json.communication.created_by).toBe(sub);
    }
  });
});

describe("customers", () => {
  let w: World;
  beforeAll(async () => {
    w = await twoTenants();
  });

  const kinds = [
    { name: "customer_id claim", token: (w: World) => w.a.customer() },
    { name: "sub as customer id", token: (w: World) => w.a.customerBySub() },
    {
      name: "empty role",
      token: (w: World) => signToken({ tenant_id: w.tenantA, role: "", customer_id: w.a.customerId }),
    },
    {
      name: "customer_id claim over a different sub",
      token: (w: World) => signToken({ sub: w.otherCustomer, tenant_id: w.tenantA, customer_id: w.a.customerId }),
    },
  ];

  it.each(kinds)("$name: without customer_id the list is their own rows only", async ({ token }) => {
    const res = await call("", { token: await token(w) });
    expect(res.status).toBe(200);
    expect(res.json.total).toBe(2);
    expect(ids(res)).toEqual(idsOf(w.ownRows));
  });

  it.each(kinds)("$name: their own customer_id (or an empty one) is allowed", async ({ token }) => {
    for (const query of [`?customer_id=${w.a.customerId}`, "?customer_id="]) {
      const res = await call(query, { token: await token(w) });
      expect(res.status).toBe(200);
      expect(ids(res)).toEqual(idsOf(w.ownRows));
    }
  });

  it.each(kinds)("$name: another customer_id is 403", async ({ token }) => {
    expectForbidden(await call(`?customer_id=${w.otherCustomer}`, { token: await token(w) }), "customer_mismatch");
  });

  it.each(kinds)("$name: filters only narrow their own rows", async ({ token }) => {
    const res = await call("?type=sms", { token: await token(w) });
    expect(ids(res)).toEqual(idsOf(w.ownRows.filter((r) => r.type === "sms")));
    expect(res.json.total).toBe(1);
    const call_ = await call("?type=call", { token: await token(w) });
    expect(call_.json).toMatchObject({ communications: [], total: 0 });
    // The delivery of another customer's row: nothing, not that row.
    const other = await call(`?delivery_id=${w.otherRows[0].delivery_id}`, { token: await token(w) });
    expect(other.json).toMatchObject({ communications: [], total: 0 });
  });

  it.each(kinds)("$name: cannot create, even for themselves", async ({ token }) => {
    expectForbidden(
      await call("", {
        method: "POST",
        token: await token(w),
        body: communicationBody({ customer_id: w.a.customerId }),
      }),
    );
  });

  it("a customer of tenant A never sees their id's rows in tenant B", async () => {
    const res = await call("", { token: await w.a.customer() });
    expect(ids(res)).not.toContain(w.tenantBRows[0].id);
    expectForbidden(await call(`?tenant_id=${w.tenantB}`, { token: await w.a.customer() }), "tenant_mismatch");
  });
});

describe("roles without a permission", () => {
  let w: World;
  beforeAll(async () => {
    w = await twoTenants();
  });

  const roles = [
    { name: "driver", claims: { role: "driver", permissions: ["manage:module:delivery"] } },
    { name: "warehouse staff, no permissions", claims: { role: "warehouse_staff" } },
    { name: "driver with a customer_id claim", claims: { role: "driver", customer_id: crypto.randomUUID() } },
    { name: "manage:tenant only", claims: { role: "tenant_admin", permissions: ["manage:tenant"] } },
  ];

  it.each(roles)("$name: 403 on list", async ({ claims }) => {
    const token = await signToken({ tenant_id: w.tenantA, ...claims });
    expectForbidden(await call("", { token }));
    expectForbidden(await call(`?customer_id=${w.a.customerId}`, { token }));
  });

  it.each(roles)("$name: 403 on create, before the body is even looked at", async ({ claims }) => {
    const token = await signToken({ tenant_id: w.tenantA, ...claims });
    expectForbidden(await call("", { method: "POST", token, body: communicationBody() }));
    expectForbidden(await call("", { method: "POST", token, body: { nonsense: true } }));
  });
});

describe("tenant resolution", () => {
  let w: World;
  beforeAll(async () => {
    w = await twoTenants();
  });

  const staff = [
    { name: "viewer", token: (w: World) => w.a.viewer() },
    { name: "manager", token: (w: World) => w.a.admin() },
    { name: "customer", token: (w: World) => w.a.customer() },
  ];

  it.each(staff)("$name: a tenant_id that differs from the token is 403 on list", async ({ token }) => {
    expectForbidden(await call(`?tenant_id=${w.tenantB}`, { token: await token(w) }), "tenant_mismatch");
  });

  it.each(staff)("$name: the token's own tenant_id is fine", async ({ token }) => {
    const res = await call(`?tenant_id=${w.tenantA}`, { token: await token(w) });
    expect(res.status).toBe(200);
    expect(res.json.communications.every((c: { tenant_id: string }) => c.tenant_id === w.tenantA)).toBe(true);
  });

  it("a manager naming another tenant on create gets 403 and writes nothing there", async () => {
    const res = await call(`?tenant_id=${w.tenantB}`, {
      method: "POST",
      token: await w.a.admin(),
      body: communicationBody(),
    });
    expectForbidden(res, "tenant_mismatch");
    const inB = await call("", { token: await w.b.viewer() });
    expect(ids(inB)).toEqual(idsOf(w.tenantBRows));
  });

  const tenantless = [
    { name: "viewer", claims: { role: "dispatcher", permissions: ["view:tenant"] } },
    { name: "manager", claims: { role: "tenant_admin", permissions: ["manage:operations:tenant"] } },
    { name: "customer", claims: { customer_id: crypto.randomUUID() } },
  ];

  it.each(tenantless)("$name token without tenant_id: 403 on both routes, even naming a tenant", async ({ claims }) => {
    const token = await signToken(claims);
    for (const query of ["", `?tenant_id=${w.tenantA}`]) {
      expectForbidden(await call(query, { token }), "no_tenant");
    }
    const create = await call(`?tenant_id=${w.tenantA}`, { method: "POST", token, body: communicationBody() });
    expect(create.status).toBe(403);
  });
});

describe("no parameter reaches another tenant's or customer's rows", () => {
  let w: World;
  beforeAll(async () => {
    w = await twoTenants();
  });

  it("every filter set to tenant B's values returns nothing from tenant B", async () => {
    const rowB = w.tenantBRows[0];
    const queries = [
      `?customer_id=${rowB.customer_id}`,
      `?delivery_id=${rowB.delivery_id}`,
      `?type=${rowB.type}`,
      `?status=${rowB.status}`,
      `?customer_id=${rowB.customer_id}&delivery_id=${rowB.delivery_id}&type=${rowB.type}&status=${rowB.status}`,
      "?page=1&limit=100&direction=outbound&sort_order=asc",
    ];
    for (const query of queries) {
      for (const token of [await w.a.viewer(), await w.a.admin(), await w.a.customer()]) {
        const res = await call(query, { token });
        expect(res.status, `${query}: ${res.text}`).toBe(200);
        expect(ids(res), query).not.toContain(rowB.id);
        for (const c of res.json.communications) expect(c.tenant_id).toBe(w.tenantA);
      }
    }
  });

  it("a customer's cursor walk and deep pages stay within their own rows", async () => {
    const token = await w.a.customer();
    const first = await call("?limit=1", { token });
    expect(first.json.total).toBe(2);
    const seen = [...ids(first)];
    let cursor = first.json.next_cursor;
    while (cursor) {
      const next = await call(`?limit=1&cursor=${cursor}`, { token });
      expect(next.status).toBe(200);
      seen.push(...ids(next));
      cursor = next.json.next_cursor;
    }
    expect(seen.sort()).toEqual(idsOf(w.ownRows));
    for (const page of [2, 3, 50]) {
      const res = await call(`?limit=1&page=${page}`, { token });
      for (const id of ids(res)) expect(idsOf(w.ownRows)).toContain(id);
    }
  });

  it("creates write only to the caller's tenant, whatever the body says", async () => {
    const res = await call("", {
      method: "POST",
      token: await w.a.admin(),
      body: { ...communicationBody(), tenant_id: w.tenantB },
    });
    expect(res.status).toBe(400);
    const inB = await call("", { token: await w.b.viewer() });
    expect(ids(inB)).toEqual(idsOf(w.tenantBRows));
  });
});

describe("UUIDs in capitals are the same ids (RFC 9562: case-insensitive on input)", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  const delivery = crypto.randomUUID();
  let created: { id: string; customer_id: string; delivery_id: string };

  beforeAll(async () => {
    const res = await call("", {
      method: "POST",
      token: await who.admin(),
      body: communicationBody({ customer_id: who.customerId.toUpperCase(), delivery_id: delivery.toUpperCase() }),
    });
    expect(res.status, res.text).toBe(201);
    created = res.json.communication;
  });

  it("a create stores them in lower case", () => {
    expect(created.customer_id).toBe(who.customerId);
    expect(created.delivery_id).toBe(delivery);
  });

  it.each([
    ["lower", (s: string) => s],
    ["upper", (s: string) => s.toUpperCase()],
  ])("filters in %s case find the row", async (_name, caseOf) => {
    const token = await who.viewer();
    for (const query of [`?customer_id=${caseOf(who.customerId)}`, `?delivery_id=${caseOf(delivery)}`]) {
      const res = await call(query, { token });
      expect(ids(res), query).toEqual([created.id]);
    }
  });

  it("the customer sees it, whatever the case of their claim or parameter", async () => {
    const upperClaim = await signToken({ tenant_id: tenant, customer_id: who.customerId.toUpperCase() });
    const upperSub = await signToken({ sub: who.customerId.toUpperCase(), tenant_id: tenant });
    for (const token of [await who.customer(), upperClaim, upperSub]) {
      expect(ids(await call("", { token }))).toEqual([created.id]);
      expect(ids(await call(`?customer_id=${who.customerId}`, { token }))).toEqual([created.id]);
      expect(ids(await call(`?customer_id=${who.customerId.toUpperCase()}`, { token }))).toEqual([created.id]);
    }
  });

  it("tenant_id in either case, in the query or the token, is the same tenant", async () => {
    const upperToken = await signToken({
      tenant_id: tenant.toUpperCase(),
      role: "dispatcher",
      permissions: ["view:tenant"],
    });
    for (const token of [await who.viewer(), upperToken]) {
      for (const query of ["", `?tenant_id=${tenant}`, `?tenant_id=${tenant.toUpperCase()}`]) {
        const res = await call(query, { token });
        expect(res.status, `${query}: ${res.text}`).toBe(200);
        expect(ids(res)).toEqual([created.id]);
      }
    }
    const admin = await call(`?tenant_id=${tenant.toUpperCase()}`, { token: await who.systemAdmin() });
    expect(ids(admin)).toEqual([created.id]);
  });
});
