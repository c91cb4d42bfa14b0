/**
 * Production hardening (issue 11) that has no better home: caching headers
 * and what Server-Timing tells callers who are not staff.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { call, callers, callMeasured, communicationBody, newTenant, seed } from "../support/helpers";

beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(() => vi.restoreAllMocks());

describe("Cache-Control: no-store on every answer of the API", () => {
  it("success, client errors and auth failures alike", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const [created] = await seed(await who.admin(), [communicationBody()]);
    const responses = await Promise.all([
      call("", { token: await who.viewer() }),
      call(`/${created.id}`, { token: await who.viewer() }),
      call(`/${created.id}/events`, { token: await who.viewer() }),
      call("", { method: "POST", token: await who.admin(), body: communicationBody() }),
      call("?limit=1000", { token: await who.viewer() }),
      call(`/${crypto.randomUUID()}`, { token: await who.viewer() }),
      call("", { token: await who.driver() }),
      call(""),
      call("", { token: "not.a.token" }),
      call("", { token: await who.viewer(), headers: { "x-d1-bookmark": "not a bookmark" } }),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 201, 400, 404, 403, 401, 401, 400]);
    for (const r of responses) expect(r.headers.get("cache-control")).toBe("no-store");
  });

  it("the 404 of an unknown path too", async () => {
    const res = await call("http://api.test/nothing-here");
    expect(res.status).toBe(404);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });
});

describe("what a customer's answers reveal about rows they may not see", () => {
  it("Server-Timing: no row counts for customers and drivers; staff keep theirs", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const [someoneElses] = await seed(await who.admin(), [communicationBody()]);
    const customer = await who.customer();
    const existing = await call(`/${someoneElses.id}`, { token: customer });
    const missing = await call(`/${crypto.randomUUID()}`, { token: customer });
    expect([existing.status, missing.status]).toEqual([404, 404]);
    for (const res of [existing, missing, await call("", { token: await who.driver() })]) {
      expect(res.headers.get("server-timing")).toMatch(/^total;dur=[\d.]+$/);
    }
    const staff = await call(`/${someoneElses.id}`, { token: await who.viewer() });
    expect(staff.headers.get("server-timing")).toMatch(/rows read/);
  });

  it("events: not one event row is read for a communication the caller may not see", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const [quiet, busy] = await seed(admin, [communicationBody(), communicationBody()]);
    const occurred = Date.now() - 60_000;
    for (const [i, status] of (["delivered", "read"] as const).entries()) {
      const res = await call(`/${busy.id}`, {
        method: "PATCH",
        token: admin,
        body: { status, occurred_at: new Date(occurred + i * 1000).toISOString() },
      });
      expect(res.status).toBe(200);
    }
    const customer = await who.customer();
    const ofQuiet = await callMeasured(`/${quiet.id}/events`, { token: customer });
    const ofBusy = await callMeasured(`/${busy.id}/events`, { token: customer });
    expect([ofQuiet.status, ofBusy.status]).toEqual([404, 404]);
    // Two events or none: the same rows read, so nothing about them is measurable.
    expect(ofBusy.d1.read).toBe(ofQuiet.d1.read);
    // The staff view of the same history does read its events.
    const staff = await callMeasured(`/${busy.id}/events`, { token: await who.viewer() });
    expect(staff.json.events).toHaveLength(2);
    expect(staff.d1.read).toBeGreaterThan(ofBusy.d1.read);
  });
});
