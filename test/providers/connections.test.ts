/**
 * Provider connections (src/providers/, ../shared/spec/webhooks.md): the
 * staff API that stores the secret or key verifying a provider's webhook
 * calls for a tenant, sealed, never returned. What the calls themselves do
 * is in test/webhooks/.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { translate } from "../../src/i18n/messages";
import { call, callers, newTenant, tenantShard } from "../support/helpers";
import { newSendgridKey, newStandardSecret, newTwilioToken } from "../support/webhook-helpers";

describe("provider connections", () => {
  it("PUT, GET and DELETE; the secret is stored encrypted and never returned", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const token = newTwilioToken();
    const put = await call("/providers/twilio", { method: "PUT", token: admin, body: { auth_token: token } });
    expect(put.status).toBe(200);
    expect(put.json.provider).toEqual({
      provider: "twilio",
      webhook_url: `http://api.test/delivery/customer-communications/webhooks/twilio/${tenant}`,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(put.text).not.toContain(token);
    const stored = await (await tenantShard(tenant))
      .prepare("SELECT secret FROM provider_connections WHERE tenant_id = ?")
      .bind(tenant)
      .first<{ secret: string }>();
    expect(stored?.secret).toBeTruthy();
    expect(stored?.secret).not.toContain(token);
    expect(atob(stored?.secret ?? "")).not.toContain(token);

    const list = await call("/providers", { token: admin });
    expect(list.status).toBe(200);
    expect(list.json.providers.map((p: { provider: string }) => p.provider)).toEqual(["twilio"]);
    expect(list.text).not.toContain(token);

    expect((await call("/providers/twilio", { method: "DELETE", token: admin })).status).toBe(200);
    expect((await call("/providers/twilio", { method: "DELETE", token: admin })).status).toBe(404);
    expect((await call("/providers", { token: admin })).json.providers).toEqual([]);
  });

  it("each provider needs its own field, well formed; other callers are refused", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const bad = [
      ["twilio", { public_key: newSendgridKey().publicKey }],
      ["twilio", { auth_token: "short" }],
      ["sendgrid", { public_key: btoa("x".repeat(60)) }],
      ["standard", { secret: "not-a-whsec" }],
      ["standard", { secret: newStandardSecret(), auth_token: newTwilioToken() }],
    ] as const;
    for (const [provider, body] of bad) {
      const res = await call(`/providers/${provider}`, { method: "PUT", token: admin, body });
      expect(res.status, `${provider} ${JSON.stringify(body)}`).toBe(400);
    }
    expect((await call("/providers/other", { method: "PUT", token: admin, body: {} })).status).toBe(400);
    const viewer = await who.viewer();
    expect(
      (await call("/providers/twilio", { method: "PUT", token: viewer, body: { auth_token: newTwilioToken() } }))
        .status,
    ).toBe(403);
    expect((await call("/providers", { token: await who.customer() })).status).toBe(403);
    expect((await call("/providers", { token: await who.systemAdmin() })).status).toBe(400);
    expect((await call(`/providers?tenant_id=${tenant}`, { token: await who.systemAdmin() })).status).toBe(200);
  });

  it("one operation per provider: a body of another provider is refused naming both fields; others keep their answers", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const wrong = await call("/providers/twilio", {
      method: "PUT",
      token: admin,
      body: { secret: newStandardSecret() },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.json.errors).toEqual(
      expect.arrayContaining([
        { field: "auth_token", message: "auth_token is required" },
        { field: "secret", message: "secret is not an accepted field" },
      ]),
    );
    // No provider of that name: the 400 naming `provider` that PUT /providers/{provider} always gave.
    const unknown = await call("/providers/twillio", { method: "PUT", token: admin, body: { auth_token: "x" } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.errors).toEqual([
      { field: "provider", message: "provider must be one of: twilio, sendgrid, standard" },
    ]);
    // ...after the same checks as every route: no token is a 401, a viewer a 403.
    expect((await call("/providers/twillio", { method: "PUT", body: {} })).status).toBe(401);
    expect((await call("/providers/twillio", { method: "PUT", token: await callers(tenant).viewer() })).status).toBe(
      403,
    );
    // The 405 of a provider's URL lists what it serves: its PUT and the DELETE of /providers/{provider}.
    const wrongMethod = await call("/providers/twilio", { method: "POST", token: admin, body: {} });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("PUT, DELETE");
    const other = await call("/providers/twillio", { method: "POST", token: admin, body: {} });
    expect(other.headers.get("allow")).toBe("DELETE");
  });

  it("without PROVIDER_SECRETS_KEY the connection routes fail closed", async () => {
    const { default: worker } = await import("../../src/index");
    const { createExecutionContext } = await import("cloudflare:test");
    const admin = await callers(newTenant()).admin();
    const res = await worker.fetch(
      new Request("http://api.test/delivery/customer-communications/providers/twilio", {
        method: "PUT",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ auth_token: newTwilioToken() }),
      }),
      { ...env, PROVIDER_SECRETS_KEY: "" },
      createExecutionContext(),
    );
    expect(res.status).toBe(500);
    expect((await res.json<{ message: string }>()).message).toBe(
      "Provider connections are not configured on this server",
    );
  });
});

describe("a malformed secret says what a valid one looks like (issue 17)", () => {
  const malformed = [
    ["twilio", "auth_token", "short", "field_provider_auth_token"],
    ["twilio", "auth_token", "has spaces in it, so no", "field_provider_auth_token"],
    ["sendgrid", "public_key", "not base64 at all!", "field_provider_public_key"],
    // Base64 of the right length that is no P-256 key: refused by the import, not the pattern.
    ["sendgrid", "public_key", btoa("x".repeat(60)), "field_provider_public_key"],
    ["standard", "secret", "not-a-whsec", "field_provider_secret"],
    // whsec_ and base64, but 12 bytes: too short a key.
    ["standard", "secret", `whsec_${btoa("123456789012")}`, "field_provider_secret"],
  ] as const;

  it.each(malformed)(
    "%s %s = %j: 400 naming the expected format, in each language",
    async (provider, field, value, key) => {
      const admin = await callers(newTenant()).admin();
      for (const lang of ["en", "ar", "ku", "fa"] as const) {
        const res = await call(`/providers/${provider}?language=${lang}`, {
          method: "PUT",
          token: admin,
          body: { [field]: value },
        });
        expect(res.status, lang).toBe(400);
        expect(res.json.errors, lang).toEqual([{ field, message: translate(lang, key, { field }) }]);
      }
      expect(translate("en", key, { field })).toMatch(
        { auth_token: /Auth Token/, public_key: /ECDSA P-256 public key/, secret: /whsec_/ }[field],
      );
    },
  );

  it("a missing or another provider's field keeps its own message", async () => {
    const admin = await callers(newTenant()).admin();
    const res = await call("/providers/twilio", { method: "PUT", token: admin, body: { secret: newStandardSecret() } });
    expect(res.status).toBe(400);
    // Twilio's own body (issue 23): its field is required, another provider's is unknown; neither is a format.
    expect(res.json.errors).toHaveLength(2);
    expect(res.json.errors).toEqual(
      expect.arrayContaining([
        { field: "secret", message: "secret is not an accepted field" },
        { field: "auth_token", message: "auth_token is required" },
      ]),
    );
  });
});
