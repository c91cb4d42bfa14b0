import { describe, expect, it } from "vitest";
import { call, callers, communicationBody, newTenant } from "./helpers";

describe("smoke", () => {
  it("creates and lists", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const created = await call("", { method: "POST", token: await who.admin(), body: communicationBody() });
    expect(created.status, created.text).toBe(201);
    const listed = await call("?page=1&limit=10", { token: await who.viewer() });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.json.total).toBe(1);
    expect(listed.json.communications[0].id).toBe(created.json.communication.id);
  });
});
