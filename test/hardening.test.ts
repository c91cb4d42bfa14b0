/**
 * Production hardening (issue 11) that has no better home: caching headers
 * and what Server-Timing tells callers who are not staff.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BASE, call, callers, communicationBody, newTenant, seed } from "./helpers";

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

void env;
void BASE;
