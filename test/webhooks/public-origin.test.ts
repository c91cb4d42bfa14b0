/**
 * PUBLIC_BASE_URL (issue 23): behind a gateway that rewrites Host, the
 * service hands out URLs on the public origin and checks Twilio's signature
 * against the URL Twilio called, not the one the request arrived at. Empty:
 * the request's own origin. Set but not an origin: the features that need it
 * fail closed, the rest of the API is unaffected.
 */
import { describe, expect, it } from "vitest";
import { parsePublicOrigin } from "../../src/config";
import { BASE, call, callers, newTenant } from "../support/helpers";
import {
  connect,
  newSendgridKey,
  newStandardSecret,
  newTwilioToken,
  sendgridRequest,
  standardRequest,
  twilioRequest,
  webhookUrl,
} from "../support/webhook-helpers";

const PUBLIC = "https://comms.example.com";
/** The same path on the public origin: what the gateway's callers (and Twilio) see. */
const onPublic = (upstream: string) => upstream.replace(/^http:\/\/api\.test/, PUBLIC);
const inbound = { MessageSid: "SM0123456789abcdef0123456789abcdef", MessageStatus: "delivered", To: "+19876543210" };

async function tenantWithTwilio() {
  const tenant = newTenant();
  const admin = await callers(tenant).admin();
  const twilioToken = newTwilioToken();
  await connect(admin, "twilio", { auth_token: twilioToken });
  return { tenant, admin, twilioToken, upstream: webhookUrl("twilio", tenant) };
}

describe("PUBLIC_BASE_URL, parsed once (src/config.ts)", () => {
  it.each([
    [undefined, { kind: "request" }],
    ["https://comms.example.com", { kind: "fixed", origin: "https://comms.example.com" }],
    ["https://Comms.Example.com:443/", { kind: "fixed", origin: "https://comms.example.com" }],
    ["http://127.0.0.1:8080", { kind: "fixed", origin: "http://127.0.0.1:8080" }],
  ])("%s is %o", (value, expected) => {
    expect(parsePublicOrigin(value)).toEqual(expected);
  });

  it.each([
    ["comms.example.com", "not an absolute URL"],
    ["ftp://comms.example.com", "scheme"],
    ["https://user:pass@comms.example.com", "credentials"],
    ["https://comms.example.com/api", "only an origin"],
    ["https://comms.example.com/?x=1", "only an origin"],
    ["https://comms.example.com?", "only an origin"],
    ["https://comms.example.com/#top", "only an origin"],
  ])("%s is invalid (%s)", (value, reason) => {
    const parsed = parsePublicOrigin(value);
    expect(parsed.kind).toBe("invalid");
    expect(parsed.kind === "invalid" && parsed.reason).toContain(reason);
  });
});

describe("the origin of the URLs the service hands out", () => {
  it("is the request's own when PUBLIC_BASE_URL is empty, as before", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const put = await call("/providers/twilio", {
      method: "PUT",
      token: admin,
      body: { auth_token: newTwilioToken() },
      env: { PUBLIC_BASE_URL: "" },
    });
    expect(put.json.provider.webhook_url).toBe(`${BASE}/webhooks/twilio/${tenant}`);
  });

  it("is PUBLIC_BASE_URL's when set: on PUT and on the list", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const env = { PUBLIC_BASE_URL: `${PUBLIC}/` };
    for (const [provider, body] of [
      ["twilio", { auth_token: newTwilioToken() }],
      ["sendgrid", { public_key: newSendgridKey().publicKey }],
      ["standard", { secret: newStandardSecret() }],
    ] as const) {
      const put = await call(`/providers/${provider}`, { method: "PUT", token: admin, body, env });
      expect(put.status, put.text).toBe(200);
      expect(put.json.provider.webhook_url).toBe(
        `${PUBLIC}/delivery/customer-communications/webhooks/${provider}/${tenant}`,
      );
    }
    const list = await call("/providers", { token: admin, env });
    expect(list.json.providers.map((p: { webhook_url: string }) => p.webhook_url)).toEqual(
      ["sendgrid", "standard", "twilio"].map(
        (p) => `${PUBLIC}/delivery/customer-communications/webhooks/${p}/${tenant}`,
      ),
    );
  });
});

