/**
 * Concurrent creates: each stores exactly one row, and the trigger-kept
 * counters behind `total` agree with the rows, per tenant.
 */
import { describe, expect, it } from "vitest";
import { STATUSES, COMMUNICATION_TYPES as TYPES } from "../../src/db/schema";
import { call, callers, communicationBody, newTenant, walkIds as walk } from "../support/helpers";

describe("100 concurrent creates", () => {
  it("store exactly 100 rows, and total says 100", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    // Two tokens: 50 requests each, far under the per-user limit.
    const tokens = [await who.admin(), await who.admin()];
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        call("", {
          method: "POST",
          token: tokens[i % 2],
          body: communicationBody({ type: TYPES[i % 4], status: STATUSES[Math.floor(i / 25)] }),
        }),
      ),
    );
    for (const res of results) expect(res.status, res.text).toBe(201);
    const createdIds = results.map((r) => r.json.communication.id as string);
    expect(new Set(createdIds).size).toBe(100);

    const viewer = await who.viewer();
    const first = await call("?limit=10", { token: viewer });
    expect(first.json.total).toBe(100);
    expect(first.json.total_pages).toBe(10);

    const stored = await walk(viewer);
    expect(stored).toHaveLength(100);
    expect([...stored].sort()).toEqual([...createdIds].sort());

    for (const type of TYPES) {
      const res = await call(`?type=${type}`, { token: viewer });
      expect(res.json.total, type).toBe(25);
    }
    for (const status of STATUSES) {
      const res = await call(`?status=${status}`, { token: viewer });
      expect(res.json.total, status).toBe(25);
    }
  });

  it("in two tenants at once: each sees exactly its own 50", async () => {
    const tenants = [newTenant(), newTenant()];
    const admins = await Promise.all(tenants.map((t) => callers(t).admin()));
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        call("", { method: "POST", token: admins[i % 2], body: communicationBody() }),
      ),
    );
    for (const res of results) expect(res.status, res.text).toBe(201);
    for (const [i, tenant] of tenants.entries()) {
      const viewer = await callers(tenant).viewer();
      const expected = results
        .filter((_, j) => j % 2 === i)
        .map((r) => r.json.communication.id as string)
        .sort();
      expect((await call("", { token: viewer })).json.total).toBe(50);
      expect((await walk(viewer)).sort()).toEqual(expected);
    }
  });

  it("100 concurrent creates for one customer: the counted total agrees too", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        call("", { method: "POST", token: admin, body: communicationBody({ customer_id: who.customerId }) }),
      ),
    );
    for (const res of results) expect(res.status).toBe(201);
    const mine = await call("?limit=1", { token: await who.customer() });
    expect(mine.json.total).toBe(100);
    expect(await walk(await who.customer())).toHaveLength(100);
  });
});
