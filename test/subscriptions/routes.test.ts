/**
 * The subscription routes through the Worker (every answer checked against
 * the OpenAPI document by call()): envelope, languages, permissions, tenant
 * isolation, validation, the limit, and secrets shown once and sealed at rest.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { config } from "../../src/config";
import { openSecret } from "../../src/subscriptions/signing";
import { call, callers, newTenant, signToken, tenantShard } from "../support/helpers";

const URL_ = "https://crm.example.com/hooks/communications";
const body = (over: Record<string, unknown> = {}) => ({ url: URL_, events: ["communication.created"], ...over });

async function created(token: string, b = body(), query = "") {
  const res = await call(`/subscriptions${query}`, { method: "POST", token, body: b });
  expect(res.status, res.text).toBe(201);
  return res.json.subscription;
}

describe("subscription routes", () => {
  it("create (secret shown once), list, get, patch, rotate, delete: the usual envelope", async () => {
    const admin = await callers(newTenant()).admin();
    const res = await call("/subscriptions?language=ar", {
      method: "POST",
      token: admin,
      body: body({ description: "CRM", events: ["communication.created", "communication.created"] }),
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      success: true,
      message: "تم إنشاء الاشتراك بنجاح؛ احفظ السر الآن، فلن يُعرض مرة أخرى",
    });
    const sub = res.json.subscription;
    expect(sub).toMatchObject({ url: URL_, events: ["communication.created"], description: "CRM", status: "active" });
    expect(sub.secret).toMatch(/^whsec_/);

    const list = await call("/subscriptions", { token: admin });
    expect(list.json.subscriptions).toHaveLength(1);
    expect(list.text).not.toContain("whsec_");
    const one = await call(`/subscriptions/${sub.id}`, { token: admin });
    expect(one.json.subscription).toMatchObject({
      id: sub.id,
      delivery_counts: { succeeded: 0, failed: 0, pending: 0 },
      last_success_at: null,
      last_failure_at: null,
    });
    expect(one.text).not.toContain("whsec_");

    const patched = await call(`/subscriptions/${sub.id}`, {
      method: "PATCH",
      token: admin,
      body: { status: "paused", description: null, events: ["communication.status_changed"] },
    });
    expect(patched.status).toBe(200);
    expect(patched.json.subscription).toMatchObject({
      status: "paused",
      description: null,
      events: ["communication.status_changed"],
    });

    const rotated = await call(`/subscriptions/${sub.id}/secret`, { method: "POST", token: admin });
    expect(rotated.status).toBe(200);
    expect(rotated.json.subscription.secret).toMatch(/^whsec_/);
    expect(rotated.json.subscription.secret).not.toBe(sub.secret);

    const deleted = await call(`/subscriptions/${sub.id}`, { method: "DELETE", token: admin });
    expect(deleted.status).toBe(200);
    expect((await call(`/subscriptions/${sub.id}`, { token: admin })).status).toBe(404);
    expect((await call(`/subscriptions/${sub.id}`, { method: "DELETE", token: admin })).status).toBe(404);
  });

  it("secrets are sealed at rest (AES-GCM, bound to the tenant and subscription) and never stored in clear", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const sub = await created(admin);
    const row = await (await tenantShard(tenant))
      .prepare("SELECT * FROM subscriptions WHERE tenant_id = ? AND id = ?")
      .bind(tenant, sub.id)
      .first<Record<string, string>>();
    expect(JSON.stringify(row)).not.toContain(sub.secret);
    expect(JSON.stringify(row)).not.toContain(sub.secret.slice(6));
    const key = config(env).providerSecretsKey;
    expect(await openSecret(key, tenant, sub.id, row?.secret as string)).toBe(sub.secret);
    await expect(openSecret(key, newTenant(), sub.id, row?.secret as string)).rejects.toThrow();
    await expect(openSecret(key, tenant, crypto.randomUUID(), row?.secret as string)).rejects.toThrow();
  });

  it("without PROVIDER_SECRETS_KEY a create fails closed (500, nothing stored)", async () => {
    const tenant = newTenant();
    const res = await call("/subscriptions", {
      method: "POST",
      token: await callers(tenant).admin(),
      body: body(),
      env: { PROVIDER_SECRETS_KEY: "" } as Partial<Env>,
    });
    expect(res.status).toBe(500);
    expect(res.json.message).toBe("Subscriptions are not configured on this server");
    expect((await call("/subscriptions", { token: await callers(tenant).admin() })).json.subscriptions).toEqual([]);
  });

  it.each(["viewer", "driver", "customer"] as const)("a %s gets 403 on every route", async (role) => {
    const tenant = newTenant();
    const sub = await created(await callers(tenant).admin());
    const token = await callers(tenant)[role]();
    const routes: [string, string, unknown?][] = [
      ["POST", "/subscriptions", body()],
      ["GET", "/subscriptions"],
      ["GET", `/subscriptions/${sub.id}`],
      ["PATCH", `/subscriptions/${sub.id}`, { status: "paused" }],
      ["DELETE", `/subscriptions/${sub.id}`],
      ["POST", `/subscriptions/${sub.id}/secret`],
      ["GET", `/subscriptions/${sub.id}/deliveries`],
      ["POST", `/subscriptions/${sub.id}/replay`, { since: new Date(Date.now() - 60_000).toISOString() }],
    ];
    for (const [method, path, b] of routes) {
      const res = await call(path, { method, token, body: b });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
  });

  it("another tenant never sees or changes them; a system administrator names tenant_id", async () => {
    const [a, b] = [newTenant(), newTenant()];
    const sub = await created(await callers(a).admin());
    const other = await callers(b).admin();
    expect((await call("/subscriptions", { token: other })).json.subscriptions).toEqual([]);
    for (const [method, path] of [
      ["GET", `/subscriptions/${sub.id}`],
      ["PATCH", `/subscriptions/${sub.id}`],
      ["DELETE", `/subscriptions/${sub.id}`],
      ["POST", `/subscriptions/${sub.id}/secret`],
      ["GET", `/subscriptions/${sub.id}/deliveries`],
    ] as const) {
      const res = await call(path, {
        method,
        token: other,
        body: method === "PATCH" ? { status: "paused" } : undefined,
      });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect((await call(`/subscriptions?tenant_id=${a}`, { token: other })).status).toBe(403);
    const sys = await signToken({ is_system_admin: true, permissions: [] });
    expect((await call("/subscriptions", { token: sys })).status).toBe(400);
    const listed = await call(`/subscriptions?tenant_id=${a}`, { token: sys });
    expect(listed.json.subscriptions.map((s: { id: string }) => s.id)).toEqual([sub.id]);
    expect((await created(sys, body(), `?tenant_id=${b}`)).id).toBeTruthy();
  });

  it.each([
    [{ url: "http://crm.example.com/x" }, "url", "url must be an https URL"],
    [
      { url: "https://169.254.169.254/latest" },
      "url",
      "url must not point to a loopback, private, link-local or other non-public address",
    ],
    [
      { url: "https://[::ffff:127.0.0.1]/x" },
      "url",
      "url must not point to a loopback, private, link-local or other non-public address",
    ],
    [
      { url: "https://0x7f.1/x" },
      "url",
      "url must not point to a loopback, private, link-local or other non-public address",
    ],
    [{ url: "https://a:b@crm.example.com/" }, "url", "url must not contain a user name or password"],
    [{ url: "https://api.test/hook" }, "url", "url must not point to this service"],
    [{ url: `https://crm.example.com/${"a".repeat(2100)}` }, "url", "url must be at most 2048 characters"],
    [{ events: [] }, "events", "events must be at least 1"],
    [
      { events: ["communication.deleted"] },
      "events.0",
      "events.0 must be one of: communication.created, communication.status_changed",
    ],
    [{ description: "x".repeat(501) }, "description", "description must be at most 500 characters"],
    [{ secret: "whsec_mine" }, "secret", "secret is not an accepted field"],
  ])("refuses %j with a 400 naming %s", async (over, field, message) => {
    const res = await call("/subscriptions", {
      method: "POST",
      token: await callers(newTenant()).admin(),
      body: body(over),
    });
    expect(res.status).toBe(400);
    expect(res.json.errors).toContainEqual({ field, message });
  });

  it("the URL rules speak every language; a PATCH is checked the same way and needs a field", async () => {
    const admin = await callers(newTenant()).admin();
    const messages = new Set<string>();
    for (const language of ["en", "ar", "ku", "fa"]) {
      const res = await call(`/subscriptions?language=${language}`, {
        method: "POST",
        token: admin,
        body: body({ url: "https://10.0.0.1/x" }),
      });
      expect(res.status).toBe(400);
      messages.add(res.json.errors[0].message);
    }
    expect(messages.size).toBe(4);
    const sub = await created(admin);
    const bad = await call(`/subscriptions/${sub.id}`, {
      method: "PATCH",
      token: admin,
      body: { url: "https://[fd00::1]/" },
    });
    expect(bad.json.errors).toEqual([
      { field: "url", message: "url must not point to a loopback, private, link-local or other non-public address" },
    ]);
    const empty = await call(`/subscriptions/${sub.id}`, { method: "PATCH", token: admin, body: {} });
    expect(empty.status).toBe(400);
    expect(empty.json.errors).toEqual([
      { field: "body", message: "body must contain at least one of: url, events, description, status" },
    ]);
    const disabled = await call(`/subscriptions/${sub.id}`, {
      method: "PATCH",
      token: admin,
      body: { status: "disabled" },
    });
    expect(disabled.status).toBe(400);
  });

  it("at most 20 per tenant: the 21st is a 409, and a delete makes room", async () => {
    const admin = await callers(newTenant()).admin();
    const subs = [];
    for (let i = 0; i < 20; i++) subs.push(await created(admin, body({ url: `${URL_}/${i}` })));
    const over = await call("/subscriptions", { method: "POST", token: admin, body: body() });
    expect(over.status).toBe(409);
    expect(over.json.message).toBe("A tenant may have at most 20 subscriptions");
    await call(`/subscriptions/${subs[0].id}`, { method: "DELETE", token: admin });
    await created(admin);
  });

  it("replay: since at most 7 days back, until after since, an active subscription; 202", async () => {
    const admin = await callers(newTenant()).admin();
    const sub = await created(admin);
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
    const old = await call(`/subscriptions/${sub.id}/replay`, {
      method: "POST",
      token: admin,
      body: { since: ago(8 * 86_400_000) },
    });
    expect(old.status).toBe(400);
    expect(old.json.errors).toEqual([{ field: "since", message: "since must be within the last 7 days" }]);
    const backwards = await call(`/subscriptions/${sub.id}/replay`, {
      method: "POST",
      token: admin,
      body: { since: ago(60_000), until: ago(120_000) },
    });
    expect(backwards.json.errors).toEqual([{ field: "until", message: "until must be later than since" }]);
    const accepted = await call(`/subscriptions/${sub.id}/replay`, {
      method: "POST",
      token: admin,
      body: { since: ago(3_600_000) },
    });
    expect(accepted.status).toBe(202);
    await call(`/subscriptions/${sub.id}`, { method: "PATCH", token: admin, body: { status: "paused" } });
    const paused = await call(`/subscriptions/${sub.id}/replay`, {
      method: "POST",
      token: admin,
      body: { since: ago(60_000) },
    });
    expect(paused.status).toBe(409);
    const unknown = await call(`/subscriptions/${crypto.randomUUID()}/replay`, {
      method: "POST",
      token: admin,
      body: { since: ago(60_000) },
    });
    expect(unknown.status).toBe(404);
  });

  it("the delivery log refuses a malformed cursor or status", async () => {
    const admin = await callers(newTenant()).admin();
    const sub = await created(admin);
    expect((await call(`/subscriptions/${sub.id}/deliveries?cursor=nope`, { token: admin })).status).toBe(400);
    const bad = await call(`/subscriptions/${sub.id}/deliveries?status=pending,lost`, { token: admin });
    expect(bad.status).toBe(400);
    expect(bad.json.errors[0].field).toBe("status");
    expect(
      (await call(`/subscriptions/${sub.id}/deliveries?status=pending,failed`, { token: admin })).json.deliveries,
    ).toEqual([]);
  });
});