describe("the URL Twilio's signature is checked against", () => {
  it("a call signed against the public URL, arriving at the upstream URL, is accepted with PUBLIC_BASE_URL", async () => {
    const { twilioToken, upstream } = await tenantWithTwilio();
    // Status callback URLs may carry a query (Twilio signs it too).
    const url = `${upstream}?source=gateway`;
    const signed = twilioRequest(onPublic(url), twilioToken, inbound);
    const res = await call(url, { ...signed, env: { PUBLIC_BASE_URL: PUBLIC } });
    expect(res.status, res.text).toBe(200);
    expect(res.text).toBe("<Response></Response>");
  });

  it("is the public URL only: the same call without PUBLIC_BASE_URL, or signed upstream, is refused", async () => {
    const { twilioToken, upstream } = await tenantWithTwilio();
    const publicSigned = twilioRequest(onPublic(upstream), twilioToken, inbound);
    const withoutVar = await call(upstream, { ...publicSigned, env: { PUBLIC_BASE_URL: "" } });
    expect(withoutVar.status).toBe(403);
    const upstreamSigned = twilioRequest(upstream, twilioToken, inbound);
    const wrongUrl = await call(upstream, { ...upstreamSigned, env: { PUBLIC_BASE_URL: PUBLIC } });
    expect(wrongUrl.status).toBe(403);
    // And, as before, an upstream signature verifies when the variable is empty.
    expect((await call(upstream, { ...upstreamSigned, env: { PUBLIC_BASE_URL: "" } })).status).toBe(200);
  });
});

describe("an invalid PUBLIC_BASE_URL", () => {
  const env = { PUBLIC_BASE_URL: "https://comms.example.com/api" };

  it("fails closed where it is needed: no connection is stored, the list and Twilio's webhook answer 500", async () => {
    const { admin, twilioToken, upstream } = await tenantWithTwilio();
    const put = await call("/providers/standard?language=ar", {
      method: "PUT",
      token: admin,
      body: { secret: newStandardSecret() },
      env,
    });
    expect(put.status).toBe(500);
    expect(put.json.message).toBe("عنوان URL العام لهذا الخادم غير مهيأ بشكل صحيح");
    expect(put.text).not.toContain("comms.example.com");
    const list = await call("/providers", { token: admin, env });
    expect(list.status).toBe(500);
    expect(list.json.message).toBe("This server's public URL is not configured correctly");
    // Nothing was stored by the refused PUT.
    const stored = await call("/providers", { token: admin });
    expect(stored.json.providers.map((p: { provider: string }) => p.provider)).toEqual(["twilio"]);
    const twilio = await call(upstream, { ...twilioRequest(upstream, twilioToken, inbound), env });
    expect(twilio.status).toBe(500);
    expect(twilio.json.message).toBe("This server's public URL is not configured correctly");
  });

  it("leaves everything that hands out no URL working: the other webhooks and the API", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const key = newSendgridKey();
    const secret = newStandardSecret();
    await connect(admin, "sendgrid", { public_key: key.publicKey });
    await connect(admin, "standard", { secret });
    const event = { event: "delivered", timestamp: Math.floor(Date.now() / 1000), sg_message_id: "abc.1" };
    expect((await call(webhookUrl("sendgrid", tenant), { ...sendgridRequest(key, [event]), env })).status).toBe(200);
    const status = {
      type: "communication.status",
      data: { provider_message_id: "m-1", status: "delivered", occurred_at: new Date().toISOString() },
    };
    expect((await call(webhookUrl("standard", tenant), { ...standardRequest(secret, status), env })).status).toBe(200);
    expect((await call("?limit=1", { token: admin, env })).status).toBe(200);
  });
});
